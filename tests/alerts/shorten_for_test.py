#!/usr/bin/env python3
"""shorten_for.py caps every `for:` and changes nothing else.

Usage: shorten_for_test.py REPO_ROOT PROMTOOL [unittest args]
"""

import os
import subprocess
import sys
import tempfile
import unittest

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import shorten_for  # noqa: E402

REPO = None
PROMTOOL = None


def rules_of(rule_file):
    return [rule for group in rule_file["groups"] for rule in group["rules"]]


class ShortenFor(unittest.TestCase):
    def setUp(self):
        self.rules_path = os.path.join(REPO, "alerts", "leakwatch-rules.yaml")
        result = subprocess.run([sys.executable, os.path.join(HERE, "shorten_for.py"), "--max-for", "5s",
                                 self.rules_path], capture_output=True, text=True, check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.short_text = result.stdout
        with open(self.rules_path, encoding="utf-8") as f:
            self.original = yaml.safe_load(f)
        self.short = yaml.safe_load(self.short_text)

    def test_every_for_is_capped(self):
        for rule in rules_of(self.short):
            if "alert" in rule:
                self.assertLessEqual(shorten_for.parse_duration(rule["for"]), 5, rule["alert"])

    def test_everything_but_for_is_unchanged(self):
        for before, after in zip(rules_of(self.original), rules_of(self.short), strict=True):
            before = {k: v for k, v in before.items() if k != "for"}
            after = {k: v for k, v in after.items() if k != "for"}
            self.assertEqual(before, after)

    def test_output_passes_promtool_check_rules(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(self.short_text)
            f.flush()
            result = subprocess.run([PROMTOOL, "check", "rules", f.name], capture_output=True, text=True,
                                    check=False)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_durations_parse_like_prometheus(self):
        self.assertEqual(shorten_for.parse_duration("1h30m"), 5400)
        self.assertEqual(shorten_for.parse_duration("1d"), 86400)
        self.assertEqual(shorten_for.parse_duration("500ms"), 0.5)
        for bad in ("", "5", "5x", "m5", "1.5h"):
            with self.assertRaises(ValueError, msg=bad):
                shorten_for.parse_duration(bad)


if __name__ == "__main__":
    REPO = os.path.abspath(sys.argv.pop(1))
    PROMTOOL = sys.argv.pop(1)
    unittest.main()
