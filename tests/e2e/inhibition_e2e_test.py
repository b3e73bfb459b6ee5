"""End to end: alerts/alertmanager.yaml's inhibition rules in a real
Alertmanager. While leakwatch-judge's fleet alert about a site (or a kind) of a
job fires, the per-instance alerts about the same job and site (or kind) are
inhibited, so one leak notifies once; alerts about other sites, other jobs and
other kinds still go out."""

import json
import os
import sys
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import harness  # noqa: E402
from alert_e2e_test import Alertmanager, Webhook  # noqa: E402

FLEET_SITE = {"alertname": "LeakwatchFleetSiteLeakSuspected", "severity": "warning",
              "job": "shop", "site": "cart.cc:42", "op": "chan_send"}
FLEET_TASK = {"alertname": "LeakwatchFleetTaskLeakSuspected", "severity": "warning",
              "job": "shop", "kind": "worker"}
# (labels, inhibited while the fleet alerts fire)
INSTANCE_ALERTS = [
    ({"alertname": "LeakwatchSiteLeakSuspected", "severity": "warning", "job": "shop",
      "instance": "shop-1:9464", "site": "cart.cc:42", "op": "chan_send"}, True),
    ({"alertname": "LeakwatchTasksStuck", "severity": "warning", "job": "shop",
      "instance": "shop-2:9464", "site": "cart.cc:42", "op": "chan_send"}, True),
    ({"alertname": "LeakwatchTaskLeakSuspected", "severity": "warning", "job": "shop",
      "instance": "shop-1:9464", "kind": "worker"}, True),
    ({"alertname": "LeakwatchTaskCountGrowing", "severity": "warning", "job": "shop",
      "instance": "shop-3:9464", "kind": "worker"}, True),
    # Another site, another job, another kind: their own news.
    ({"alertname": "LeakwatchSiteLeakSuspected", "severity": "warning", "job": "shop",
      "instance": "shop-1:9464", "site": "pool.cc:7", "op": "condvar"}, False),
    ({"alertname": "LeakwatchSiteLeakSuspected", "severity": "warning", "job": "search",
      "instance": "search-1:9464", "site": "cart.cc:42", "op": "chan_send"}, False),
    ({"alertname": "LeakwatchTaskLeakSuspected", "severity": "warning", "job": "shop",
      "instance": "shop-1:9464", "kind": "thread"}, False),
]


def post_alerts(port, alerts):
    body = json.dumps([{"labels": a} for a in alerts]).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v2/alerts", data=body,
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200, response.status


def alert_states(port):
    """{frozenset(labels): (state, inhibitedBy)} as Alertmanager sees them now."""
    code, body = harness.http_get(f"http://127.0.0.1:{port}/api/v2/alerts")
    assert code == 200, code
    return {frozenset(a["labels"].items()): (a["status"]["state"], a["status"]["inhibitedBy"])
            for a in json.loads(body)}


def expected_states():
    """{frozenset(labels): (state, inhibited)} that the test asserts."""
    out = {frozenset(a.items()): ("active", False) for a in (FLEET_SITE, FLEET_TASK)}
    for labels, inhibited in INSTANCE_ALERTS:
        out[frozenset(labels.items())] = ("suppressed" if inhibited else "active", inhibited)
    return out


# Alertmanager reaches each state on its own goroutines (the inhibitor reads
# the alert store's updates asynchronously, so an alert can be listed
# "active" just after the POST and "suppressed" a moment later): the test
# polls for the states it asserts, with a deadline far above the usual
# milliseconds so a loaded machine only makes it slower.
DEADLINE = 120


class InhibitionTest(unittest.TestCase):
    def test_fleet_alerts_inhibit_the_same_leaks_per_instance_alerts(self):
        webhook = Webhook()
        am = Alertmanager(webhook.port)
        try:
            want = expected_states()
            # The fleet alerts first, so that the inhibitor knows them well
            # before the instance alerts' group_wait (1 s) ends and they are
            # notified or not.
            post_alerts(am.port, [FLEET_SITE, FLEET_TASK])
            fleet_keys = [frozenset(a.items()) for a in (FLEET_SITE, FLEET_TASK)]
            harness.wait_until(
                "the fleet alerts to be active",
                lambda: all(alert_states(am.port).get(k, ("",))[0] == "active" for k in fleet_keys),
                DEADLINE)
            post_alerts(am.port, [a for a, _ in INSTANCE_ALERTS])

            def seen():
                states = alert_states(am.port)
                return {k: (states[k][0], bool(states[k][1])) if k in states else None
                        for k in want}

            def as_asserted():
                return seen() == want
            try:
                harness.wait_until("every alert's asserted state", as_asserted, DEADLINE)
            except AssertionError:
                pass  # the comparison below names the alerts that differ
            got_states = seen()
            for key, expected in want.items():
                with self.subTest(alert=dict(key)):
                    self.assertEqual(got_states[key], expected)

            # Notified: the fleet alerts and the unrelated ones, nothing inhibited.
            expected = {k for k, (_, inhibited) in want.items() if not inhibited}

            def notified():
                return {frozenset(a["labels"].items()) for a in webhook.received()} >= expected
            harness.wait_until("the webhook to receive the active alerts", notified, DEADLINE)
            got = {frozenset(a["labels"].items()) for a in webhook.received()}
            self.assertEqual(got, expected)
        finally:
            am.close()
            webhook.close()


if __name__ == "__main__":
    unittest.main()
