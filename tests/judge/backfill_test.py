"""leakwatch-judge backtested over four days of a fleet's history backfilled
into a real Prometheus (promtool tsdb create-blocks-from openmetrics): the
leak shipped by a rolling deploy is suspected after it starts and never
before, healthy sites and kinds never are, the growth is near the truth, and
the same time gives the same verdicts (the judge is stateless)."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleet_history  # noqa: E402
import judge_harness  # noqa: E402

SITE_SUSPECTED = "leakwatch_judge_site_leak_suspected"
SITE_GROWTH = "leakwatch_judge_site_leak_growth_per_hour"
TASK_SUSPECTED = "leakwatch_judge_task_leak_suspected"
LEAK = (("job", fleet_history.LEAK_JOB), ("op", fleet_history.LEAK_SITE[1]),
        ("site", fleet_history.LEAK_SITE[0]))
# The latest detection accepted: a day of history of the new lifetimes, as the
# in-process detector needs (its min_history), plus a trend window.
MAX_LATENCY_HOURS = 30


class BackfillTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # History ends an hour ago, inside any retention.
        cls.prom = judge_harness.BackfilledPrometheus(end=time.time() - 3600)

    @classmethod
    def tearDownClass(cls):
        cls.prom.close()

    def judge(self, at, *args):
        code, samples, out, err = judge_harness.run_once(self.prom.url, f"--at={at}", *args)
        self.assertEqual(code, 0, f"--at={at}: {err}")
        return samples, out

    def test_verdicts_over_four_days(self):
        p = self.prom
        first_detection = None
        for at in range(p.begin + 86400, p.end + 1, 7200):
            samples, _ = self.judge(at)
            sites = judge_harness.verdicts(samples, SITE_SUSPECTED)
            tasks = judge_harness.verdicts(samples, TASK_SUSPECTED)
            hours = (at - p.leak_start) / 3600
            self.assertEqual(len(sites), 7, f"at {hours:+.0f} h: site groups {sorted(sites)}")
            self.assertEqual(len(tasks), 4, f"at {hours:+.0f} h: kind groups {sorted(tasks)}")
            for labels, value in list(sites.items()) + list(tasks.items()):
                if labels == LEAK and at > p.leak_start:
                    continue
                self.assertEqual(value, 0, f"at {hours:+.1f} h from the leak: {dict(labels)} suspected")
            if at <= p.leak_start:
                continue
            if sites.get(LEAK) == 1:
                first_detection = first_detection or at
                growth = judge_harness.verdicts(samples, SITE_GROWTH)[LEAK]
                self.assertGreater(growth, 0.5 * p.leak_per_hour, f"at {hours:+.1f} h")
                self.assertLess(growth, 1.5 * p.leak_per_hour, f"at {hours:+.1f} h")
            elif first_detection is not None:
                self.fail(f"the leak was suspected at {(first_detection - p.leak_start) / 3600:.0f} h "
                          f"and no longer at {hours:.0f} h")
        self.assertIsNotNone(first_detection, "the leak was never suspected")
        latency = (first_detection - p.leak_start) / 3600
        print(f"\nleak of {p.leak_per_hour}/h per process found {latency:.0f} h after the deploy")
        self.assertLessEqual(latency, MAX_LATENCY_HOURS)

    def test_same_time_same_verdicts(self):
        at = self.prom.end - 1800
        _, first = self.judge(at)
        _, second = self.judge(at)
        strip = lambda text: [l for l in text.splitlines()  # noqa: E731
                              if "leak_" in l and not l.startswith("#")]
        self.assertTrue(strip(first))
        self.assertEqual(strip(first), strip(second))

    def test_output_passes_promtool_and_counts_series(self):
        samples, text = self.judge(self.prom.end)
        ok, output = judge_harness.check_metrics(text)
        self.assertTrue(ok, output)
        # In the last two days: shop's 3 old and 3 new instances x 4 sites,
        # search's 2 instances x 3 sites, and 2 kinds on every instance.
        series = [v for n, _, v in samples if n == "leakwatch_judge_series_judged"]
        self.assertEqual(series, [6 * 4 + 2 * 3 + 8 * 2])
        self.assertEqual([v for n, _, v in samples if n == "leakwatch_judge_query_errors_total"], [0])

    def test_small_batches_give_the_same_verdicts(self):
        # 2,881 steps a series: at most 3,000 points a query reads one site at a time.
        _, whole = self.judge(self.prom.end)
        _, batched = self.judge(self.prom.end, "--max-points-per-query=3000")
        lines = lambda text: sorted(l for l in text.splitlines()  # noqa: E731
                                    if "leak_" in l and not l.startswith("#"))
        self.assertTrue(lines(whole))
        self.assertEqual(lines(whole), lines(batched))

    def test_ranges_beyond_11000_points_are_split(self):
        # Two days at 10 s are 17,281 points a series: Prometheus refuses one
        # query of that many (400 bad_data), so the client must split it.
        samples, _ = self.judge(self.prom.end, "--step=10s")
        series = [v for n, _, v in samples if n == "leakwatch_judge_series_judged"]
        self.assertEqual(series, [6 * 4 + 2 * 3 + 8 * 2])
        self.assertEqual(len(judge_harness.verdicts(samples, SITE_SUSPECTED)), 7)

    def test_selector_and_group_by(self):
        samples, _ = self.judge(self.prom.end, '--selector={job="search"}')
        jobs = {l.get("job") for n, l, _ in samples if n == SITE_SUSPECTED}
        self.assertEqual(jobs, {"search"})
        samples, _ = self.judge(self.prom.end, "--group-by=instance_group")
        labels = [l for n, l, _ in samples if n == SITE_SUSPECTED]
        # The label is absent from every series: one group per site across both jobs.
        self.assertEqual(len(labels), 4)
        self.assertTrue(all(set(l) == {"instance_group", "site", "op"} for l in labels), labels)


if __name__ == "__main__":
    unittest.main(verbosity=2)
