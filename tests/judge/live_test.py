"""leakwatch-judge as a service over a live fleet: three leakwatch-demo
processes, each restarted in place (same address, new process start time)
every RESTART_SECONDS and leaking about a task a second at the timeout site in
every lifetime (the demo's load generator), scraped every second by a real
Prometheus. The judge runs with config/demo.yaml's windows (--config: minutes;
the production windows need a day of history before any verdict, see
tests/judge/backfill_test.py). Its cycles keep succeeding across the
restarts, it holds one series per instance and group however often the
instances restart, and it suspects the timeout site, which leaks in every
lifetime though no lifetime lives long enough for its own detector to tell,
while the demo's idle worker pool, as many stuck tasks in every lifetime, is
not suspected."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import judge_harness  # noqa: E402
from judge_harness import harness  # noqa: E402

INSTANCES = 3
RESTART_SECONDS = 50
RESTARTS = 2  # per instance, before the final checks
JOB = "leakwatch-demo"


def sample_value(samples, name, **labels):
    return harness.sample(samples, name, **labels)


class LiveTest(unittest.TestCase):
    def test_judge_follows_a_restarting_fleet(self):
        instances = []
        try:
            for i in range(INSTANCES):
                instances.append(judge_harness.RestartingDemo(RESTART_SECONDS, offset=i * RESTART_SECONDS / INSTANCES))
            targets = [f"127.0.0.1:{i.metrics_port}" for i in instances]
            demo_config = os.path.join(harness.SOURCE_DIR, "config", "demo.yaml")
            with harness.Prometheus(targets, job=JOB) as prom, \
                    judge_harness.JudgeService(prom.url, f"--config={demo_config}", "--scrape-interval=1s",
                                               "--interval=2s") as judge:
                # The site labels as the demo reports them: a build whose compiler
                # launcher rewrites source paths (ccache's base_dir) prefixes "../".
                site_suffix = harness.demo_site("timeout-send")
                idle_suffix = harness.demo_site("pool-idle")

                def restarting(what, fn, timeout):
                    return judge_harness.wait_restarting(what, fn, timeout, instances, judge)

                restarting(f"{RESTARTS} restarts of every instance",
                           lambda: all(inst.restarts >= RESTARTS for inst in instances),
                           timeout=RESTART_SECONDS * (RESTARTS + 2) + 60)

                # Prometheus saw the in-place restarts as start-time changes of the same instance.
                def all_restarts_scraped():
                    changes = prom.query(f'changes(process_start_time_seconds{{job="{JOB}"}}[10m])')
                    return len(changes) == INSTANCES and all(v >= RESTARTS for _, v in changes)

                restarting("Prometheus to scrape every restart", all_restarts_scraped, 30)

                def verdicts(samples, suffix, op):
                    return [(l, v) for n, l, v in samples if n == "leakwatch_judge_site_leak_suspected"
                            and l.get("job") == JOB and l.get("op") == op and l.get("site", "").endswith(suffix)]

                # A cycle that started after the restarts succeeded and suspects the timeout site.
                after = time.time() + 1

                def suspected_after_restarts():
                    samples = judge.metrics()
                    last = sample_value(samples, "leakwatch_judge_last_success_timestamp_seconds")
                    stuck = verdicts(samples, site_suffix, "chan_send")
                    return samples if last and last > after and stuck and stuck[0][1] == 1 else None

                samples = restarting("a cycle after the restarts suspecting the demo's timeout site",
                                     suspected_after_restarts, timeout=120)
                [(labels, _)] = verdicts(samples, site_suffix, "chan_send")
                verdict = {"job": JOB, "site": labels["site"], "op": "chan_send"}
                # Growth per process per hour: about a task a second.
                growth = sample_value(samples, "leakwatch_judge_site_leak_growth_per_hour", **verdict)
                self.assertGreater(growth, 600)
                self.assertLess(growth, 20000)
                # The idle pool holds as many stuck workers in every lifetime: no leak.
                idle = verdicts(samples, idle_suffix, "chan_recv")
                self.assertEqual([v for _, v in idle], [0], idle)
                kinds = [l for n, l, _ in samples if n == "leakwatch_judge_task_leak_suspected"]
                self.assertTrue(kinds, "no long-lived task kind judged")
                groups = len([1 for n, _, _ in samples if n.endswith("_leak_suspected")])
                series = sample_value(samples, "leakwatch_judge_series_judged")
                # Every group holds at most one series per instance, restarts or not.
                self.assertGreaterEqual(series, INSTANCES)
                self.assertLessEqual(series, INSTANCES * groups)
                self.assertEqual(sample_value(samples, "leakwatch_judge_query_errors_total"), 0)
                ok, output = judge_harness.check_metrics(judge.metrics_text())
                self.assertTrue(ok, output)
                self.assertIsNone(judge.proc.poll(), judge.output())
        finally:
            for inst in instances:
                inst.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
