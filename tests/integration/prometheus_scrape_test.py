"""The real Prometheus server scrapes the demo; leakwatch_blocked_tasks comes
back through its HTTP query API with the exact site and count."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

LEAKS = 20


class PrometheusScrapeTest(unittest.TestCase):
    def test_blocked_tasks_reach_prometheus(self):
        with harness.Demo() as demo:
            for _ in range(LEAKS):
                self.assertEqual(demo.get("/leak/timeout")[0], 504)
            site = harness.demo_site("timeout-send")
            with harness.Prometheus([f"127.0.0.1:{demo.metrics_port}"]) as prom:
                expr = f'leakwatch_blocked_tasks{{site="{site}",op="chan_send"}}'

                def got_all():
                    result = prom.query(expr)
                    return result if result and result[0][1] == LEAKS else None

                result = harness.wait_until(f"{expr} == {LEAKS} in Prometheus", got_all, timeout=60)
                labels, value = result[0]
                self.assertEqual(value, LEAKS)
                self.assertEqual(labels["job"], "leakwatch-demo")
                self.assertEqual(labels["instance"], f"127.0.0.1:{demo.metrics_port}")
                up = prom.query('up{job="leakwatch-demo"}')
                self.assertEqual(up[0][1], 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
