#!/usr/bin/env python3
"""Prints a copy of a Prometheus rule file with every `for:` capped.

Demos and end-to-end tests run Prometheus with 1-second scrapes and the agent's
fast detector preset; they want an alert within minutes, while the shipped rules
hold alerts for production durations. Only `for:` changes: expressions, labels
and annotations are copied as they are.

Usage: shorten_for.py --max-for 5s RULES.yaml > SHORT.yaml
"""

import argparse
import re
import sys

import yaml

_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_UNIT_SECONDS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)


def parse_duration(text):
    """Seconds in a Prometheus duration such as `1h30m`; ValueError if malformed."""
    match = _DURATION.match(str(text))
    if not text or not match or not any(match.groups()):
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(g) * s for g, s in zip(match.groups(), _UNIT_SECONDS) if g)


def shorten(rule_file, max_for):
    """Caps `for:` of every alert in a parsed rule file; returns how many changed."""
    cap = parse_duration(max_for)
    changed = 0
    for group in rule_file.get("groups") or []:
        for rule in group.get("rules") or []:
            if "alert" in rule and "for" in rule and parse_duration(rule["for"]) > cap:
                rule["for"] = max_for
                changed += 1
    return changed


class _BlockDumper(yaml.SafeDumper):
    """Writes multi-line strings (PromQL, descriptions) as readable `|` blocks."""


def _represent_str(dumper, text):
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_BlockDumper.add_representer(str, _represent_str)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-for", required=True, help="longest `for:` to keep, e.g. 5s")
    parser.add_argument("rules", help="Prometheus rule file")
    args = parser.parse_args()
    try:
        parse_duration(args.max_for)
        with open(args.rules, encoding="utf-8") as f:
            rule_file = yaml.safe_load(f)
        if not isinstance(rule_file, dict) or "groups" not in rule_file:
            raise ValueError(f"{args.rules}: not a rule file (no top-level 'groups')")
        changed = shorten(rule_file, args.max_for)
    except (OSError, ValueError, yaml.YAMLError) as e:
        print(f"shorten_for: {e}", file=sys.stderr)
        return 2
    sys.stdout.write(f"# Generated from {args.rules} with every `for:` capped at {args.max_for}.\n")
    yaml.dump(rule_file, sys.stdout, Dumper=_BlockDumper, sort_keys=False, width=100)
    print(f"shorten_for: capped {changed} alerts at {args.max_for}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
