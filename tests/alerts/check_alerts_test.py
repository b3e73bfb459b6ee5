#!/usr/bin/env python3
"""check_alerts.py rejects each broken fixture in fixtures/ with the right message.

Usage: check_alerts_test.py REPO_ROOT [unittest args, e.g. a test name]
"""

import glob
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = None  # set from argv in main


def run_checker(rules, runbook=None):
    tests = sorted(glob.glob(os.path.join(REPO, "alerts", "tests", "*.yaml")))
    return subprocess.run(
        [sys.executable, os.path.join(HERE, "check_alerts.py"), "--rules", rules,
         "--runbook", runbook or os.path.join(REPO, "alerts", "runbook.md"), "--tests", *tests],
        capture_output=True, text=True, check=False)


class CheckAlertsRejects(unittest.TestCase):
    def assertRejected(self, fixture, message, runbook=None):
        result = run_checker(os.path.join(HERE, "fixtures", fixture), runbook)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn(message, result.stdout)

    def test_alert_without_severity(self):
        self.assertRejected("missing_severity.yaml",
                            "alert LeakwatchDeadlock: label severity is None, must be one of critical, warning")

    def test_summary_with_a_template(self):
        self.assertRejected("templated_summary.yaml",
                            "alert LeakwatchDeadlock: summary must be static (no template)")

    def test_summary_without_a_period(self):
        self.assertRejected("templated_summary.yaml", "alert LeakwatchDeadlock: summary must end with a period")

    def test_runbook_url_to_a_missing_anchor(self):
        self.assertRejected("missing_runbook_anchor.yaml",
                            "alert LeakwatchDeadlock: runbook_url anchor #leakwatch-deadlocks is not a heading")

    def test_description_that_does_not_name_the_site(self):
        self.assertRejected("description_without_site.yaml",
                            "alert LeakwatchDeadlock: description does not name $labels.site")

    def test_alert_without_unit_tests(self):
        self.assertRejected("untested_alert.yaml", "alert LeakwatchSitesDropped: no unit test expects it to fire")

    def test_recording_rule_not_named_level_metric_operations(self):
        self.assertRejected("bad_record_name.yaml",
                            "recording rule 'leakwatch_stuck_tasks_by_site': name must be level:metric:operations")

    def test_alert_defined_twice_with_the_same_labels(self):
        self.assertRejected("alert_defined_twice.yaml", "alert LeakwatchDeadlock: defined more than once")

    def test_alert_defined_twice_with_different_summaries(self):
        self.assertRejected("alert_defined_twice.yaml", "alert LeakwatchTasksStuck: defined more than once")

    def test_runbook_section_for_an_alert_that_does_not_exist(self):
        self.assertRejected("missing_severity.yaml",
                            "section 'LeakwatchTargetDown' documents an alert that does not exist")

    def test_runbook_link_to_a_missing_heading(self):
        self.assertRejected("missing_severity.yaml",
                            "runbook_with_broken_link.md: link to #tuning, which is not a heading",
                            runbook=os.path.join(HERE, "fixtures", "runbook_with_broken_link.md"))

    def test_shipped_rules_pass(self):
        result = run_checker(os.path.join(REPO, "alerts", "leakwatch-rules.yaml"))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)


if __name__ == "__main__":
    REPO = os.path.abspath(sys.argv.pop(1))
    unittest.main()
