#!/usr/bin/env python3
"""Prints every panel query of Grafana dashboards with the variables filled in.

Grafana expands `$__rate_interval`, `$job` and friends before a query reaches
Prometheus; this does the same so that promtool (or a live Prometheus in the
end-to-end test) can run the queries:
  - `$__rate_interval`, `$__interval` -> --rate-interval / --interval (1m);
  - `$__range` -> --range (1h);
  - a multi-value variable with "Include All" (job, instance) -> its allValue
    (`.+`), unless --var NAME=VALUE gives a value;
  - any other variable (the site dashboard's `site`) -> the --var value; a
    variable without one is an error that names it.
Values inserted into a double-quoted PromQL string are escaped for it.

Output (stdout): one query per line (line breaks inside a query become spaces),
or with --format json a list of objects:
  {"dashboard": uid, "panel_id", "panel_title", "ref_id", "instant": bool,
   "kind": "panel" | "variable", "expr": expanded query, "raw_expr": as written}
With --include-variables, query variables' `label_values(SELECTOR, LABEL)` are
listed too, as `count by (LABEL) (SELECTOR)`.

Usage:
  extract_queries.py [--var site=agent/tools/demo/server.cc:57] [--format json]
                     DASHBOARD.json...
"""

import argparse
import json
import re
import sys

DEFAULT_RATE_INTERVAL = "1m"
DEFAULT_INTERVAL = "1m"
DEFAULT_RANGE = "1h"

# $name, ${name} and ${name:format}; Grafana's deprecated [[name]] form too.
_VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)|\[\[(\w+)(?::(\w+))?\]\]")
_LABEL_VALUES = re.compile(r"^\s*label_values\s*\((.*),\s*([A-Za-z_]\w*)\s*\)\s*$", re.S)

_BUILTINS = {"__rate_interval", "__interval", "__range", "__range_s", "__range_ms", "__interval_ms"}


class DashboardError(Exception):
    """A dashboard that cannot be read or expanded; the message names where."""


def load_dashboard(path):
    """The parsed dashboard JSON; DashboardError if unreadable or not an object."""
    try:
        with open(path, encoding="utf-8") as f:
            dashboard = json.load(f)
    except OSError as e:
        raise DashboardError(f"{path}: cannot read: {e}") from e
    except json.JSONDecodeError as e:
        raise DashboardError(f"{path}: invalid JSON: {e}") from e
    if not isinstance(dashboard, dict):
        raise DashboardError(f"{path}: the top level is not a JSON object")
    return dashboard


def all_panels(dashboard):
    """Every panel, including those nested in collapsed rows, in order."""
    for panel in dashboard.get("panels") or []:
        if not isinstance(panel, dict):
            continue
        yield panel
        for inner in panel.get("panels") or []:
            if isinstance(inner, dict):
                yield inner


def template_variables(dashboard):
    return [v for v in (dashboard.get("templating") or {}).get("list") or [] if isinstance(v, dict)]


def _duration_seconds(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    total = 0.0
    for number, unit in re.findall(r"(\d+)(ms|[smhdwy])", text):
        total += int(number) * units[unit]
    return total


def variable_values(dashboard, overrides, rate_interval, interval, range_):
    """name -> value for every variable a query may use; None for those lacking one."""
    values = {
        "__rate_interval": rate_interval,
        "__interval": interval,
        "__interval_ms": str(int(_duration_seconds(interval) * 1000)),
        "__range": range_,
        "__range_s": str(int(_duration_seconds(range_))),
        "__range_ms": str(int(_duration_seconds(range_) * 1000)),
    }
    for variable in template_variables(dashboard):
        name = variable.get("name")
        if not name:
            continue
        if variable.get("type") == "datasource":
            values[name] = "datasource"
        elif variable.get("includeAll") and variable.get("allValue"):
            values[name] = variable["allValue"]
        else:
            values[name] = None
    for name, value in overrides.items():
        values[name] = value
    return values


def _inside_double_quotes(text, position):
    """Whether `position` in a PromQL text lies inside a "..." string."""
    inside = False
    quote = None
    i = 0
    while i < position:
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
        i += 1
        inside = quote == '"'
    return inside


def expand(expr, values, where):
    """The query with every variable replaced; DashboardError naming a missing one."""
    pieces = []
    last = 0
    for match in _VARIABLE.finditer(expr):
        name = match.group(1) or match.group(3) or match.group(4)
        if name not in values:
            raise DashboardError(f"{where}: uses ${name}, which is not a variable of the dashboard")
        value = values[name]
        if value is None:
            raise DashboardError(f"{where}: variable ${name} has no value to expand; pass --var {name}=VALUE")
        if _inside_double_quotes(expr, match.start()):
            value = value.replace("\\", "\\\\").replace('"', '\\"')
        pieces.append(expr[last:match.start()])
        pieces.append(value)
        last = match.end()
    pieces.append(expr[last:])
    return "".join(pieces)


def variable_query_text(variable):
    """The query string of a query variable (Grafana stores a string or an object)."""
    query = variable.get("query")
    if isinstance(query, dict):
        query = query.get("query")
    return query if isinstance(query, str) else ""


def label_values_as_promql(query):
    """`count by (L) (SEL)` for `label_values(SEL, L)`; None for other forms."""
    match = _LABEL_VALUES.match(query)
    if not match:
        return None
    return f"count by ({match.group(2)}) ({match.group(1).strip()})"


def extract(dashboard, overrides=None, rate_interval=DEFAULT_RATE_INTERVAL, interval=DEFAULT_INTERVAL,
            range_=DEFAULT_RANGE, include_variables=False, source=""):
    """The dashboard's queries as dicts (see the module doc); raises DashboardError."""
    uid = dashboard.get("uid") or source
    values = variable_values(dashboard, overrides or {}, rate_interval, interval, range_)
    queries = []
    if include_variables:
        for variable in template_variables(dashboard):
            if variable.get("type") != "query":
                continue
            raw = variable_query_text(variable)
            promql = label_values_as_promql(raw)
            if promql is None:
                continue
            where = f"dashboard {uid}, variable ${variable.get('name')}"
            queries.append({"dashboard": uid, "panel_id": None, "panel_title": f"${variable.get('name')}",
                            "ref_id": None, "instant": True, "kind": "variable",
                            "expr": expand(promql, values, where), "raw_expr": raw})
    for panel in all_panels(dashboard):
        for target in panel.get("targets") or []:
            if not isinstance(target, dict) or not target.get("expr"):
                continue
            where = (f"dashboard {uid}, panel {panel.get('id')} '{panel.get('title', '')}', "
                     f"target {target.get('refId')}")
            queries.append({"dashboard": uid, "panel_id": panel.get("id"), "panel_title": panel.get("title", ""),
                            "ref_id": target.get("refId"), "instant": bool(target.get("instant")),
                            "kind": "panel", "expr": expand(target["expr"], values, where),
                            "raw_expr": target["expr"]})
    return queries


def parse_overrides(pairs):
    overrides = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise DashboardError(f"--var wants NAME=VALUE, got {pair!r}")
        overrides[name] = value
    return overrides


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dashboards", nargs="+", help="Grafana dashboard JSON files")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                        help="value of a dashboard variable (repeatable)")
    parser.add_argument("--rate-interval", default=DEFAULT_RATE_INTERVAL, help="value of $__rate_interval")
    parser.add_argument("--interval", default=DEFAULT_INTERVAL, help="value of $__interval")
    parser.add_argument("--range", default=DEFAULT_RANGE, dest="range_", help="value of $__range")
    parser.add_argument("--include-variables", action="store_true",
                        help="also list query variables' label_values() as PromQL")
    parser.add_argument("--format", choices=("lines", "json"), default="lines")
    args = parser.parse_args()
    try:
        overrides = parse_overrides(args.var)
        queries = []
        for path in args.dashboards:
            queries.extend(extract(load_dashboard(path), overrides, args.rate_interval, args.interval,
                                   args.range_, args.include_variables, source=path))
    except DashboardError as e:
        print(f"extract_queries: {e}", file=sys.stderr)
        return 2
    if args.format == "json":
        json.dump(queries, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for query in queries:
            print(" ".join(query["expr"].split()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
