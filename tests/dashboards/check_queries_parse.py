#!/usr/bin/env python3
"""Checks that every dashboard query (panels and variables) is valid PromQL.

Each query is expanded as Grafana would (extract_queries.py), wrapped as a
recording rule in a group named after its dashboard, panel and target, and the
whole file goes through `promtool check rules`, which parses every expression.

Usage: check_queries_parse.py --promtool PATH [--var NAME=VALUE] DASHBOARD.json...
Exits 1 and prints promtool's message (naming the panel) if a query is invalid.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import yaml

import extract_queries

# Values for variables that have no "All": any valid label value will do here.
PLACEHOLDER = "agent/tools/demo/server.cc:57"


def rule_file_for(queries):
    groups = []
    for i, query in enumerate(queries):
        if query["kind"] == "variable":
            name = f"{query['dashboard']} variable {query['panel_title']}"
        else:
            name = f"{query['dashboard']} panel {query['panel_id']} '{query['panel_title']}' target {query['ref_id']}"
        # Group names must be unique; the index keeps them so.
        groups.append({"name": f"#{i + 1} {name}",
                       "rules": [{"record": "leakwatch_dashboard_query", "expr": query["expr"]}]})
    return {"groups": groups}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promtool", default="promtool")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("dashboards", nargs="+")
    args = parser.parse_args()
    try:
        overrides = extract_queries.parse_overrides(args.var)
        queries = []
        for path in args.dashboards:
            dashboard = extract_queries.load_dashboard(path)
            values = dict(overrides)
            for variable in extract_queries.template_variables(dashboard):
                name = variable.get("name")
                if variable.get("type") == "query" and not variable.get("includeAll") and name not in values:
                    values[name] = PLACEHOLDER
            queries.extend(extract_queries.extract(dashboard, values, include_variables=True, source=path))
    except extract_queries.DashboardError as e:
        print(f"check_queries_parse: {e}")
        return 1
    if not queries:
        print("check_queries_parse: the dashboards have no queries")
        return 1

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="dashboard-queries-", delete=False) as f:
        yaml.safe_dump(rule_file_for(queries), f, sort_keys=False, width=1000)
        rules_path = f.name
    try:
        result = subprocess.run([args.promtool, "check", "rules", rules_path], capture_output=True, text=True,
                                check=False)
    finally:
        os.unlink(rules_path)
    if result.returncode != 0:
        print(result.stdout + result.stderr)
        print(f"check_queries_parse: promtool rejected a dashboard query (of {len(queries)})")
        return 1
    print(f"check_queries_parse: {len(queries)} queries parse")
    return 0


if __name__ == "__main__":
    sys.exit(main())
