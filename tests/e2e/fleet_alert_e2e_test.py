"""End to end: a leak that restarts reaches Alertmanager as the judge's fleet
alert, and inhibition leaves it the one page about the leak.

Real parts, all on loopback: INSTANCES leakwatch-demo processes (config/
demo.yaml), each leaking about a task a second at the timeout site through the
demo's own load generator and restarted in place (same address, new process)
every RESTART_SECONDS; a real Prometheus scraping them every second with
alerts/leakwatch-rules.yaml (every `for:` shortened to 5 s) and the real
leakwatch-judge (honor_labels: true, as the README says), which reads that
Prometheus back with config/demo.yaml's windows (--config: minutes, not a day);
a real Alertmanager with alerts/alertmanager.yaml's routing and inhibition
rules, notifying this test's webhook.

It proves: LeakwatchFleetSiteLeakSuspected for the demo's job and timeout site
reaches the webhook while the instances keep restarting (each had restarted
before it fired); while it fires, the per-instance alerts about the same job,
site and op (LeakwatchTasksStuck, LeakwatchSiteLeakSuspected) are suppressed in
Alertmanager, inhibited by it, so the fleet alert is the only active alert
about the leak, and no notification after the fleet alert's first one carries
an instance alert about that site."""

import os
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "judge"))
import judge_harness  # noqa: E402
from judge_harness import harness  # noqa: E402
from alert_e2e_test import Alertmanager, Webhook, shortened_rules  # noqa: E402
from inhibition_e2e_test import alert_states  # noqa: E402

SRC = harness.SOURCE_DIR
JOB = "leakwatch-demo"
JUDGE_JOB = "leakwatch-judge"
INSTANCES = 2
RESTART_SECONDS = 50
FLEET = "LeakwatchFleetSiteLeakSuspected"
PER_INSTANCE = ("LeakwatchTasksStuck", "LeakwatchSiteLeakSuspected")
def matches(labels, alertname, site, op="chan_send"):
    return (labels.get("alertname") == alertname and labels.get("job") == JOB
            and labels.get("site") == site and labels.get("op") == op)


class FleetAlertEndToEndTest(unittest.TestCase):
    def test_restarting_leak_pages_once_as_the_fleet_alert(self):
        tmp = tempfile.mkdtemp(prefix="leakwatch-fleet-e2e-")
        rules = shortened_rules(tmp)
        site = harness.demo_site("timeout-send")
        webhook = Webhook()
        am = Alertmanager(webhook.port)
        instances, prom, judge = [], None, None
        started = time.monotonic()
        try:
            for i in range(INSTANCES):
                instances.append(judge_harness.RestartingDemo(RESTART_SECONDS, offset=i * RESTART_SECONDS / INSTANCES))
            judge_port = harness.free_port()
            prom = harness.Prometheus([f"127.0.0.1:{i.metrics_port}" for i in instances], rule_files=[rules],
                                      alertmanager_port=am.port, job=JOB,
                                      extra_jobs=[(JUDGE_JOB, [f"127.0.0.1:{judge_port}"], True)])
            judge = judge_harness.JudgeService(
                prom.url, f"--config={os.path.join(SRC, 'config', 'demo.yaml')}", "--scrape-interval=1s",
                "--interval=2s", port=judge_port)

            def restarting(what, fn, timeout):
                return judge_harness.wait_restarting(what, fn, timeout, instances, judge)

            def fleet_notified():
                for n, post in enumerate(webhook.notifications()):
                    for a in post:
                        if matches(a["labels"], FLEET, site) and a["status"] == "firing":
                            return n, a
                return None

            first_post, alert = restarting(f"{FLEET} at the webhook", fleet_notified, timeout=300)
            fired_after = time.monotonic() - started
            self.assertEqual(alert["labels"]["severity"], "warning")
            self.assertIn(site, alert["annotations"]["description"])
            self.assertTrue(alert["annotations"]["runbook_url"].endswith("#leakwatchfleetsiteleaksuspected"),
                            alert["annotations"]["runbook_url"])
            # The leak restarted with its processes before the fleet alert came.
            self.assertTrue(all(inst.restarts >= 1 for inst in instances),
                            [inst.restarts for inst in instances])
            restarts = prom.query(f'changes(process_start_time_seconds{{job="{JOB}"}}[15m])')
            self.assertEqual(len(restarts), INSTANCES, restarts)
            self.assertTrue(all(v >= 1 for _, v in restarts), restarts)
            # The verdict behind it, as Prometheus holds it: the judged job's,
            # not the judge's (honor_labels).
            verdict = prom.query(f'leakwatch_judge_site_leak_suspected{{job="{JOB}", site="{site}"}} == 1')
            self.assertEqual(len(verdict), 1, verdict)

            # Inhibition: every instance alert about the same job, site and op
            # that fires is suppressed by the fleet alert; at least one fires.
            def inhibited():
                states = alert_states(am.port)
                fleet = [(dict(k), s) for k, s in states.items() if matches(dict(k), FLEET, site)]
                if len(fleet) != 1 or fleet[0][1][0] != "active":
                    return None
                same_leak = [(dict(k), s) for k, s in states.items()
                             if any(matches(dict(k), name, site) for name in PER_INSTANCE)]
                if not same_leak or any(state != "suppressed" or not by for _, (state, by) in same_leak):
                    return None
                return same_leak
            same_leak = restarting("the instance alerts about the leak suppressed by the fleet alert",
                                   inhibited, timeout=120)
            self.assertTrue(same_leak)
            # The one active alert about the leak's site is the fleet alert.
            active = [dict(k) for k, (state, _) in alert_states(am.port).items()
                      if state == "active" and dict(k).get("job") == JOB and dict(k).get("site") == site]
            self.assertEqual([a["alertname"] for a in active], [FLEET], active)
            # No notification after the fleet alert's first carried an instance alert about the site.
            later = [a["labels"] for post in webhook.notifications()[first_post + 1:] for a in post
                     if any(matches(a["labels"], name, site) for name in PER_INSTANCE)]
            self.assertEqual(later, [])
            # Every judge metric the rules use is one the judge exports.
            used = {n for n in harness.rule_metrics(os.path.join(SRC, "alerts/leakwatch-rules.yaml"))
                    if n.startswith("leakwatch_judge_")}
            scraped = {name for name, _, _ in judge.metrics()}
            self.assertEqual(sorted(used - scraped), [], "rules use judge metrics the judge does not export")
            self.assertIn("leakwatch_judge_site_leak_suspected", used)
            self.assertIsNone(judge.proc.poll(), judge.output())
            print(f"fleet alert at the webhook {fired_after:.0f}s after the first demo started; "
                  f"restarts per instance then: {[inst.restarts for inst in instances]}", file=sys.stderr)
        finally:
            if judge:
                judge.close()
            if prom:
                prom.close()
            for inst in instances:
                inst.close()
            am.close()
            webhook.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
