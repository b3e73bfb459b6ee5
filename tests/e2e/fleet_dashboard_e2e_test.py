"""End to end for dashboards/leakwatch-fleet.json: one real Prometheus holds
four days of a fleet's history (backfilled with promtool, tests/judge/
fleet_history.py: job "shop" ships a leak with a rolling deploy 36 h before
the end, job "search" is healthy) and scrapes, live, a leakwatch-demo process
and the real leakwatch-judge reading that same Prometheus, with
honor_labels: true as the README says. Once the judge's verdict on the shop
leak reaches Prometheus, every query of the fleet dashboard (panels and
variables) must return data, and the verdict, growth, instance and health
panels must say what the fleet holds."""

import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "judge"))
import fleet_history  # noqa: E402
import judge_harness  # noqa: E402
from judge_harness import harness  # noqa: E402

SRC = harness.SOURCE_DIR
DASHBOARD = os.path.join(SRC, "dashboards", "leakwatch-fleet.json")
JUDGE_JOB = "leakwatch-judge"
LEAK_JOB = fleet_history.LEAK_JOB
LEAK_SITE, LEAK_OP = fleet_history.LEAK_SITE


def panel_queries():
    """Every panel and variable query of the fleet dashboard (extract_queries'
    JSON), expanded as Grafana would run them with every variable at "All"."""
    out = subprocess.run([sys.executable, os.path.join(SRC, "tests/dashboards/extract_queries.py"),
                          "--format", "json", "--include-variables", DASHBOARD],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


class FleetDashboardEndToEndTest(unittest.TestCase):
    def test_every_fleet_query_has_data_and_shows_the_fleet(self):
        demo = harness.Demo()
        judge_port = harness.free_port()
        prom = judge = None
        try:
            prom = judge_harness.BackfilledPrometheus(
                end=time.time(), targets=[f"127.0.0.1:{demo.metrics_port}"],
                extra_jobs=[(JUDGE_JOB, [f"127.0.0.1:{judge_port}"], True)])
            judge = judge_harness.JudgeService(prom.url, "--interval=5s", port=judge_port)

            leak = (f'max by (job, site, op) (leakwatch_judge_site_leak_suspected'
                    f'{{job="{LEAK_JOB}", site="{LEAK_SITE}", op="{LEAK_OP}"}}) == 1')
            harness.wait_until("the judge's verdict on the shop leak in Prometheus", lambda: prom.query(leak),
                               timeout=180, interval=1)
            # The error rate needs two scrapes of the counter inside its window.
            harness.wait_until("two scrapes of the judge's error counter", lambda: prom.query(
                f'count_over_time(leakwatch_judge_query_errors_total{{job="{JUDGE_JOB}"}}[1m]) >= 2'),
                timeout=60, interval=1)

            queries = panel_queries()
            empty, results = [], {}
            for q in queries:
                result = prom.query(q["expr"])
                results.setdefault(q.get("panel_title", q.get("kind")), []).append(result)
                if not result:
                    empty.append(f'{q.get("panel_title", q.get("kind"))} / {q.get("ref_id", "")}: {q["expr"]}')
            self.assertEqual(empty, [], "fleet dashboard queries without data:\n" + "\n".join(empty))
            self.assertGreaterEqual(len(queries), 20)

            # The verdict table lists the shop leak alone, one row for the job
            # however many instances and restarts, with a growth per process
            # near the truth.
            [table] = results["Suspected fleet leaks by job and site"]
            self.assertEqual([(m["job"], m["site"], m["op"]) for m, _ in table], [(LEAK_JOB, LEAK_SITE, LEAK_OP)])
            growth = table[0][1]
            self.assertGreater(growth, 0.5 * prom.leak_per_hour)
            self.assertLess(growth, 1.5 * prom.leak_per_hour)
            sites, kinds = results["Suspected fleet leaks"]
            self.assertEqual([v for _, v in sites], [1])
            self.assertEqual([v for _, v in kinds], [0])
            [task_verdicts, _] = results["Task kinds by job"]
            verdicts = {(m["job"], m["kind"]): v for m, v in task_verdicts}
            self.assertEqual(set(verdicts.values()), {0}, verdicts)
            self.assertLessEqual({(job, kind) for job in (LEAK_JOB, "search") for kind in fleet_history.KINDS},
                                 set(verdicts))
            # The live demo is an instance of its own job, started moments ago.
            [instances] = results["Instances per job"]
            self.assertIn(("leakwatch-demo", 1), [(m["job"], v) for m, v in instances])
            young = results["Restarts per job"][1]
            self.assertIn("leakwatch-demo", [m["job"] for m, _ in young])
            # The judge's health: one replica up, a recent successful cycle, no
            # query errors, every backfilled and live series judged.
            [up] = results["Judges up"]
            self.assertEqual([v for _, v in up], [1])
            [age] = results["Since the last successful cycle"]
            self.assertLess(age[0][1], 60)
            [errors] = results["Query errors"]
            self.assertEqual([v for _, v in errors], [0])
            [judged] = results["Series judged"]
            self.assertGreater(judged[0][1], 0)
        finally:
            if judge:
                judge.close()
            if prom:
                prom.close()
            demo.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
