"""Helpers for tests that run real processes on loopback: the demo service,
Prometheus, Alertmanager. Standard library only."""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

SOURCE_DIR = os.environ.get("LEAKWATCH_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD_DIR = os.environ.get("LEAKWATCH_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
DEMO = os.path.join(BUILD_DIR, "agent", "tools", "demo", "leakwatch-demo")
DEMO_SOURCE = "agent/tools/demo/handlers.cc"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_site(marker):
    """The site label of the line in handlers.cc marked `demo-site: <marker>`."""
    with open(os.path.join(SOURCE_DIR, DEMO_SOURCE)) as f:
        for number, line in enumerate(f, 1):
            if line.rstrip().endswith("demo-site: " + marker):
                return f"{DEMO_SOURCE}:{number}"
    raise AssertionError(f"no line marked demo-site: {marker} in {DEMO_SOURCE}")


def http_get(url, timeout=10, method="GET", headers=None):
    """Returns (status, body) and never raises for HTTP error statuses."""
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_until(what, fn, timeout=30.0, interval=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """[(name, {label: value}, float)] from the Prometheus text format."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise AssertionError(f"unparsable sample line: {line!r}")
        labels = dict(LABEL.findall(m.group(3) or ""))
        out.append((m.group(1), labels, float(m.group(4))))
    return out


RULE_METRIC = re.compile(r"(?<![\w:])(leakwatch_[a-z0-9_]+)(?![\w:])")


def rule_metrics(path):
    """The leakwatch_* metric names the expressions of the Prometheus rule file
    `path` use (not the names of its recording rules, which hold colons)."""
    import yaml
    with open(path) as f:
        doc = yaml.safe_load(f)
    return {name for group in doc["groups"] for rule in group["rules"]
            for name in RULE_METRIC.findall(rule["expr"])}


def sample(samples, name, **labels):
    """The value of the one sample of `name` with these labels, or None."""
    found = [v for n, l, v in samples if n == name and all(l.get(k) == str(x) for k, x in labels.items())]
    if len(found) > 1:
        raise AssertionError(f"{len(found)} samples of {name} match {labels}")
    return found[0] if found else None


class Demo:
    """leakwatch-demo on free loopback ports, stopped on exit."""

    def __init__(self, config="config/demo.yaml", load=0, extra=()):
        self.dir = tempfile.mkdtemp(prefix="leakwatch-demo-")
        ready = os.path.join(self.dir, "ready")
        args = [DEMO, "--listen", "127.0.0.1:0", "--metrics_listen", "127.0.0.1:0",
                "--introspection_listen", "127.0.0.1:0",
                "--config", os.path.join(SOURCE_DIR, config), "--ready_file", ready,
                "--load", str(load), *extra]
        self.log = open(os.path.join(self.dir, "demo.log"), "w+")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until("the demo to be ready", lambda: os.path.exists(ready) or self.proc.poll() is not None, 30)
        if self.proc.poll() is not None:
            self.log.seek(0)
            raise AssertionError(f"leakwatch-demo exited with {self.proc.returncode}: {self.log.read()}")
        with open(ready) as f:
            self.port, self.metrics_port, self.introspection_port = (int(x) for x in f.read().split())
        self.url = f"http://127.0.0.1:{self.port}"
        self.metrics_url = f"http://127.0.0.1:{self.metrics_port}"

    def get(self, path):
        return http_get(self.url + path)

    def metrics_text(self):
        status, body = http_get(self.metrics_url + "/metrics")
        assert status == 200, f"/metrics answered {status}: {body}"
        return body

    def metrics(self):
        return parse_metrics(self.metrics_text())

    def close(self):
        stop_process(self.proc, self.log, self.dir, timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def stop_process(proc, log, directory, timeout=20):
    """Stops `proc` (SIGTERM, then SIGKILL), closes its log, removes its directory."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    log.close()
    shutil.rmtree(directory, ignore_errors=True)


def find_tool(name):
    path = shutil.which(name)
    if path is None:
        raise AssertionError(f"{name} is not installed (make test installs it from Debian)")
    return path


class Prometheus:
    """Debian's prometheus server on a free loopback port, scraping `targets`
    every second, with optional rule files and an Alertmanager. `storage` names
    an existing TSDB directory (e.g. backfilled by promtool) to serve instead of
    a fresh one; `extra_args` are more server flags. `extra_jobs` are more
    scrape jobs as (job name, targets, honor_labels), e.g. a leakwatch-judge."""

    def __init__(self, targets, rule_files=(), alertmanager_port=None, job="leakwatch-demo",
                 storage=None, extra_args=(), extra_jobs=()):
        self.dir = tempfile.mkdtemp(prefix="leakwatch-prom-")
        self.port = free_port()
        lines = ["global:", "  scrape_interval: 1s", "  evaluation_interval: 1s"]
        if rule_files:
            lines.append("rule_files:")
            lines += [f"  - {os.path.abspath(f)}" for f in rule_files]
        if alertmanager_port:
            lines += ["alerting:", "  alertmanagers:", "    - static_configs:",
                      f"        - targets: ['127.0.0.1:{alertmanager_port}']"]
        lines += ["scrape_configs:", f"  - job_name: {job}", "    static_configs:",
                  "      - targets: [" + ", ".join(f"'{t}'" for t in targets) + "]"]
        for name, job_targets, honor_labels in extra_jobs:
            lines += [f"  - job_name: {name}", f"    honor_labels: {'true' if honor_labels else 'false'}",
                      "    static_configs:",
                      "      - targets: [" + ", ".join(f"'{t}'" for t in job_targets) + "]"]
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = open(os.path.join(self.dir, "prometheus.log"), "w+")
        self.proc = subprocess.Popen(
            [find_tool("prometheus"), f"--config.file={config}",
             f"--storage.tsdb.path={storage or os.path.join(self.dir, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}", *extra_args],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        wait_until("Prometheus to be ready", self._ready_or_dead, 60)
        if self.proc.poll() is not None:
            self.log.seek(0)
            raise AssertionError(f"prometheus exited: {self.log.read()}")

    def _ready_or_dead(self):
        if self.proc.poll() is not None:
            return True
        try:
            return http_get(self.url + "/-/ready", timeout=2)[0] == 200
        except OSError:
            return False

    def query(self, expr):
        """The instant vector of `expr` as [(labels, float)]."""
        import json
        import urllib.parse
        status, body = http_get(self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        if status != 200:
            raise AssertionError(f"query {expr!r} answered {status}: {body}")
        data = json.loads(body)["data"]
        return [(r["metric"], float(r["value"][1])) for r in data["result"]]

    def close(self):
        stop_process(self.proc, self.log, self.dir)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
