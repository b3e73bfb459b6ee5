#!/usr/bin/env python3
"""The dashboard checks reject each broken fixture with the right message.

Every fixture in fixtures/ is valid_minimal.json with one rule broken, so a
rejection can only come from that rule.

Usage: dashboard_checks_test.py REPO_ROOT PROMTOOL [unittest args, e.g. a test name]
"""

import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
REPO = None
PROMTOOL = None


def run(script, *args):
    return subprocess.run([sys.executable, os.path.join(HERE, script), *args], capture_output=True, text=True,
                          check=False)


class LinterRejects(unittest.TestCase):
    def assertLintRejects(self, fixture, message, *others):
        result = run("lint_dashboards.py", os.path.join(FIXTURES, fixture), *others)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn(message, result.stdout)

    def test_valid_minimal_fixture_passes(self):
        result = run("lint_dashboards.py", os.path.join(FIXTURES, "valid_minimal.json"))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_rate_without_rate_interval(self):
        self.assertLintRejects("rate_without_rate_interval.json", "rate() should use $__rate_interval, uses [5m]")

    def test_hardcoded_datasource(self):
        self.assertLintRejects("hardcoded_datasource.json",
                               "panel 2 'Stuck tasks': does not use a templated datasource, uses 'prometheus'")

    def test_duplicate_panel_id(self):
        self.assertLintRejects("duplicate_panel_id.json", "duplicate panel id 1 (also 'Task starts')")

    def test_missing_unit(self):
        self.assertLintRejects("missing_unit.json", "panel 2 'Stuck tasks': has no or invalid units defined")

    def test_missing_description(self):
        self.assertLintRejects("missing_description.json",
                               "panel 1 'Task starts': has missing title or description")

    def test_job_variable_not_multi(self):
        self.assertLintRejects("job_variable_not_multi.json", "job template should be a multi select")

    def test_selector_without_instance_matcher(self):
        self.assertLintRejects("selector_without_instance_matcher.json",
                               "selector 'leakwatch_stuck_tasks{job=~\"$job\"}' has no instance=~\"$instance\" matcher")

    def test_judge_verdict_with_service_instance(self):
        self.assertLintRejects("judge_verdict_with_service_instance.json",
                               "filters leakwatch-judge's series by the services' $instance; their instance is "
                               "the judge's ($judge)")

    def test_judge_without_judge_variables(self):
        self.assertLintRejects("judge_without_judge_variables.json", "is missing the judge template")

    def test_counter_without_rate(self):
        self.assertLintRejects("counter_without_rate.json",
                               "counter metric 'leakwatch_tasks_started_total' is not aggregated with rate")

    def test_old_schema_version(self):
        self.assertLintRejects("old_schema_version.json", "schemaVersion is 36, must be 42 or later")

    def test_site_link_without_site(self):
        self.assertLintRejects("site_link_without_site.json",
                               "data link on 'site' to 'leakwatch-site' does not set var-site",
                               os.path.join(REPO, "dashboards", "leakwatch-site.json"))

    def test_duplicate_dashboard_uid(self):
        valid = os.path.join(FIXTURES, "valid_minimal.json")
        result = run("lint_dashboards.py", valid, valid)
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("uid 'fixture' is also used by", result.stdout)


class PromtoolRejects(unittest.TestCase):
    def test_invalid_promql(self):
        result = run("check_queries_parse.py", "--promtool", PROMTOOL,
                     os.path.join(FIXTURES, "invalid_promql.json"))
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("fixture panel 2 'Stuck tasks' target A", result.stdout)
        self.assertIn("could not parse expression", result.stdout)

    def test_valid_minimal_fixture_parses(self):
        result = run("check_queries_parse.py", "--promtool", PROMTOOL, os.path.join(FIXTURES, "valid_minimal.json"))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)


class ProvisioningRejects(unittest.TestCase):
    def test_provider_with_relative_path(self):
        result = run("check_provisioning.py", os.path.join(FIXTURES, "provisioning_relative_path.yaml"))
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("providers[0]: type is 'files', must be 'file'", result.stdout)
        self.assertIn("options.path 'dashboards' must be an absolute path", result.stdout)


class ExtractQueries(unittest.TestCase):
    def extract(self, *args):
        return run("extract_queries.py", *args)

    def test_substitutes_rate_interval_and_all_values(self):
        result = self.extract(os.path.join(FIXTURES, "valid_minimal.json"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.splitlines(), [
            'sum by (kind) (rate(leakwatch_tasks_started_total{job=~".+", instance=~".+"}[1m]))',
            'sum(leakwatch_stuck_tasks{job=~".+", instance=~".+"})',
        ])

    def test_variable_without_all_needs_a_value(self):
        site = os.path.join(REPO, "dashboards", "leakwatch-site.json")
        result = self.extract(site)
        self.assertEqual(result.returncode, 2)
        self.assertIn("variable $site has no value to expand; pass --var site=VALUE", result.stderr)

    def test_given_values_are_escaped_into_strings(self):
        site = os.path.join(REPO, "dashboards", "leakwatch-site.json")
        result = self.extract("--var", 'site=fn"x+0x1a', "--var", "job=demo", "--format", "json", site)
        self.assertEqual(result.returncode, 0, result.stderr)
        queries = json.loads(result.stdout)
        self.assertTrue(queries)
        for query in queries:
            self.assertIn('site="fn\\"x+0x1a"', query["expr"])
            self.assertIn('job=~"demo"', query["expr"])
            self.assertNotIn("$", query["expr"])

    def test_lists_every_panel_target_of_the_shipped_dashboards(self):
        directory = os.path.join(REPO, "dashboards")
        paths = [os.path.join(directory, name) for name in sorted(os.listdir(directory)) if name.endswith(".json")]
        self.assertGreaterEqual(len(paths), 3)
        result = self.extract("--var", "site=s.cc:1", "--format", "json", *paths)
        self.assertEqual(result.returncode, 0, result.stderr)
        expected = 0
        for path in paths:
            with open(path, encoding="utf-8") as f:
                expected += sum(len(p.get("targets", [])) for p in json.load(f)["panels"])
        self.assertEqual(len(json.loads(result.stdout)), expected)


class EndToEnd(unittest.TestCase):
    def test_every_shipped_dashboard_is_queried_end_to_end(self):
        # Parsing proves little about a query's data: each dashboard must be
        # run against a live Prometheus by one of the e2e tests.
        e2e = os.path.join(REPO, "tests", "e2e")
        sources = ""
        for name in sorted(os.listdir(e2e)):
            if name.endswith("_test.py"):
                with open(os.path.join(e2e, name), encoding="utf-8") as f:
                    sources += f.read()
        for name in sorted(os.listdir(os.path.join(REPO, "dashboards"))):
            if name.endswith(".json"):
                self.assertTrue(name in sources, f"no test in tests/e2e runs the queries of dashboards/{name}")


if __name__ == "__main__":
    REPO = os.path.abspath(sys.argv.pop(1))
    PROMTOOL = sys.argv.pop(1)
    unittest.main()
