#!/usr/bin/env python3
"""Checks of the Helm chart in helm/leakwatch, without helm (Debian has none).

The chart is rendered by tests/helm/render (helm-render: Go's text/template
with sprig, as helm renders). Values are validated against the chart's
values.schema.json first, as helm does. Rendered Prometheus Operator objects
are validated against the operator's own CRD schemas (tests/helm/schemas,
pinned, see SOURCES.md); ConfigMaps and every object's metadata against
Kubernetes' naming and label rules; the PrometheusRule's rules with promtool
(check rules, and alerts/tests/*.yaml run against the rendered rules); the
rendered leakwatch.yaml with leakwatch's own config loader. A golden file pins
the full output of one values file (UPDATE_GOLDEN=1 rewrites it). Where a
`helm` binary is on PATH, `helm lint` and `helm template` run too.

Usage: chart_test.py --repo DIR --renderer BIN --promtool BIN --trend BIN
                     [unittest args...]
"""

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
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
}


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
        self.assertEqual(sorted(objects), ["ConfigMap"])
        self.assertEqual(len(objects["ConfigMap"]), 2)
        notes = render(EVERYTHING, api_versions=(), notes=True)
        for part in ("serviceMonitor", "podMonitor", "prometheusRule"):
            self.assertIn(f"{part}: NOT created", notes)
        self.assertIn("--api-versions monitoring.coreos.com/v1", notes)

    def test_operator_objects_match_the_operator_crd_schemas(self):
        objects = by_kind(render(EVERYTHING))
        self.assertEqual(sorted(objects), ["ConfigMap", "PodMonitor", "PrometheusRule", "ServiceMonitor"])
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
        sm = by_kind(render(EVERYTHING))["ServiceMonitor"][0]
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
        objects = by_kind(render(values))
        sm = objects["ServiceMonitor"][0]
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
            if obj["kind"] != "ConfigMap":
                self.assertEqual(labels["release"], "kube-prometheus-stack", obj["kind"])

    def test_names_fit_kubernetes_limits(self):
        long_release = "a-release-name-that-is-quite-long-" + "x" * 40
        for obj in render(EVERYTHING, name=long_release[:53]):
            check_metadata(self, obj)
        names = {o["metadata"]["name"] for o in render(dict(EVERYTHING, fullnameOverride="checkout-lw"))}
        self.assertEqual(names, {"checkout-lw", "checkout-lw-dashboards", "checkout-lw-config"})
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
                if isinstance(v, dict) and v and prefix + k != "leakwatchConfig.config":
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
        for part in ("serviceMonitor", "prometheusRule", "dashboards", "leakwatchConfig"):
            for key in schema["properties"][part]["properties"]:
                self.assertIn(f"{part}.{key}", documented, "schema key missing from the README")

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
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
