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


class InhibitionTest(unittest.TestCase):
    def test_fleet_alerts_inhibit_the_same_leaks_per_instance_alerts(self):
        webhook = Webhook()
        am = Alertmanager(webhook.port)
        try:
            everything = [FLEET_SITE, FLEET_TASK] + [a for a, _ in INSTANCE_ALERTS]
            post_alerts(am.port, everything)
            keys = [frozenset(a.items()) for a in everything]

            def settled():
                states = alert_states(am.port)
                return all(k in states and states[k][0] != "unprocessed" for k in keys)
            harness.wait_until("Alertmanager to process every alert", settled, 60)
            states = alert_states(am.port)
            for fleet in (FLEET_SITE, FLEET_TASK):
                self.assertEqual(states[frozenset(fleet.items())][0], "active", fleet)
            for labels, inhibited in INSTANCE_ALERTS:
                state, by = states[frozenset(labels.items())]
                with self.subTest(alert=labels):
                    self.assertEqual(state, "suppressed" if inhibited else "active")
                    self.assertEqual(bool(by), inhibited)

            # Notified: the fleet alerts and the unrelated ones, nothing inhibited.
            expected = {frozenset(a.items()) for a in [FLEET_SITE, FLEET_TASK]} | {
                frozenset(a.items()) for a, inhibited in INSTANCE_ALERTS if not inhibited}

            def notified():
                return {frozenset(a["labels"].items()) for a in webhook.received()} >= expected
            harness.wait_until("the webhook to receive the active alerts", notified, 60)
            got = {frozenset(a["labels"].items()) for a in webhook.received()}
            self.assertEqual(got, expected)
        finally:
            am.close()
            webhook.close()


if __name__ == "__main__":
    unittest.main()
