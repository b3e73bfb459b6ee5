#!/usr/bin/env python3
"""Checks leakwatch's alert rules against the monitoring-mixin conventions.

For every alert in the rule file:
  - the name is CamelCase with the `Leakwatch` prefix, and it has a `for:`;
  - `severity` is `critical` (pages) or `warning` (tickets);
  - `summary` is one static sentence ending with a period;
  - `description` is templated: it shows `$value` and every label that the
    alert's firing unit tests expect among site, op, kind, instance and job;
  - `runbook_url` is RUNBOOK_BASE#anchor, and the anchor is a heading of the
    runbook;
  - the unit tests have at least one firing case and one silent case for it.
Every recording rule is named level:metric:operations, every alert section of
the runbook belongs to an alert that exists, and the runbook's own #links resolve.

Usage: check_alerts.py --rules R.yaml --runbook runbook.md --tests T.yaml...
Prints one line per problem and exits 1 if there is any.
"""

import argparse
import re
import sys

import yaml

RUNBOOK_BASE = "https://github.com/leakwatch/leakwatch/blob/main/alerts/runbook.md"
ALERT_NAME = re.compile(r"^Leakwatch[A-Z][A-Za-z0-9]*$")
RECORD_NAME = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z0-9_]+$")
SEVERITIES = ("critical", "warning")
DESCRIBED_LABELS = ("site", "op", "kind", "instance", "job")


def github_anchor(heading):
    """The anchor GitHub gives a Markdown heading's text."""
    anchor = heading.strip().lower()
    anchor = re.sub(r"[^\w\- ]", "", anchor)
    return anchor.replace(" ", "-")


def runbook_headings(text):
    """(level, text) of every ATX heading outside fenced code blocks."""
    headings = []
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if match and not fenced:
            headings.append((len(match.group(1)), match.group(2)))
    return headings


def load_yaml(path, problems):
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        problems.append(f"{path}: cannot read: {e}")
        return None


def collect_rules(rule_file, path, problems):
    """(alerts, records) of a rule file, as lists of rule dicts."""
    alerts, records = [], []
    if not isinstance(rule_file, dict) or not isinstance(rule_file.get("groups"), list):
        problems.append(f"{path}: no top-level 'groups' list")
        return alerts, records
    for group in rule_file["groups"]:
        for rule in group.get("rules") or []:
            (alerts if "alert" in rule else records).append(rule)
    return alerts, records


def collect_test_cases(test_paths, problems):
    """alertname -> {"firing": [exp_alerts...], "silent": count} over all tests."""
    cases = {}
    for path in test_paths:
        test_file = load_yaml(path, problems)
        if not isinstance(test_file, dict):
            if test_file is not None:
                problems.append(f"{path}: not a promtool test file")
            continue
        for test in test_file.get("tests") or []:
            for check in test.get("alert_rule_test") or []:
                entry = cases.setdefault(check.get("alertname"), {"firing": [], "silent": 0})
                expected = check.get("exp_alerts") or []
                if expected:
                    entry["firing"].extend(expected)
                else:
                    entry["silent"] += 1
    return cases


def check_alert(rule, anchors, cases, problems):
    name = rule["alert"]
    where = f"alert {name}"
    if not ALERT_NAME.match(name):
        problems.append(f"{where}: name must be CamelCase with the 'Leakwatch' prefix")
    if "for" not in rule:
        problems.append(f"{where}: has no 'for:' duration")

    severity = (rule.get("labels") or {}).get("severity")
    if severity not in SEVERITIES:
        problems.append(f"{where}: label severity is {severity!r}, must be one of {', '.join(SEVERITIES)}")

    annotations = rule.get("annotations") or {}
    summary = annotations.get("summary")
    if not summary:
        problems.append(f"{where}: has no summary annotation")
    else:
        summary = summary.strip()
        if "{{" in summary or "$labels" in summary or "$value" in summary:
            problems.append(f"{where}: summary must be static (no template): {summary!r}")
        if not summary.endswith("."):
            problems.append(f"{where}: summary must end with a period: {summary!r}")
        if re.search(r"[.!?]\s+\S", summary):
            problems.append(f"{where}: summary must be one sentence: {summary!r}")

    description = annotations.get("description")
    if not description:
        problems.append(f"{where}: has no description annotation")
    else:
        if "{{" not in description:
            problems.append(f"{where}: description must be templated (no {{{{ ... }}}} found)")
        if "$value" not in description:
            problems.append(f"{where}: description does not show $value")
        expected_labels = set()
        for alert in (cases.get(name) or {}).get("firing", []):
            expected_labels.update((alert.get("exp_labels") or {}).keys())
        for label in DESCRIBED_LABELS:
            if label in expected_labels and f"$labels.{label}" not in description:
                problems.append(f"{where}: description does not name $labels.{label}, "
                                f"which its firing test expects")

    runbook_url = annotations.get("runbook_url")
    if not runbook_url:
        problems.append(f"{where}: has no runbook_url annotation")
    else:
        base, _, anchor = runbook_url.partition("#")
        if base != RUNBOOK_BASE or not anchor:
            problems.append(f"{where}: runbook_url must be {RUNBOOK_BASE}#<anchor>, is {runbook_url!r}")
        elif anchor not in anchors:
            problems.append(f"{where}: runbook_url anchor #{anchor} is not a heading of the runbook")

    entry = cases.get(name)
    if not entry or not entry["firing"]:
        problems.append(f"{where}: no unit test expects it to fire")
    if not entry or not entry["silent"]:
        problems.append(f"{where}: no unit test expects it to stay silent")


def check(rules_path, runbook_path, test_paths):
    """All problems found, as printable lines."""
    problems = []
    rule_file = load_yaml(rules_path, problems)
    alerts, records = collect_rules(rule_file, rules_path, problems)
    if rule_file is not None and not alerts:
        problems.append(f"{rules_path}: defines no alerts")

    try:
        with open(runbook_path, encoding="utf-8") as f:
            runbook = f.read()
    except OSError as e:
        problems.append(f"{runbook_path}: cannot read: {e}")
        runbook = ""
    headings = runbook_headings(runbook)
    anchors = {github_anchor(text) for _, text in headings}
    for anchor in sorted(set(re.findall(r"\]\(#([^)\s]+)\)", runbook)) - anchors):
        problems.append(f"{runbook_path}: link to #{anchor}, which is not a heading")

    cases = collect_test_cases(test_paths, problems)
    for rule in alerts:
        check_alert(rule, anchors, cases, problems)

    # One alert may have several rules (LeakwatchTaskCountGrowing: with and
    # without yesterday, each with its own `for:`), as one page: the same
    # summary and runbook section, told apart by their labels.
    names = [rule["alert"] for rule in alerts]
    for name in sorted({n for n in names if names.count(n) > 1}):
        rules = [rule for rule in alerts if rule["alert"] == name]
        pages = {(str((r.get("annotations") or {}).get("summary")),
                  str((r.get("annotations") or {}).get("runbook_url"))) for r in rules}
        label_sets = [tuple(sorted((r.get("labels") or {}).items())) for r in rules]
        if len(pages) > 1 or len(set(label_sets)) < len(label_sets):
            problems.append(f"alert {name}: defined more than once (several rules of one alert need "
                            "the same summary and runbook_url and different labels)")
    for rule in records:
        if not RECORD_NAME.match(str(rule.get("record"))):
            problems.append(f"recording rule {rule.get('record')!r}: name must be level:metric:operations")

    for level, text in headings:
        if level == 2 and text.startswith("Leakwatch") and text not in names:
            problems.append(f"{runbook_path}: section '{text}' documents an alert that does not exist")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", required=True, help="Prometheus rule file")
    parser.add_argument("--runbook", required=True, help="runbook.md with one heading per alert")
    parser.add_argument("--tests", nargs="+", required=True, help="promtool unit test files")
    args = parser.parse_args()
    problems = check(args.rules, args.runbook, args.tests)
    for problem in problems:
        print(problem)
    if problems:
        print(f"check_alerts: {len(problems)} problem(s) in {args.rules}", file=sys.stderr)
        return 1
    print(f"check_alerts: {args.rules}: every alert follows the conventions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
