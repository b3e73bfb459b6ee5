"""leakwatch-judge as a service over a live fleet: three leakwatch-demo
processes, each restarted in place (same address, new process start time)
every RESTART_SECONDS and leaking a few tasks at the timeout site in every
lifetime, scraped every second by a real Prometheus. The judge's verdict
metrics appear for the demo's sites and kinds, one series per instance and
group however often the instances restart, and its cycles keep succeeding
across the restarts. (The production fleet judgment needs a day of history
before it suspects anything, so this test checks the plumbing and health, not
a positive verdict; tests/judge/backfill_test.py checks verdicts.)"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import judge_harness  # noqa: E402
from judge_harness import harness  # noqa: E402

INSTANCES = 3
RESTART_SECONDS = 20
RESTARTS = 2  # per instance, before the final checks
LEAKS_PER_LIFETIME = 3
JOB = "leakwatch-demo"


def sample_value(samples, name, **labels):
    return harness.sample(samples, name, **labels)


class Instance:
    """One demo process on a fixed metrics port, restartable in place."""

    def __init__(self):
        self.metrics_port = harness.free_port()
        self.demo = None
        self.started = 0
        self.restarts = -1
        self.start()

    def start(self):
        if self.demo:
            self.demo.close()
        self.demo = harness.Demo(extra=("--metrics_listen", f"127.0.0.1:{self.metrics_port}"))
        for _ in range(LEAKS_PER_LIFETIME):
            status, _ = self.demo.get("/leak/timeout")
            assert status == 504, status
        self.started = time.monotonic()
        self.restarts += 1

    def close(self):
        self.demo.close()


class LiveTest(unittest.TestCase):
    def test_judge_follows_a_restarting_fleet(self):
        instances = []
        try:
            for _ in range(INSTANCES):
                instances.append(Instance())
            targets = [f"127.0.0.1:{i.metrics_port}" for i in instances]
            with harness.Prometheus(targets, job=JOB) as prom, \
                    judge_harness.JudgeService(prom.url, "--interval=2s", "--lookback=10m",
                                               "--step=1s") as judge:
                # The site label as the demo reports it: a build whose compiler
                # launcher rewrites source paths (ccache's base_dir) prefixes "../".
                site_suffix = harness.demo_site("timeout-send")

                def restart_due_instances():
                    for i, inst in enumerate(instances):
                        if time.monotonic() - inst.started > RESTART_SECONDS + 5 * i:
                            inst.start()
                    return all(inst.restarts >= RESTARTS for inst in instances)

                harness.wait_until(f"{RESTARTS} restarts of every instance", restart_due_instances,
                                   timeout=RESTART_SECONDS * (RESTARTS + 2) + 60, interval=0.5)

                # Prometheus saw the in-place restarts as start-time changes of the same instance.
                def all_restarts_scraped():
                    changes = prom.query(f'changes(process_start_time_seconds{{job="{JOB}"}}[10m])')
                    return len(changes) == INSTANCES and all(v >= RESTARTS for _, v in changes)

                harness.wait_until("Prometheus to scrape every restart", all_restarts_scraped, 30)

                # A cycle that started after the last restart succeeded and judged the site.
                after = time.time() + 1

                def judged_after_restarts():
                    samples = judge.metrics()
                    last = sample_value(samples, "leakwatch_judge_last_success_timestamp_seconds")
                    stuck = [v for n, l, v in samples if n == "leakwatch_judge_site_leak_suspected"
                             and l.get("job") == JOB and l.get("op") == "chan_send"
                             and l.get("site", "").endswith(site_suffix)]
                    return samples if last and last > after and stuck else None

                try:
                    samples = harness.wait_until("a cycle judging the demo's timeout site after the restarts",
                                                 judged_after_restarts, timeout=60)
                except AssertionError as e:
                    raise AssertionError(f"{e}\njudge log:\n{judge.output()[-3000:]}\n"
                                         f"judge metrics:\n{judge.metrics_text()}") from None
                site = [l["site"] for n, l, _ in samples if n == "leakwatch_judge_site_leak_suspected"
                        and l.get("site", "").endswith(site_suffix)][0]
                verdict = {"job": JOB, "site": site, "op": "chan_send"}
                self.assertIn(sample_value(samples, "leakwatch_judge_site_leak_suspected", **verdict), (0, 1))
                self.assertIsNotNone(sample_value(samples, "leakwatch_judge_site_leak_growth_per_hour",
                                                  **verdict))
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
