#!/usr/bin/env python3
"""Checks Grafana provisioning files (data sources and dashboard providers).

A data source file needs `apiVersion: 1` and `datasources:` entries with a name,
a uid, type `prometheus`, access `proxy` and an http(s) URL, at most one of them
the default. A dashboard file needs `apiVersion: 1` and `providers:` entries with
a name, type `file` and an absolute `options.path`. These are the keys a stock
Grafana reads from /etc/grafana/provisioning/{datasources,dashboards}/.

Usage: check_provisioning.py FILE.yaml...
Prints one line per problem and exits 1 if there is any.
"""

import re
import sys

import yaml

_UID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def check_datasources(path, entries, problems):
    defaults = 0
    for i, ds in enumerate(entries):
        where = f"{path}: datasources[{i}]"
        if not isinstance(ds, dict):
            problems.append(f"{where}: is not a mapping")
            continue
        if not ds.get("name"):
            problems.append(f"{where}: has no name")
        if not isinstance(ds.get("uid"), str) or not _UID.match(ds["uid"]):
            problems.append(f"{where}: uid must be 1-40 letters, digits, '-' or '_'")
        if ds.get("type") != "prometheus":
            problems.append(f"{where}: type is {ds.get('type')!r}, the dashboards need 'prometheus'")
        if ds.get("access") != "proxy":
            problems.append(f"{where}: access is {ds.get('access')!r}, should be 'proxy'")
        if not re.match(r"^https?://[^/\s]+", str(ds.get("url", ""))):
            problems.append(f"{where}: url {ds.get('url')!r} is not an http(s) URL")
        defaults += bool(ds.get("isDefault"))
    if defaults > 1:
        problems.append(f"{path}: {defaults} data sources are marked isDefault, Grafana allows one")


def check_providers(path, entries, problems):
    for i, provider in enumerate(entries):
        where = f"{path}: providers[{i}]"
        if not isinstance(provider, dict):
            problems.append(f"{where}: is not a mapping")
            continue
        if not provider.get("name"):
            problems.append(f"{where}: has no name")
        if provider.get("type") != "file":
            problems.append(f"{where}: type is {provider.get('type')!r}, must be 'file'")
        dashboards_path = (provider.get("options") or {}).get("path")
        if not isinstance(dashboards_path, str) or not dashboards_path.startswith("/"):
            problems.append(f"{where}: options.path {dashboards_path!r} must be an absolute path")


def check(path):
    problems = []
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        return [f"{path}: cannot read: {e}"]
    if not isinstance(doc, dict):
        return [f"{path}: the top level is not a mapping"]
    if doc.get("apiVersion") != 1:
        problems.append(f"{path}: apiVersion is {doc.get('apiVersion')!r}, must be 1")
    if isinstance(doc.get("datasources"), list) and doc["datasources"]:
        check_datasources(path, doc["datasources"], problems)
    elif isinstance(doc.get("providers"), list) and doc["providers"]:
        check_providers(path, doc["providers"], problems)
    else:
        problems.append(f"{path}: has neither a 'datasources' nor a 'providers' list")
    return problems


def main():
    paths = sys.argv[1:]
    if not paths:
        print(__doc__)
        return 2
    problems = [p for path in paths for p in check(path)]
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"check_provisioning: {len(paths)} file(s) pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
