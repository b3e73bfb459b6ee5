#!/usr/bin/env python3
"""Checks of the Helm chart in helm/leakwatch, without helm (Debian has none).

The chart is rendered by tests/helm/render (helm-render: Go's text/template
with sprig, as helm renders). Values are validated against the chart's
values.schema.json first, as helm does. Rendered Prometheus Operator objects
are validated against the operator's own CRD schemas (tests/helm/schemas,
pinned, see SOURCES.md); ConfigMaps and every object's metadata against
Kubernetes' naming and label rules; the PrometheusRule's rules with promtool
(check rules, and alerts/tests/*.yaml run against the rendered rules); the
rendered leakwatch.yaml with leakwatch's own config loader; the judge's Deployment, Service and ServiceMonitor with
structural checks (selectors, ports, mounts) and by running the real
leakwatch-judge with the rendered command line. A golden file pins
the full output of one values file (UPDATE_GOLDEN=1 rewrites it). Where a
`helm` binary is on PATH, `helm lint` and `helm template` run too.

Usage: chart_test.py --repo DIR --renderer BIN --promtool BIN --trend BIN
                     --judge BIN [unittest args...]
"""

import argparse
import base64
import copy
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

import jsonschema
import yaml

ARGS = None
CRDS = "monitoring.coreos.com/v1"

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def chart_dir():
    return os.path.join(ARGS.repo, "helm", "leakwatch")


def here():
    return os.path.dirname(os.path.abspath(__file__))


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class RenderError(Exception):
    pass


def render(values=None, api_versions=(CRDS,), sets=(), name="lw", notes=False, validate=True, chart=None):
    """Renders the chart with VALUES (a dict) merged over values.yaml.

    Returns the list of rendered objects (or NOTES.txt's text); raises
    RenderError with helm-render's message when rendering fails.
    """
    with tempfile.TemporaryDirectory() as tmp:
        args = [ARGS.renderer, "--name", name, "--namespace", "shop"]
        for v in api_versions:
            args += ["--api-versions", v]
        if values is not None:
            path = os.path.join(tmp, "values.yaml")
            with open(path, "w", encoding="utf-8") as f:
                yaml.safe_dump(values, f)
            args += ["-f", path]
        for s in sets:
            args += ["--set", s]
        if notes:
            args.append("--notes")
        args.append(chart or chart_dir())
        if validate:
            validate_values(values or {})
        result = subprocess.run(args, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RenderError(result.stderr.strip())
        if notes:
            return result.stdout
        return [d for d in yaml.safe_load_all(result.stdout) if d is not None]


def merged_values(overrides):
    with open(os.path.join(chart_dir(), "values.yaml"), encoding="utf-8") as f:
        values = yaml.safe_load(f)

    def merge(dst, src):
        for k, v in src.items():
            if v is None:
                dst.pop(k, None)
            elif isinstance(v, dict) and isinstance(dst.get(k), dict):
                merge(dst[k], v)
            else:
                dst[k] = v
        return dst

    return merge(values, copy.deepcopy(overrides))


def validate_values(overrides):
    """What helm does before rendering: the merged values against the schema."""
    schema = load_json(os.path.join(chart_dir(), "values.schema.json"))
    jsonschema.validate(merged_values(overrides), schema)


def schema_errors(overrides):
    schema = load_json(os.path.join(chart_dir(), "values.schema.json"))
    validator = jsonschema.Draft7Validator(schema)
    return [
        "/".join(str(p) for p in e.absolute_path) + ": " + e.message
        for e in validator.iter_errors(merged_values(overrides))
    ]


def by_kind(objects):
    out = {}
    for o in objects:
        out.setdefault(o["kind"], []).append(o)
    return out


EVERYTHING = {
    "serviceMonitor": {
        "enabled": True,
        "selector": {"matchLabels": {"app": "checkout"}},
        "additionalLabels": {"release": "kube-prometheus-stack"},
    },
    "podMonitor": {
        "enabled": True,
        "selector": {"matchLabels": {"app": "checkout"}},
        "additionalLabels": {"release": "kube-prometheus-stack"},
    },
    "prometheusRule": {"enabled": True, "additionalLabels": {"release": "kube-prometheus-stack"}},
    "dashboards": {"enabled": True},
    "leakwatchConfig": {"enabled": True},
    "judge": {
        "enabled": True,
        "image": {"repository": "registry.example/leakwatch-judge"},
        "prometheusUrl": "http://prometheus-operated.monitoring:9090",
        "serviceMonitor": {"additionalLabels": {"release": "kube-prometheus-stack"}},
    },
}
JUDGE_NAME = "lw-leakwatch-judge"
FLEET_ALERTS = {"LeakwatchFleetSiteLeakSuspected", "LeakwatchFleetTaskLeakSuspected",
                "LeakwatchJudgeVerdictsStale", "LeakwatchJudgeDown"}


def named(objects, kind, name):
    """The rendered object of `kind` named `name`."""
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{len(found)} {kind} named {name}"
    return found[0]


def shipped_rules():
    with open(os.path.join(ARGS.repo, "alerts", "leakwatch-rules.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def alerts_of(groups):
    return {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}


def pruned_fields(obj, schema, path=""):
    """Fields of OBJ that the API server would drop: the CRD schemas do not
    reject unknown fields, they prune them (structural schemas), so a
    misspelt field in a template would vanish silently. metadata is the
    API server's own and is not described by a CRD."""
    out = []
    if isinstance(obj, dict) and schema.get("type") == "object":
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        if schema.get("x-kubernetes-preserve-unknown-fields") or (props is None and extra is None):
            return out
        for key, value in obj.items():
            if path == "" and key in ("apiVersion", "kind", "metadata"):
                continue
            if props is not None and key in props:
                out += pruned_fields(value, props[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                out += pruned_fields(value, extra, f"{path}.{key}")
            elif extra is not True:
                out.append(f"{path}.{key}")
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for i, value in enumerate(obj):
            out += pruned_fields(value, schema["items"], f"{path}[{i}]")
    return out


def check_metadata(test, obj):
    meta = obj["metadata"]
    name = meta["name"]
    test.assertLessEqual(len(name), 253, name)
    test.assertRegex(name, DNS_SUBDOMAIN)
    test.assertRegex(meta["namespace"], DNS_LABEL)
    for key, value in meta.get("labels", {}).items():
        test.assertIsInstance(value, str, f"label {key} of {name} must be a string")
        prefix, _, label = key.rpartition("/")
        test.assertLessEqual(len(label), 63, key)
        test.assertRegex(label, LABEL_NAME, f"label key {key} of {name}")
        if prefix:
            test.assertRegex(prefix, DNS_SUBDOMAIN, key)
        test.assertLessEqual(len(value), 63, f"label {key}={value}")
        if value:
            test.assertRegex(value, LABEL_NAME, f"label {key}={value} of {name}")
    for key, value in meta.get("annotations", {}).items():
        test.assertIsInstance(value, str, f"annotation {key} of {name}")


class ChartValues(unittest.TestCase):
    def test_values_yaml_matches_its_schema(self):
        schema = load_json(os.path.join(chart_dir(), "values.schema.json"))
        jsonschema.Draft7Validator.check_schema(schema)
        validate_values({})

    def test_schema_names_what_is_wrong(self):
        cases = [
            ({"serviceMonitr": {"enabled": True}}, "'serviceMonitr' was unexpected"),
            ({"serviceMonitor": {"interval": "30 seconds"}}, "serviceMonitor/interval: '30 seconds' does not match"),
            ({"podMonitor": {"enabled": "yes"}}, "podMonitor/enabled: 'yes' is not of type 'boolean'"),
            ({"prometheusRule": {"additionalLabels": {"tier": 1}}}, "prometheusRule/additionalLabels/tier: 1 is not of type 'string'"),
            ({"prometheusRule": {"disabledAlerts": ["up"]}}, "prometheusRule/disabledAlerts/0: 'up' does not match"),
            ({"prometheusRule": {"runbookUrl": "https://wiki/runbook#x"}}, "prometheusRule/runbookUrl"),
            ({"serviceMonitor": {"scheme": "ftp"}}, "serviceMonitor/scheme: 'ftp' is not one of"),
            ({"serviceMonitor": {"selector": {"matchExpressions": [{"key": "a", "operator": "Equals"}]}}},
             "serviceMonitor/selector/matchExpressions/0/operator: 'Equals' is not one of"),
            ({"leakwatchConfig": {"config": {"exporterr": {}}}}, "leakwatchConfig/config: 'exporterr' is not one of"),
            ({"dashboards": {"label": ""}}, "dashboards/label: '' is too short"),
            ({"prometheusRule": {"threadLimit": "4k"}}, "prometheusRule/threadLimit: '4k' is not of type 'integer'"),
            ({"prometheusRule": {"stuckTasksThreshold": 0}}, "prometheusRule/stuckTasksThreshold: 0 is less than the minimum of 1"),
            ({"prometheusRule": {"stuckTasksIgnoredSites": ["a`b"]}}, "prometheusRule/stuckTasksIgnoredSites/0: 'a`b' does not match"),
            ({"judge": {"enabled": True, "prometheusUrl": "http://p:9090"}}, "judge/image/repository: '' is too short"),
            ({"judge": {"enabled": True, "image": {"repository": "r"}}}, "judge/prometheusUrl: '' is too short"),
            ({"judge": {"prometheusUrl": "prometheus:9090"}}, "judge/prometheusUrl: 'prometheus:9090' does not match"),
            ({"judge": {"prometheusUrl": "http://p:9090/?x=1"}}, "judge/prometheusUrl: 'http://p:9090/?x=1' does not match"),
            ({"judge": {"interval": "1 minute"}}, "judge/interval: '1 minute' does not match"),
            ({"judge": {"lookback": "2"}}, "judge/lookback: '2' does not match"),
            ({"judge": {"groupBy": []}}, "judge/groupBy: [] is too short"),
            ({"judge": {"groupBy": ["app.kubernetes.io/name"]}}, "judge/groupBy/0: 'app.kubernetes.io/name' does not match"),
            ({"judge": {"selector": 'namespace="shop"'}}, "judge/selector: 'namespace=\"shop\"' does not match"),
            ({"judge": {"headers": ["X-Scope-OrgID shop"]}}, "judge/headers/0: 'X-Scope-OrgID shop' does not match"),
            ({"judge": {"headers": ["X-Scope-OrgID: a\nb"]}}, "judge/headers/0"),
            ({"judge": {"replicas": -1}}, "judge/replicas: -1 is less than the minimum of 0"),
            ({"judge": {"port": 70000}}, "judge/port: 70000 is greater than the maximum of 65535"),
            ({"judge": {"image": {"digest": "latest"}}}, "judge/image/digest: 'latest' does not match"),
            ({"judge": {"image": {"pullPolicy": "always"}}}, "judge/image/pullPolicy: 'always' is not one of"),
            ({"judge": {"auth": {"bearerToken": {"secretName": "Prom_Token"}}}},
             "judge/auth/bearerToken/secretName: 'Prom_Token' does not match"),
            ({"judge": {"auth": {"basicAuth": {"username": "a:b"}}}}, "judge/auth/basicAuth/username: 'a:b' does not match"),
            ({"judge": {"ca": {"key": "certs/ca.crt"}}}, "judge/ca/key: 'certs/ca.crt' does not match"),
            ({"judge": {"extraArgs": ["threads=4"]}}, "judge/extraArgs/0: 'threads=4' does not match"),
            ({"judge": {"serviceMonitor": {"honorLabels": False}}}, "judge/serviceMonitor: Additional properties"),
            ({"judge": {"resources": {"limit": {"memory": "1Gi"}}}}, "judge/resources: Additional properties"),
        ]
        for overrides, expected in cases:
            with self.subTest(overrides=overrides):
                errors = schema_errors(overrides)
                self.assertTrue(any(expected in e for e in errors), f"{errors} lacks {expected!r}")


class ChartRender(unittest.TestCase):
    def test_defaults_create_nothing_and_say_so(self):
        self.assertEqual(render(), [])
        self.assertIn("every part is off", render(notes=True))

    def test_operator_objects_wait_for_the_operator_crds(self):
        objects = by_kind(render(EVERYTHING, api_versions=()))
        self.assertEqual(sorted(objects), ["ConfigMap", "Deployment", "Service"])
        self.assertEqual(len(objects["ConfigMap"]), 2)
        notes = render(EVERYTHING, api_versions=(), notes=True)
        for part in ("serviceMonitor", "podMonitor", "prometheusRule"):
            self.assertIn(f"{part}: NOT created", notes)
        self.assertIn("No ServiceMonitor: scrape port metrics (9466) of the Service", notes)
        self.assertIn("--api-versions monitoring.coreos.com/v1", notes)

    def test_operator_objects_match_the_operator_crd_schemas(self):
        objects = by_kind(render(EVERYTHING))
        self.assertEqual(sorted(objects), ["ConfigMap", "Deployment", "PodMonitor", "PrometheusRule", "Service",
                                           "ServiceMonitor"])
        self.assertEqual(sorted(o["metadata"]["name"] for o in objects["ServiceMonitor"]), ["lw-leakwatch", JUDGE_NAME])
        for kind, schema_file in (
            ("ServiceMonitor", "servicemonitor.json"),
            ("PodMonitor", "podmonitor.json"),
            ("PrometheusRule", "prometheusrule.json"),
        ):
            schema = load_json(os.path.join(here(), "schemas", schema_file))
            for obj in objects[kind]:
                with self.subTest(kind=kind):
                    self.assertEqual(obj["apiVersion"], CRDS)
                    jsonschema.validate(obj, schema)
                    self.assertEqual(pruned_fields(obj, schema), [], "fields the API server would drop")
        for objs in objects.values():
            for obj in objs:
                check_metadata(self, obj)

    def test_crd_schemas_reject_a_broken_monitor(self):
        # The pinned schemas must be able to fail: a monitor with a bad
        # interval and endpoints that are not a list.
        schema = load_json(os.path.join(here(), "schemas", "servicemonitor.json"))
        sm = named(render(EVERYTHING), "ServiceMonitor", "lw-leakwatch")
        broken = copy.deepcopy(sm)
        broken["spec"]["endpoints"] = "metrics"
        with self.assertRaises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)
        # A misspelt field validates but would be pruned; the check sees it.
        misspelt = copy.deepcopy(sm)
        misspelt["spec"]["endpoints"][0]["scrapeTimout"] = "5s"
        misspelt["spec"]["jobLabels"] = "app"
        self.assertEqual(pruned_fields(misspelt, schema), [".spec.endpoints[0].scrapeTimout", ".spec.jobLabels"])

    def test_monitors_scrape_the_selected_services_and_pods(self):
        values = copy.deepcopy(EVERYTHING)
        values["serviceMonitor"].update(
            {"port": "lw-metrics", "interval": "15s", "scrapeTimeout": "5s", "jobLabel": "app",
             "targetLabels": ["team"], "namespaceSelector": {"any": True},
             "metricRelabelings": [{"action": "drop", "sourceLabels": ["__name__"], "regex": "leakwatch_build_info"}]})
        rendered = render(values)
        objects = by_kind(rendered)
        sm = named(rendered, "ServiceMonitor", "lw-leakwatch")
        self.assertEqual(sm["spec"]["selector"], {"matchLabels": {"app": "checkout"}})
        self.assertEqual(sm["spec"]["namespaceSelector"], {"any": True})
        self.assertEqual(sm["spec"]["jobLabel"], "app")
        self.assertEqual(sm["spec"]["targetLabels"], ["team"])
        self.assertEqual(
            sm["spec"]["endpoints"],
            [{"port": "lw-metrics", "path": "/metrics", "scheme": "http", "interval": "15s",
              "scrapeTimeout": "5s",
              "metricRelabelings": [{"action": "drop", "sourceLabels": ["__name__"], "regex": "leakwatch_build_info"}]}])
        pm = objects["PodMonitor"][0]
        self.assertEqual(pm["spec"]["podMetricsEndpoints"][0]["port"], "metrics")
        self.assertNotIn("namespaceSelector", pm["spec"])

    def test_a_monitor_without_a_selector_is_an_error_naming_the_key(self):
        for part in ("serviceMonitor", "podMonitor"):
            with self.subTest(part=part):
                with self.assertRaises(RenderError) as e:
                    render({part: {"enabled": True}})
                self.assertIn(f"{part}.selector is required", str(e.exception))

    def test_every_object_carries_the_selector_labels(self):
        # kube-prometheus-stack selects monitors and rules by its release
        # label; commonLabels reach every object.
        values = copy.deepcopy(EVERYTHING)
        values["commonLabels"] = {"team": "payments"}
        for obj in render(values):
            labels = obj["metadata"]["labels"]
            self.assertEqual(labels["team"], "payments")
            self.assertEqual(labels["app.kubernetes.io/name"], "leakwatch")
            self.assertEqual(labels["app.kubernetes.io/instance"], "lw")
            if obj["apiVersion"] == CRDS:
                self.assertEqual(labels["release"], "kube-prometheus-stack", obj["kind"])

    def test_names_fit_kubernetes_limits(self):
        long_release = "a-release-name-that-is-quite-long-" + "x" * 40
        for obj in render(EVERYTHING, name=long_release[:53]):
            check_metadata(self, obj)
        names = {o["metadata"]["name"] for o in render(dict(EVERYTHING, fullnameOverride="checkout-lw"))}
        self.assertEqual(names, {"checkout-lw", "checkout-lw-dashboards", "checkout-lw-config", "checkout-lw-judge"})
        names = {o["metadata"]["name"] for o in render(EVERYTHING, name="leakwatch-prod")}
        self.assertIn("leakwatch-prod", names)

    def test_namespaces_follow_the_release_unless_set(self):
        values = copy.deepcopy(EVERYTHING)
        values["prometheusRule"]["namespace"] = "monitoring"
        for obj in render(values):
            expected = "monitoring" if obj["kind"] == "PrometheusRule" else "shop"
            self.assertEqual(obj["metadata"]["namespace"], expected, obj["kind"])


class ChartRules(unittest.TestCase):
    def rule_groups(self, values):
        rules = by_kind(render(values))["PrometheusRule"]
        self.assertEqual(len(rules), 1)
        return rules[0]["spec"]["groups"]

    def promtool(self, *args):
        result = subprocess.run([ARGS.promtool, *args], capture_output=True, text=True, timeout=300)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return result.stdout

    def test_rules_are_the_shipped_rules_and_pass_their_unit_tests(self):
        groups = self.rule_groups(EVERYTHING)
        self.assertEqual(groups, shipped_rules()["groups"])
        # The judge's alerts come with the rest: the chart includes the whole file.
        self.assertLessEqual(FLEET_ALERTS, set(alerts_of(groups)))
        with tempfile.TemporaryDirectory() as tmp:
            rules = os.path.join(tmp, "leakwatch-rules.yaml")
            with open(rules, "w", encoding="utf-8") as f:
                yaml.safe_dump({"groups": groups}, f)
            self.promtool("check", "rules", rules)
            # The alert unit tests of alerts/tests, pointed at the rendered rules.
            tests_dir = os.path.join(ARGS.repo, "alerts", "tests")
            for name in sorted(os.listdir(tests_dir)):
                if not name.endswith(".yaml"):
                    continue
                with open(os.path.join(tests_dir, name), encoding="utf-8") as f:
                    test = yaml.safe_load(f)
                test["rule_files"] = [rules]
                path = os.path.join(tmp, name)
                with open(path, "w", encoding="utf-8") as f:
                    yaml.safe_dump(test, f)
                with self.subTest(test=name):
                    self.promtool("test", "rules", path)

    def test_alerts_take_the_team_labels_runbook_and_exclusions(self):
        values = copy.deepcopy(EVERYTHING)
        values["prometheusRule"].update({
            "additionalAlertLabels": {"team": "payments", "severity": "page-everyone"},
            "additionalAlertAnnotations": {"dashboard": "https://grafana.example/d/leakwatch-overview"},
            "disabledAlerts": ["LeakwatchTaskCountGrowing"],
            "runbookUrl": "https://wiki.example/leakwatch-runbook",
        })
        groups = self.rule_groups(values)
        shipped = alerts_of(shipped_rules()["groups"])
        alerts = alerts_of(groups)
        self.assertEqual(set(alerts), set(shipped) - {"LeakwatchTaskCountGrowing"})
        for name, rule in alerts.items():
            with self.subTest(alert=name):
                self.assertEqual(rule["labels"]["team"], "payments")
                # An alert's own severity decides paging; it is kept.
                self.assertEqual(rule["labels"]["severity"], shipped[name]["labels"]["severity"])
                self.assertEqual(rule["annotations"]["dashboard"], "https://grafana.example/d/leakwatch-overview")
                anchor = shipped[name]["annotations"]["runbook_url"].split("#", 1)[1]
                self.assertEqual(rule["annotations"]["runbook_url"], "https://wiki.example/leakwatch-runbook#" + anchor)
                self.assertEqual(rule["expr"], shipped[name]["expr"])
                self.assertEqual(rule["annotations"]["summary"], shipped[name]["annotations"]["summary"])
        # Recording rules are untouched.
        records = [r for g in groups for r in g["rules"] if "record" in r]
        self.assertEqual(records, [r for g in shipped_rules()["groups"] for r in g["rules"] if "record" in r])
        with tempfile.TemporaryDirectory() as tmp:
            rules = os.path.join(tmp, "rules.yaml")
            with open(rules, "w", encoding="utf-8") as f:
                yaml.safe_dump({"groups": groups}, f)
            self.promtool("check", "rules", rules)

    def test_tunables_reach_the_rules_and_promtool_accepts_them(self):
        values = copy.deepcopy(EVERYTHING)
        values["prometheusRule"].update({
            "threadLimit": 32768,
            "stuckTasksThreshold": 50,
            "stuckTasksIgnoredSites": ["src/poll.cc:42", "Poller::Wait()+0x1c"],
            "taskCountGrowthThreshold": 100,
        })
        groups = self.rule_groups(values)
        records = {r["record"]: r for g in groups for r in g["rules"] if "record" in r}
        self.assertEqual(records["instance:leakwatch_os_threads_limit:or_default"]["expr"],
                         "leakwatch_os_threads_limit or 0 * leakwatch_os_threads + 32768")
        alerts = alerts_of(groups)
        self.assertEqual(alerts["LeakwatchTasksStuck"]["expr"],
                         r"leakwatch_stuck_tasks{site!~`src/poll\.cc:42|Poller::Wait\(\)\+0x1c`} >= 50")
        growing = alerts["LeakwatchTaskCountGrowing"]["expr"]
        self.assertEqual(growing.count("> 100\n"), 2)
        self.assertNotIn("> 20\n", growing)
        with tempfile.TemporaryDirectory() as tmp:
            rules = os.path.join(tmp, "rules.yaml")
            with open(rules, "w", encoding="utf-8") as f:
                yaml.safe_dump({"groups": groups}, f)
            self.promtool("check", "rules", rules)
            # The ignored sites are matched exactly, as labels, by Prometheus:
            # of three sites with 60 stuck tasks, only the one not ignored fires.
            def series(site, op):
                return {"series": f'leakwatch_stuck_tasks{{job="j",instance="i",site="{site}",op="{op}"}}',
                        "values": "60x30"}

            annotations = dict(alerts["LeakwatchTasksStuck"]["annotations"])
            annotations["description"] = ("60 tasks on i of job j have been blocked at src/poll.cc:420 "
                                          "(op mutex) for longer than tasks.stuck_after.")
            spec = {
                "rule_files": [rules],
                "evaluation_interval": "1m",
                "tests": [{
                    "interval": "1m",
                    "input_series": [series("src/poll.cc:42", "chan_recv"),
                                     series("Poller::Wait()+0x1c", "futex"),
                                     series("src/poll.cc:420", "mutex")],
                    "alert_rule_test": [{
                        "eval_time": "20m",
                        "alertname": "LeakwatchTasksStuck",
                        "exp_alerts": [{
                            "exp_labels": {"job": "j", "instance": "i", "site": "src/poll.cc:420",
                                           "op": "mutex", "severity": "warning"},
                            "exp_annotations": annotations,
                        }],
                    }],
                }],
            }
            test = os.path.join(tmp, "stuck_test.yaml")
            with open(test, "w", encoding="utf-8") as f:
                yaml.safe_dump(spec, f)
            self.promtool("test", "rules", test)

    def test_a_rule_file_the_tuning_does_not_recognise_fails_the_render(self):
        # The tunables edit the shipped expressions; if alerts/ changes them,
        # rendering must fail rather than ship an untuned rule.
        with tempfile.TemporaryDirectory() as tmp:
            chart = os.path.join(tmp, "leakwatch")
            shutil.copytree(chart_dir(), chart, symlinks=False)
            path = os.path.join(chart, "files", "leakwatch-rules.yaml")
            with open(path, encoding="utf-8") as f:
                text = f.read()
            self.assertIn("0 * leakwatch_os_threads + 4096", text)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text.replace("0 * leakwatch_os_threads + 4096", "0 * leakwatch_os_threads + 8192"))
            with self.assertRaises(RenderError) as e:
                render(EVERYTHING, chart=chart)
            self.assertIn("prometheusRule.threadLimit: the chart no longer recognises", str(e.exception))

    def test_disabling_an_alert_that_does_not_exist_names_the_alerts(self):
        values = copy.deepcopy(EVERYTHING)
        values["prometheusRule"]["disabledAlerts"] = ["LeakwatchTasksStuckk"]
        with self.assertRaises(RenderError) as e:
            render(values)
        message = str(e.exception)
        self.assertIn('prometheusRule.disabledAlerts: no alert named "LeakwatchTasksStuckk"', message)
        self.assertIn("LeakwatchTasksStuck,", message)


class ChartConfigMaps(unittest.TestCase):
    def configmap(self, values, suffix):
        for obj in render(values, api_versions=()):
            if obj["metadata"]["name"].endswith(suffix):
                return obj
        self.fail(f"no ConfigMap named *{suffix}")

    def test_dashboards_are_the_shipped_dashboards_for_the_sidecar(self):
        cm = self.configmap(EVERYTHING, "-dashboards")
        self.assertEqual(cm["metadata"]["labels"]["grafana_dashboard"], "1")
        shipped = sorted(f for f in os.listdir(os.path.join(ARGS.repo, "dashboards")) if f.endswith(".json"))
        self.assertEqual(sorted(cm["data"]), shipped)
        for name in shipped:
            self.assertRegex(name, CONFIGMAP_KEY)
            with open(os.path.join(ARGS.repo, "dashboards", name), encoding="utf-8") as f:
                self.assertEqual(cm["data"][name], f.read(), name)
        # A ConfigMap holds at most 1 MiB.
        self.assertLess(sum(len(v.encode()) for v in cm["data"].values()), 1 << 20)
        check_metadata(self, cm)

    def test_dashboard_label_and_folder_are_configurable(self):
        values = copy.deepcopy(EVERYTHING)
        values["dashboards"].update({"label": "grafana.com/dashboard", "labelValue": "leakwatch",
                                     "annotations": {"grafana_folder": "Leaks"}})
        cm = self.configmap(values, "-dashboards")
        self.assertEqual(cm["metadata"]["labels"]["grafana.com/dashboard"], "leakwatch")
        self.assertNotIn("grafana_dashboard", cm["metadata"]["labels"])
        self.assertEqual(cm["metadata"]["annotations"], {"grafana_folder": "Leaks"})
        check_metadata(self, cm)

    def leakwatch_accepts(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(text)
            f.flush()
            result = subprocess.run([ARGS.trend, "--config", f.name, "--print-params"],
                                    capture_output=True, text=True, timeout=60)
        return result

    def test_leakwatch_yaml_is_a_config_leakwatch_loads(self):
        values = copy.deepcopy(EVERYTHING)
        values["leakwatchConfig"]["config"] = {"detector": {"trend_window": "12h", "z_threshold": 2.5}}
        cm = self.configmap(values, "-config")
        text = cm["data"]["leakwatch.yaml"]
        config = yaml.safe_load(text)
        # The user's keys merge with the chart's default exporter address.
        self.assertEqual(config["exporter"], {"listen": "0.0.0.0:9464"})
        self.assertEqual(config["detector"], {"trend_window": "12h", "z_threshold": 2.5})
        result = self.leakwatch_accepts(text)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"trend_window\S*\s*[:=]?\s*(12h|43200)")
        check_metadata(self, cm)

    def test_leakwatch_names_a_bad_value_in_the_rendered_config(self):
        # The chart's schema checks only section names; the values inside are
        # leakwatch's to judge, and its loader names the bad key.
        values = copy.deepcopy(EVERYTHING)
        values["leakwatchConfig"]["config"] = {"detector": {"trend_window": "six hours"}}
        text = self.configmap(values, "-config")["data"]["leakwatch.yaml"]
        result = self.leakwatch_accepts(text)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("trend_window", result.stderr)


class RecordingQueryApi:
    """A loopback HTTP server that records each request's headers and answers
    400, which leakwatch-judge does not retry: its cycle fails at once, after
    showing what it sends."""

    def __init__(self):
        self.headers = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.headers.append(dict(self.headers))
                body = b'{"status":"error","errorType":"bad_data","error":"recorded"}'
                self.send_response(400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class ChartJudge(unittest.TestCase):
    def judge_objects(self, judge_values, api_versions=(CRDS,)):
        values = copy.deepcopy(EVERYTHING)
        values["judge"].update(judge_values)
        rendered = render(values, api_versions=api_versions)
        deployment = named(rendered, "Deployment", JUDGE_NAME)
        service = named(rendered, "Service", JUDGE_NAME)
        return rendered, deployment, service

    def test_deployment_service_and_monitor_select_each_other(self):
        rendered, deployment, service = self.judge_objects({"replicas": 2})
        monitor = named(rendered, "ServiceMonitor", JUDGE_NAME)
        spec = deployment["spec"]
        self.assertEqual(spec["replicas"], 2)
        pod_labels = spec["template"]["metadata"]["labels"]
        self.assertLessEqual(spec["selector"]["matchLabels"].items(), pod_labels.items())
        self.assertLessEqual(service["spec"]["selector"].items(), pod_labels.items())
        self.assertLessEqual(monitor["spec"]["selector"]["matchLabels"].items(),
                             service["metadata"]["labels"].items())
        # The selector must not pick the services' ServiceMonitor's targets, nor
        # another release's judge.
        self.assertEqual(pod_labels["app.kubernetes.io/component"], "judge")
        self.assertEqual(pod_labels["app.kubernetes.io/instance"], "lw")
        [container] = spec["template"]["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        [service_port] = service["spec"]["ports"]
        self.assertIn(service_port["targetPort"], ports)
        self.assertEqual(ports["metrics"], 9466)
        for probe in ("readinessProbe", "livenessProbe"):
            self.assertEqual(container[probe]["httpGet"], {"path": "/metrics", "port": "metrics"})
        [endpoint] = monitor["spec"]["endpoints"]
        self.assertEqual(endpoint["port"], service_port["name"])
        self.assertIs(endpoint["honorLabels"], True)
        self.assertEqual(endpoint["path"], "/metrics")
        self.assertIn("--listen=0.0.0.0:9466", container["args"])
        self.assertEqual(monitor["metadata"]["labels"]["release"], "kube-prometheus-stack")
        # Hardened as the values say: non-root, read-only, no capabilities,
        # no Kubernetes API token.
        pod = spec["template"]["spec"]
        self.assertIs(pod["automountServiceAccountToken"], False)
        self.assertIs(pod["securityContext"]["runAsNonRoot"], True)
        self.assertEqual(container["securityContext"]["capabilities"], {"drop": ["ALL"]})
        self.assertIs(container["securityContext"]["readOnlyRootFilesystem"], True)
        self.assertEqual(container["image"], "registry.example/leakwatch-judge:0.1.0")
        for obj in rendered:
            check_metadata(self, obj)

    def test_monitor_can_be_left_to_the_user(self):
        rendered, _, _ = self.judge_objects({"serviceMonitor": {"enabled": False}})
        self.assertEqual([o["metadata"]["name"] for o in rendered if o["kind"] == "ServiceMonitor"], ["lw-leakwatch"])

    def test_digest_pins_the_image(self):
        digest = "sha256:" + "ab" * 32
        _, deployment, _ = self.judge_objects({"image": {"repository": "r/judge", "tag": "1.2", "digest": digest}})
        self.assertEqual(deployment["spec"]["template"]["spec"]["containers"][0]["image"], f"r/judge@{digest}")

    def mounted_files(self, deployment):
        """{path in the container: (volume kind, object name, key)} of every
        file the judge's volumes project."""
        pod = deployment["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        out = {}
        for mount in pod["containers"][0].get("volumeMounts", []):
            volume = volumes[mount["name"]]
            self.assertIs(mount["readOnly"], True)
            kind = "secret" if "secret" in volume else "configMap"
            source = volume[kind]
            name = source.get("secretName") or source.get("name")
            for item in source["items"]:
                out[os.path.join(mount["mountPath"], item["path"])] = (kind, name, item["key"])
        return out

    def run_rendered_judge(self, deployment, files):
        """Runs the real leakwatch-judge with the rendered command line, --once,
        each mounted file materialised under a temporary root from `files`
        ({(kind, name, key): content}). Returns the finished process."""
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(container["command"], ["leakwatch-judge"])
        with tempfile.TemporaryDirectory() as root:
            args = []
            mounted = self.mounted_files(deployment)
            for arg in container["args"]:
                for path in mounted:
                    arg = arg.replace(path, root + path)
                args.append(arg)
            for path, source in mounted.items():
                os.makedirs(os.path.dirname(root + path), exist_ok=True)
                with open(root + path, "w", encoding="utf-8") as f:
                    f.write(files[source])
            return subprocess.run([ARGS.judge, *args, "--once", "--query-attempts=1"],
                                  capture_output=True, text=True, timeout=60)

    def test_rendered_flags_reach_the_judge_with_the_secret_token_and_tenant(self):
        api = RecordingQueryApi()
        try:
            _, deployment, _ = self.judge_objects({
                "prometheusUrl": api.url,
                "headers": ["X-Scope-OrgID: shop"],
                "selector": '{namespace="shop"}',
                "groupBy": ["namespace", "app"],
                "auth": {"bearerToken": {"secretName": "prom-token", "key": "token"}},
                "ca": {"configMapName": "prom-ca", "key": "ca.crt"},
                "extraArgs": ["--threads=1"],
            })
            self.assertEqual(set(self.mounted_files(deployment).values()),
                             {("secret", "prom-token", "token"), ("configMap", "prom-ca", "ca.crt")})
            result = self.run_rendered_judge(deployment, {("secret", "prom-token", "token"): "s3cret\n",
                                                          ("configMap", "prom-ca", "ca.crt"): "unused over http"})
            # Exit 1: the flags parsed and the cycle ran (and failed on the 400).
            self.assertEqual(result.returncode, 1, result.stderr)
            self.assertTrue(api.headers, result.stderr)
            self.assertEqual(api.headers[0]["Authorization"], "Bearer s3cret")
            self.assertEqual(api.headers[0]["X-Scope-OrgID"], "shop")
        finally:
            api.close()

    def test_rendered_basic_auth_reaches_the_judge(self):
        api = RecordingQueryApi()
        try:
            _, deployment, _ = self.judge_objects({
                "prometheusUrl": api.url + "/prometheus",
                "auth": {"basicAuth": {"username": "judge", "passwordSecretName": "prom-basic",
                                       "passwordKey": "pw"}},
                "ca": {"secretName": "prom-ca", "key": "bundle.pem"},
            })
            self.assertEqual(set(self.mounted_files(deployment).values()),
                             {("secret", "prom-basic", "pw"), ("secret", "prom-ca", "bundle.pem")})
            result = self.run_rendered_judge(deployment, {("secret", "prom-basic", "pw"): "pa55",
                                                          ("secret", "prom-ca", "bundle.pem"): ""})
            self.assertEqual(result.returncode, 1, result.stderr)
            self.assertTrue(api.headers, result.stderr)
            expected = "Basic " + base64.b64encode(b"judge:pa55").decode()
            self.assertEqual(api.headers[0]["Authorization"], expected)
        finally:
            api.close()

    def test_the_judge_names_a_value_it_rejects(self):
        # The schema checks the form of a duration; the judge decides what
        # makes sense (a zero interval), and its usage error names the flag.
        _, deployment, _ = self.judge_objects({"interval": "0s"})
        result = self.run_rendered_judge(deployment, {})
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("--interval must be positive", result.stderr)

    def test_conflicting_auth_and_ca_fail_naming_the_key(self):
        cases = [
            ({"auth": {"bearerToken": {"secretName": "t"}, "basicAuth": {"username": "u", "passwordSecretName": "p"}}},
             "judge.auth: set bearerToken or basicAuth, not both"),
            ({"auth": {"basicAuth": {"username": "u"}}}, "judge.auth.basicAuth: username and passwordSecretName go together"),
            ({"auth": {"basicAuth": {"passwordSecretName": "p"}}},
             "judge.auth.basicAuth: username and passwordSecretName go together"),
            ({"ca": {"configMapName": "c", "secretName": "s"}}, "judge.ca: set configMapName or secretName, not both"),
            ({"extraArgs": ["--threads=2", "--group_by=app"]},
             "judge.extraArgs: --group_by=app is set by the chart; use judge.groupBy"),
            ({"extraArgs": ["--header=X-Scope-OrgID: b"]},
             "judge.extraArgs: --header=X-Scope-OrgID: b is set by the chart; use judge.headers"),
            ({"extraArgs": ["--once"]}, "judge.extraArgs: --once would stop the service after one cycle"),
        ]
        for judge_values, message in cases:
            with self.subTest(values=judge_values):
                with self.assertRaises(RenderError) as e:
                    self.judge_objects(judge_values)
                self.assertIn(message, str(e.exception))
        # Without the schema (helm --skip-schema-validation), the template
        # still names a missing image or URL.
        for key, message in (("image", "judge.image.repository is required"),
                             ("prometheusUrl", "judge.prometheusUrl is required")):
            with self.subTest(missing=key):
                values = copy.deepcopy(EVERYTHING)
                values["judge"].pop(key)
                with self.assertRaises(RenderError) as e:
                    render(values, validate=False)
                self.assertIn(message, str(e.exception))

    def test_notes_name_the_judge(self):
        notes = render(EVERYTHING, notes=True)
        self.assertIn(f"judge: Deployment and Service {JUDGE_NAME} (1 replica(s))", notes)
        self.assertIn("Its ServiceMonitor scrapes it with honorLabels: true.", notes)


class ChartFiles(unittest.TestCase):
    def test_chart_links_the_shipped_rules_and_dashboards(self):
        for link, target in (
            ("files/leakwatch-rules.yaml", "alerts/leakwatch-rules.yaml"),
            ("dashboards/leakwatch-overview.json", "dashboards/leakwatch-overview.json"),
            ("dashboards/leakwatch-site.json", "dashboards/leakwatch-site.json"),
            ("dashboards/leakwatch-fleet.json", "dashboards/leakwatch-fleet.json"),
        ):
            path = os.path.join(chart_dir(), link)
            self.assertTrue(os.path.islink(path), f"{link} should link {target}, not copy it")
            self.assertEqual(os.path.realpath(path), os.path.realpath(os.path.join(ARGS.repo, target)))
        shipped = {f for f in os.listdir(os.path.join(ARGS.repo, "dashboards")) if f.endswith(".json")}
        linked = set(os.listdir(os.path.join(chart_dir(), "dashboards")))
        self.assertEqual(linked, shipped, "every dashboard in dashboards/ is linked into the chart")

    def test_every_value_is_documented_in_the_chart_readme(self):
        with open(os.path.join(chart_dir(), "values.yaml"), encoding="utf-8") as f:
            values = yaml.safe_load(f)
        with open(os.path.join(chart_dir(), "README.md"), encoding="utf-8") as f:
            readme = f.read()

        def keys(d, prefix=""):
            for k, v in d.items():
                # Values passed through whole are documented as one key.
                if isinstance(v, dict) and v and prefix + k not in (
                        "leakwatchConfig.config", "judge.resources", "judge.podSecurityContext",
                        "judge.securityContext"):
                    yield from keys(v, prefix + k + ".")
                else:
                    yield prefix + k

        documented = set(re.findall(r"^\| `([A-Za-z.*]+)` \|", readme, re.M))
        for key in keys(values):
            if key.startswith("podMonitor."):
                continue  # documented as podMonitor.* (as serviceMonitor)
            self.assertIn(key, documented, f"{key} is not in helm/leakwatch/README.md's values table")
        self.assertIn("podMonitor.*", documented)
        schema = load_json(os.path.join(chart_dir(), "values.schema.json"))
        def check_documented(node, prefix):
            # A key is documented itself, or else each of its sub-keys is.
            for key, sub in node.get("properties", {}).items():
                if prefix + key in documented:
                    continue
                self.assertIn("properties", sub, f"schema key {prefix + key} missing from the README")
                check_documented(sub, prefix + key + ".")

        for part in ("serviceMonitor", "prometheusRule", "dashboards", "leakwatchConfig", "judge"):
            check_documented(schema["properties"][part], part + ".")

    def test_golden_output(self):
        values_file = os.path.join(here(), "golden", "values.yaml")
        golden_file = os.path.join(here(), "golden", "rendered.yaml")
        with open(values_file, encoding="utf-8") as f:
            values = yaml.safe_load(f)
        validate_values(values)
        result = subprocess.run(
            [ARGS.renderer, "--name", "checkout", "--namespace", "shop", "--api-versions", CRDS,
             "-f", values_file, chart_dir()], capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        if os.environ.get("UPDATE_GOLDEN") == "1":
            with open(golden_file, "w", encoding="utf-8") as f:
                f.write(result.stdout)
        with open(golden_file, encoding="utf-8") as f:
            golden = f.read()
        self.assertEqual(result.stdout, golden,
                         "rendered output changed; if intended, rerun with UPDATE_GOLDEN=1 and review the diff")


@unittest.skipUnless(shutil.which("helm"), "no helm binary on PATH (Debian has none); helm-render covers rendering")
class WithHelm(unittest.TestCase):
    def test_helm_lint_and_template(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "values.yaml")
            with open(path, "w", encoding="utf-8") as f:
                yaml.safe_dump(EVERYTHING, f)
            for cmd in (["helm", "lint", "--strict", chart_dir(), "-f", path],
                        ["helm", "template", "lw", chart_dir(), "-f", path, "--api-versions", CRDS]):
                result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("--renderer", required=True)
    parser.add_argument("--promtool", required=True)
    parser.add_argument("--trend", required=True)
    parser.add_argument("--judge", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
