"""Drives each demo handler exactly 100 times and checks, from /metrics, that
every leaked task is counted at its exact site and op, and nothing else."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

CALLS = 100


class DemoMetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.demo = harness.Demo()

    @classmethod
    def tearDownClass(cls):
        cls.demo.close()

    def call(self, path, times, expect_status):
        for _ in range(times):
            status, body = self.demo.get(path)
            self.assertEqual(status, expect_status, f"{path}: {body}")

    def wait_blocked(self, site, op, expected):
        def check():
            v = harness.sample(self.demo.metrics(), "leakwatch_blocked_tasks", site=site, op=op)
            return v if v == expected else None
        try:
            harness.wait_until(f"{expected} blocked at {site} [{op}]", check, timeout=30)
        except AssertionError:
            v = harness.sample(self.demo.metrics(), "leakwatch_blocked_tasks", site=site, op=op)
            self.fail(f"leakwatch_blocked_tasks{{site={site!r},op={op!r}}} is {v}, want {expected}")

    def test_1_healthy_handler_leaves_nothing_blocked(self):
        self.call("/work", CALLS, 200)
        site = harness.demo_site("work-recv")
        samples = self.demo.metrics()
        self.assertEqual(harness.sample(samples, "leakwatch_blocked_tasks", site=site, op="chan_recv"), 0)
        finished = harness.sample(samples, "leakwatch_block_duration_seconds_count", site=site, op="chan_recv")
        self.assertIsNotNone(finished, "the healthy handler's waits are in the histogram")
        self.assertGreater(finished, 0)
        self.assertLessEqual(finished, CALLS)

    def test_2_timeout_leak_counts_every_stuck_sender(self):
        self.call("/leak/timeout", CALLS, 504)
        self.wait_blocked(harness.demo_site("timeout-send"), "chan_send", CALLS)
        # The healthy handler's site is still at zero under the same process.
        samples = self.demo.metrics()
        self.assertEqual(harness.sample(samples, "leakwatch_blocked_tasks",
                                        site=harness.demo_site("work-recv"), op="chan_recv"), 0)

    def test_3_recv_leak(self):
        self.call("/leak/recv", CALLS, 200)
        self.wait_blocked(harness.demo_site("recv-forever"), "chan_recv", CALLS)

    def test_4_lock_leak_blocks_every_later_worker(self):
        # The first worker takes the lock without waiting and never releases it.
        self.call("/leak/lock", CALLS + 1, 200)
        site = harness.demo_site("lock-forever")
        self.wait_blocked(site, "mutex", CALLS)
        # Its owner exited holding it: a proven deadlock for every waiter.
        self.assertEqual(harness.sample(self.demo.metrics(), "leakwatch_deadlocked_tasks",
                                        site=site, op="mutex"), CALLS)
        # Channel waits are never called deadlocked, however stuck.
        self.assertEqual(harness.sample(self.demo.metrics(), "leakwatch_deadlocked_tasks",
                                        site=harness.demo_site("timeout-send"), op="chan_send"), 0)

    def test_5_waitgroup_leak(self):
        self.call("/leak/waitgroup", CALLS, 200)
        self.wait_blocked(harness.demo_site("waitgroup-wait"), "waitgroup", CALLS)

    def test_6_tasks_and_process_metrics(self):
        samples = self.demo.metrics()
        threads = harness.sample(samples, "leakwatch_tasks", kind="thread")
        self.assertGreaterEqual(threads, 4 * CALLS)
        os_threads = harness.sample(samples, "leakwatch_os_threads")
        self.assertGreaterEqual(os_threads, threads)
        self.assertGreater(harness.sample(samples, "process_start_time_seconds"), 1.6e9)
        self.assertEqual(harness.sample(samples, "leakwatch_build_info", version="0.1.0"), 1)
        self.assertGreaterEqual(harness.sample(samples, "leakwatch_tasks_started_total", kind="request"), 5 * CALLS)

    def test_7_promtool_accepts_the_exposition(self):
        promtool = harness.find_tool("promtool")
        text = self.demo.metrics_text()
        r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual((r.stdout + r.stderr).strip(), "", "promtool printed warnings")

    def test_8_dump_groups_by_site(self):
        status, body = harness.http_get(self.demo.metrics_url + "/debug/tasks?debug=1")
        self.assertEqual(status, 200)
        self.assertIn(f"{CALLS} blocked @ {harness.demo_site('timeout-send')} [chan_send]", body)
        status, body = harness.http_get(self.demo.metrics_url + "/debug/tasks?debug=2")
        self.assertEqual(status, 200)
        self.assertIn("[chan_send, ", body)
        self.assertIn("blocked at " + harness.demo_site("timeout-send"), body)

    def test_9_hostile_requests_get_clear_errors(self):
        base = self.demo.metrics_url
        self.assertEqual(harness.http_get(base + "/debug/tasks?debug=7")[0], 400)
        self.assertEqual(harness.http_get(base + "/debug/tasks?debug=abc")[0], 400)
        self.assertEqual(harness.http_get(base + "/nope")[0], 404)
        self.assertEqual(harness.http_get(base + "/metrics", method="POST")[0], 405)
        self.assertEqual(harness.http_get(base + "/metrics", method="DELETE")[0], 405)
        self.assertEqual(harness.http_get(base + "/metrics")[0], 200)  # still serving


if __name__ == "__main__":
    unittest.main(verbosity=2)
