#!/usr/bin/env python3
"""Lints Grafana dashboards with the dashboard-linter rules, plus leakwatch's own.

grafana/dashboard-linter cannot be installed here (release binaries only), so
this re-implements its rule set for Prometheus dashboards:
  template-datasource-rule   a `datasource` variable of type datasource, label "Data source"
  template-job-rule          a `job` query variable on ${datasource}, labeled "Job", multi, allValue ".+"
  template-instance-rule     the same for `instance`
  template-on-time-change-reload   query variables refresh on time range change (2)
  panel-datasource-rule      every panel uses ${datasource}
  panel-title-description-rule     every panel has a title and a description
  panel-units-rule           every panel has a valid unit (and every unit override is valid)
  panel-no-targets-rule      every panel has queries
  target-rate-interval-rule  rate/irate/increase use [$__rate_interval]
  target-job-rule            every selector has job=~"$job"
  target-instance-rule       every selector has instance=~"$instance"
                             (leakwatch-judge's series: see below)
  target-counter-agg-rule    counters (_total, _count, _sum, _bucket) sit directly in rate/irate/increase
  uneditable-dashboard-rule  editable is false
and the rules of this project:
  classic JSON model with schemaVersion >= 42 (the current one), a uid that is
  unique across the dashboards given, unique panel ids, ${datasource} on every
  target and query variable, job and instance variables that include "All",
  unique refIds per panel, and data links to /d/<uid> that name an existing
  dashboard and set each of its variables that has no "All" (e.g. var-site).
leakwatch-judge's series are the one exception to the job and instance rules,
because their labels mean something else: a verdict's `instance` is the
judge's (scraped with honor_labels, it keeps the judged `job`), and its health
metrics carry the judge's own scrape job. So on a dashboard that has the
variables `judge_job` ("Judge job") and `judge` ("Judge"), built like job and
instance:
  a verdict (leakwatch_judge_*_leak_*) has job=~"$job" and instance=~"$judge";
  the judge's health (the other leakwatch_judge_* metrics, and `up` selected
  with job=~"$judge_job") has job=~"$judge_job" and instance=~"$judge";
and a judge series filtered by instance=~"$instance" is an error (it would
compare the judge's address with the services').
PromQL syntax is checked separately by check_queries_parse.py (promtool).

Usage: lint_dashboards.py DASHBOARD.json...
Prints one line per problem ("file: dashboard 'uid', panel N 'title': ...")
and exits 1 if there is any.
"""

import re
import sys
import urllib.parse

import extract_queries
import promql_scan

MIN_SCHEMA_VERSION = 42
DATASOURCE_REFS = ("$datasource", "${datasource}")
COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")
RATE_FUNCTIONS = ("rate", "irate", "increase")
QUERY_PANEL_TYPES = ("timeseries", "stat", "table", "heatmap", "gauge", "bargauge", "histogram", "statetimeline",
                     "piechart", "graph", "singlestat")
# grafana/dashboard-linter's list (from Grafana's valueFormats categories).
VALID_UNITS = set("""
none string short percent percentunit humidity dB hex0x hex sci locale pixel accMS2 accFS2 accG degree radian grad
arcmin arcsec areaM2 areaF2 areaMI2 flops mflops gflops tflops pflops eflops zflops yflops ppm conppb conngm3
conngNm3 conμgm3 conμgNm3 conmgm3 conmgNm3 congm3 congNm3 conmgdL conmmolL currencyUSD currencyGBP currencyEUR
currencyJPY currencyRUB currencyUAH currencyBRL currencyDKK currencyISK currencyNOK currencySEK currencyCZK
currencyCHF currencyPLN currencyBTC currencymBTC currencyμBTC currencyZAR currencyINR currencyKRW currencyIDR
currencyPHP currencyVND bytes decbytes bits decbits kbytes deckbytes mbytes decmbytes gbytes decgbytes tbytes
dectbytes pbytes decpbytes pps binBps Bps binbps bps KiBs Kibits KBs Kbits MiBs Mibits MBs Mbits GiBs Gibits GBs
Gbits TiBs Tibits TBs Tbits PiBs Pibits PBs Pbits dateTimeAsIso dateTimeAsIsoNoDateIfToday dateTimeAsUS
dateTimeAsUSNoDateIfToday dateTimeAsLocal dateTimeAsLocalNoDateIfToday dateTimeAsSystem dateTimeFromNow watt kwatt
megwatt gwatt mwatt Wm2 voltamp kvoltamp voltampreact kvoltampreact watth watthperkg kwatth kwattm amph kamph mamph
joule ev amp kamp mamp volt kvolt mvolt dBm ohm kohm Mohm farad µfarad nfarad pfarad ffarad henry mhenry µhenry
lumens flowgpm flowcms flowcfs flowcfm litreh flowlpm flowmlpm lux forceNm forcekNm forceN forcekN Hs KHs MHs GHs
THs PHs EHs massmg massg masslb masskg masst lengthmm lengthin lengthft lengthm lengthkm lengthmi pressurembar
pressurebar pressurekbar pressurepa pressurehpa pressurekpa pressurehg pressurepsi radbq radci radgy radrad radsv
radmsv radusv radrem radexpckg radr radsvh radmsvh radusvh rotrpm rothz rotrads rotdegs celsius fahrenheit kelvin
hertz ns µs ms s m h d dtdurationms dtdurations dthms dtdhms timeticks clockms clocks cps ops reqps rps wps iops cpm
opm rpm wpm velocityms velocitykmh velocitymph velocityknot mlitre litre m3 Nm3 dm3 gallons bool bool_yes_no
bool_on_off
""".split())
_UID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_DASHBOARD_LINK = re.compile(r"/d/([A-Za-z0-9_-]+)")
# Template variables the linter requires (name -> label); the judge's pair only
# on dashboards that show leakwatch-judge's series.
SERVICE_VARIABLES = {"job": "Job", "instance": "Instance"}
JUDGE_VARIABLES = {"judge_job": "Judge job", "judge": "Judge"}
_JUDGE_VERDICT = re.compile(r"^leakwatch_judge_(site|task)_leak_")


def expected_matchers(selector):
    """{label: variable} a selector must match with =~: the service's job and
    instance, or for leakwatch-judge's series the judge's (module docstring)."""
    metric = selector.metric or ""
    if _JUDGE_VERDICT.match(metric):
        return {"job": "$job", "instance": "$judge"}
    if metric.startswith("leakwatch_judge_") or selector.has_matcher("job", "=~", "$judge_job"):
        return {"job": "$judge_job", "instance": "$judge"}
    return {"job": "$job", "instance": "$instance"}


class Linter:
    """Collects problems over a set of dashboards (uids must be unique across it)."""

    def __init__(self):
        self.problems = []
        self.uids = {}
        self.pending_links = []  # (where, field, url, uid) checked once all dashboards are read

    def report(self, where, message):
        self.problems.append(f"{where}: {message}")

    # Dashboard level -------------------------------------------------------

    def lint(self, path, dashboard):
        uid = dashboard.get("uid")
        where = f"{path}: dashboard '{uid}'"
        if "spec" in dashboard or "elements" in dashboard:
            self.report(where, "is not in the classic JSON model (found 'spec'/'elements')")
        if not isinstance(dashboard.get("panels"), list):
            self.report(where, "has no 'panels' list")
        schema = dashboard.get("schemaVersion")
        if not isinstance(schema, int) or schema < MIN_SCHEMA_VERSION:
            self.report(where, f"schemaVersion is {schema!r}, must be {MIN_SCHEMA_VERSION} or later")
        if not isinstance(uid, str) or not _UID.match(uid):
            self.report(where, "uid must be 1-40 characters of letters, digits, '-' and '_'")
        elif uid in self.uids:
            self.report(where, f"uid '{uid}' is also used by {self.uids[uid]}")
        else:
            self.uids[uid] = path
        if not dashboard.get("title"):
            self.report(where, "has no title")
        if dashboard.get("editable", True):
            self.report(where, "is editable, it should be set to 'editable: false'")
        self.lint_variables(where, dashboard)
        self.lint_panels(where, dashboard)

    def lint_variables(self, where, dashboard):
        variables = extract_queries.template_variables(dashboard)
        by_name = {v.get("name"): v for v in variables}
        datasources = [v for v in variables if v.get("type") == "datasource"]
        if not datasources:
            self.report(where, "does not have a templated data source")
        for v in datasources:
            if v.get("name") != "datasource":
                self.report(where, f"templated data source variable named '{v.get('name')}', "
                                   "should be named 'datasource'")
            if v.get("label") != "Data source":
                self.report(where, f"templated data source variable labeled '{v.get('label')}', "
                                   "should be labeled 'Data source'")
            if v.get("query") != "prometheus":
                self.report(where, f"templated data source variable has type '{v.get('query')}', "
                                   "should be 'prometheus'")
        required = dict(SERVICE_VARIABLES)
        if dashboard_shows_the_judge(dashboard) or any(name in by_name for name in JUDGE_VARIABLES):
            required.update(JUDGE_VARIABLES)
        for name, label in required.items():
            v = by_name.get(name)
            if v is None:
                self.report(where, f"is missing the {name} template")
                continue
            if v.get("type") != "query":
                self.report(where, f"{name} template should be a Prometheus query, is currently '{v.get('type')}'")
            if v.get("label") != label:
                self.report(where, f"{name} template should be labeled '{label}', "
                                   f"is currently '{v.get('label')}'")
            if not v.get("multi"):
                self.report(where, f"{name} template should be a multi select")
            if not v.get("includeAll"):
                self.report(where, f"{name} template should include the 'All' option")
            if v.get("allValue") != ".+":
                self.report(where, f"{name} template allValue should be '.+', is currently '{v.get('allValue')}'")
        for v in variables:
            if v.get("type") != "query":
                continue
            if datasource_uid(v.get("datasource")) not in DATASOURCE_REFS:
                self.report(where, f"{v.get('name')} template should use datasource '${{datasource}}', "
                                   f"is currently '{datasource_uid(v.get('datasource'))}'")
            if v.get("refresh") != 2:
                self.report(where, f"templated variable named '{v.get('name')}' should be refreshed on time "
                                   f"range change (refresh: 2), is currently '{v.get('refresh')}'")
            query = extract_queries.variable_query_text(v)
            if extract_queries.label_values_as_promql(query) is None:
                self.report(where, f"{v.get('name')} template query should be label_values(SELECTOR, LABEL), "
                                   f"is '{query}'")

    # Panel level -----------------------------------------------------------

    def lint_panels(self, where, dashboard):
        ids = {}
        for panel in extract_queries.all_panels(dashboard):
            pid = panel.get("id")
            pwhere = f"{where}, panel {pid} '{panel.get('title', '')}'"
            if not isinstance(pid, int):
                self.report(pwhere, "has no integer id")
            elif pid in ids:
                self.report(pwhere, f"duplicate panel id {pid} (also '{ids[pid]}')")
            else:
                ids[pid] = panel.get("title", "")
            if panel.get("type") == "row":
                if not panel.get("title"):
                    self.report(pwhere, "row has no title")
                continue
            if not panel.get("title") or not panel.get("description"):
                self.report(pwhere, "has missing title or description")
            if not isinstance(panel.get("gridPos"), dict):
                self.report(pwhere, "has no gridPos")
            self.lint_units(pwhere, panel)
            if datasource_uid(panel.get("datasource")) not in DATASOURCE_REFS:
                self.report(pwhere, f"does not use a templated datasource, uses "
                                    f"'{datasource_uid(panel.get('datasource'))}'")
            targets = [t for t in panel.get("targets") or [] if isinstance(t, dict)]
            if panel.get("type") in QUERY_PANEL_TYPES and not targets:
                self.report(pwhere, "has no targets")
            ref_ids = set()
            for target in targets:
                ref = target.get("refId")
                if ref in ref_ids:
                    self.report(pwhere, f"duplicate refId '{ref}'")
                ref_ids.add(ref)
                self.lint_target(f"{pwhere}, target {ref}", target)
            self.lint_links(pwhere, panel)

    def lint_units(self, where, panel):
        field_config = panel.get("fieldConfig") or {}
        unit = (field_config.get("defaults") or {}).get("unit")
        if unit not in VALID_UNITS:
            self.report(where, f"has no or invalid units defined: '{unit or ''}'")
        for override in field_config.get("overrides") or []:
            for prop in override.get("properties") or []:
                if prop.get("id") == "unit" and prop.get("value") not in VALID_UNITS:
                    self.report(where, f"has an override with an invalid unit: '{prop.get('value')}'")
        if panel.get("type") == "heatmap":
            y_unit = ((panel.get("options") or {}).get("yAxis") or {}).get("unit")
            if y_unit not in VALID_UNITS:
                self.report(where, f"heatmap has no or invalid y-axis unit: '{y_unit or ''}'")

    def lint_target(self, where, target):
        if datasource_uid(target.get("datasource")) not in DATASOURCE_REFS:
            self.report(where, f"does not use a templated datasource, uses "
                               f"'{datasource_uid(target.get('datasource'))}'")
        expr = target.get("expr")
        if not expr:
            self.report(where, "has no PromQL expression")
            return
        try:
            found = promql_scan.selectors(expr)
        except promql_scan.ScanError as e:
            self.report(where, f"invalid PromQL query '{expr}': {e}")
            return
        for selector in found:
            if selector.function in RATE_FUNCTIONS and selector.range not in ("$__rate_interval",
                                                                             "${__rate_interval}"):
                self.report(where, f"invalid PromQL query '{expr}': {selector.function}() should use "
                                   f"$__rate_interval, uses [{selector.range}]")
            for label, variable in expected_matchers(selector).items():
                if not selector.has_matcher(label, "=~", variable):
                    self.report(where, f"invalid PromQL query '{expr}': selector '{selector.text}' "
                                       f"has no {label}=~\"{variable}\" matcher")
            if (selector.metric or "").startswith("leakwatch_judge_") and \
                    selector.has_matcher("instance", "=~", "$instance"):
                self.report(where, f"invalid PromQL query '{expr}': selector '{selector.text}' filters "
                                   "leakwatch-judge's series by the services' $instance; their instance is "
                                   "the judge's ($judge)")
            metric = selector.metric or ""
            if metric.endswith(COUNTER_SUFFIXES) and not (
                    selector.function in RATE_FUNCTIONS and selector.range is not None):
                self.report(where, f"counter metric '{metric}' is not aggregated with rate, irate, or increase")

    def lint_links(self, where, panel):
        for link, field in panel_links(panel):
            url = link.get("url", "")
            match = _DASHBOARD_LINK.search(url)
            if not match:
                continue
            self.pending_links.append((where, field, url, match.group(1)))

    def check_links(self, dashboards):
        """Data links may point at dashboards linted after the panel: check at the end."""
        by_uid = {d.get("uid"): d for d in dashboards}
        for where, field, url, uid in self.pending_links:
            target = by_uid.get(uid)
            if target is None:
                self.report(where, f"data link on '{field}' points at dashboard '{uid}', which is not among "
                                   "the dashboards")
                continue
            query = urllib.parse.urlparse(url.replace("${__url_time_range}", "")).query
            for v in extract_queries.template_variables(target):
                if v.get("type") == "query" and not v.get("includeAll"):
                    if f"var-{v.get('name')}=" not in query:
                        self.report(where, f"data link on '{field}' to '{uid}' does not set var-{v.get('name')}")


def dashboard_shows_the_judge(dashboard):
    """Whether any panel query selects one of leakwatch-judge's series."""
    for panel in extract_queries.all_panels(dashboard):
        for target in panel.get("targets") or []:
            if isinstance(target, dict) and "leakwatch_judge_" in (target.get("expr") or ""):
                return True
    return False


def datasource_uid(datasource):
    if isinstance(datasource, dict):
        return datasource.get("uid")
    return datasource


def panel_links(panel):
    """(link, field name) of every data link and panel link of a panel."""
    field_config = panel.get("fieldConfig") or {}
    for link in (field_config.get("defaults") or {}).get("links") or []:
        yield link, "all fields"
    for override in field_config.get("overrides") or []:
        field = (override.get("matcher") or {}).get("options")
        for prop in override.get("properties") or []:
            if prop.get("id") == "links":
                for link in prop.get("value") or []:
                    yield link, field
    for link in panel.get("links") or []:
        yield link, "panel"


def lint_files(paths):
    """All problems of the dashboards at `paths`."""
    linter = Linter()
    dashboards = []
    for path in paths:
        try:
            dashboard = extract_queries.load_dashboard(path)
        except extract_queries.DashboardError as e:
            linter.problems.append(str(e))
            continue
        dashboards.append(dashboard)
        linter.lint(path, dashboard)
    linter.check_links(dashboards)
    return linter.problems


def main():
    paths = sys.argv[1:]
    if not paths or paths[0] in ("-h", "--help"):
        print(__doc__)
        return 2
    problems = lint_files(paths)
    for problem in problems:
        print(problem)
    if problems:
        print(f"lint_dashboards: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"lint_dashboards: {len(paths)} dashboard(s) pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
