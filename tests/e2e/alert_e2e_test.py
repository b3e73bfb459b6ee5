"""End to end: the demo under load with the fast detector preset, a real
Prometheus evaluating alerts/leakwatch-rules.yaml every second, a real
Alertmanager routing to a webhook this test runs. The timeout leak must page as
LeakwatchSiteLeakSuspected with the worker's exact site and op="chan_send";
nothing may fire for the healthy handler; every dashboard query must return
data."""

import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import harness  # noqa: E402

SRC = harness.SOURCE_DIR


class Webhook:
    """Collects Alertmanager's webhook notifications on a loopback port."""

    def __init__(self):
        self.alerts = []
        self.posts = []  # each notification's alerts, in arrival order
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    alerts = json.loads(body).get("alerts", [])
                    outer.alerts.extend(alerts)
                    outer.posts.append(alerts)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def received(self):
        with self.lock:
            return list(self.alerts)

    def notifications(self):
        with self.lock:
            return [list(p) for p in self.posts]

    def close(self):
        self.server.shutdown()


class Load:
    """Healthy and leaky requests at fixed rates until stopped."""

    def __init__(self, demo, plan):
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(demo, path, rate), daemon=True)
                        for path, rate in plan]
        for t in self.threads:
            t.start()

    def run(self, demo, path, rate):
        while not self.stop.is_set():
            start = time.monotonic()
            try:
                demo.get(path)
            except OSError:
                pass
            self.stop.wait(max(0, 1 / rate - (time.monotonic() - start)))

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join()


class Alertmanager:
    def __init__(self, webhook_port):
        self.dir = tempfile.mkdtemp(prefix="leakwatch-am-")
        with open(os.path.join(SRC, "alerts", "alertmanager.yaml")) as f:
            config = yaml.safe_load(f)
        # The shipped routing and grouping, with the test's webhook and short waits.
        config["route"].update(group_wait="1s", group_interval="1s", repeat_interval="1m")
        for receiver in config["receivers"]:
            receiver.pop("webhook_configs", None)
            receiver["webhook_configs"] = [{"url": f"http://127.0.0.1:{webhook_port}/",
                                            "send_resolved": False}]
        path = os.path.join(self.dir, "alertmanager.yml")
        with open(path, "w") as f:
            yaml.safe_dump(config, f)
        self.port = harness.free_port()
        self.log = open(os.path.join(self.dir, "am.log"), "w+")
        self.proc = subprocess.Popen(
            [harness.find_tool("prometheus-alertmanager"), f"--config.file={path}",
             f"--storage.path={os.path.join(self.dir, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            stdout=self.log, stderr=subprocess.STDOUT)

        def ready():
            if self.proc.poll() is not None:
                return True
            try:
                return harness.http_get(f"http://127.0.0.1:{self.port}/-/ready", timeout=2)[0] == 200
            except OSError:
                return False
        harness.wait_until("Alertmanager to be ready", ready, 60)
        if self.proc.poll() is not None:
            self.log.seek(0)
            raise AssertionError("alertmanager exited: " + self.log.read())

    def close(self):
        harness.stop_process(self.proc, self.log, self.dir)


def shortened_rules(tmp):
    """alerts/leakwatch-rules.yaml with every `for:` cut to 5s, written in
    `tmp`; returns its path."""
    rules = os.path.join(tmp, "rules.yaml")
    with open(rules, "w") as f:
        subprocess.run([sys.executable, os.path.join(SRC, "tests/alerts/shorten_for.py"),
                        "--max-for", "5s", os.path.join(SRC, "alerts/leakwatch-rules.yaml")],
                       stdout=f, check=True)
    return rules


class AlertEndToEndTest(unittest.TestCase):
    def test_timeout_leak_pages_and_dashboards_have_data(self):
        tmp = tempfile.mkdtemp(prefix="leakwatch-e2e-")
        rules = shortened_rules(tmp)
        leak_site = harness.demo_site("timeout-send")
        healthy_site = harness.demo_site("work-recv")
        webhook = Webhook()
        am = Alertmanager(webhook.port)
        demo = harness.Demo()
        prom = harness.Prometheus([f"127.0.0.1:{demo.metrics_port}"], rule_files=[rules],
                                  alertmanager_port=am.port)
        load = Load(demo, [("/work", 20), ("/leak/timeout", 2)])
        try:
            def paged():
                for a in webhook.received():
                    if a["labels"].get("alertname") == "LeakwatchSiteLeakSuspected" and \
                            a["labels"].get("site") == leak_site:
                        return a
                return None
            alert = harness.wait_until("LeakwatchSiteLeakSuspected at the webhook", paged, timeout=240,
                                       interval=1)
            self.assertEqual(alert["labels"]["op"], "chan_send")
            self.assertEqual(alert["labels"]["severity"], "warning")
            self.assertIn(leak_site, alert["annotations"]["description"])
            self.assertTrue(alert["annotations"]["runbook_url"].endswith(
                "#leakwatchsiteleaksuspected"), alert["annotations"]["runbook_url"])

            # Nothing about the healthy handler, at the webhook or pending in Prometheus.
            for a in webhook.received():
                self.assertNotEqual(a["labels"].get("site"), healthy_site, a)
            self.assertEqual(prom.query(f'ALERTS{{site="{healthy_site}"}}'), [])

            # Every dashboard query returns data while the leak is being driven:
            # for the leak's site, except the wait-duration panels. The leak's
            # waits never finish, so its site exports no histogram (bounded
            # series: only from a site's 10th finished wait or one over 1 s);
            # those panels must have data for the healthy site instead.
            def queries(site):
                return json.loads(subprocess.run(
                    [sys.executable, os.path.join(SRC, "tests/dashboards/extract_queries.py"),
                     "--format", "json", "--var", f"site={site}", "--include-variables",
                     os.path.join(SRC, "dashboards/leakwatch-overview.json"),
                     os.path.join(SRC, "dashboards/leakwatch-site.json")],
                    capture_output=True, text=True, check=True).stdout)
            empty = []
            leak_queries, healthy_queries = queries(leak_site), queries(healthy_site)
            self.assertEqual(len(leak_queries), len(healthy_queries))
            for q, healthy in zip(leak_queries, healthy_queries):
                if prom.query(q["expr"]):
                    continue
                if "leakwatch_block_duration_seconds" in q["expr"] and prom.query(healthy["expr"]):
                    continue
                empty.append(f'{q["dashboard"]} / {q.get("panel_title", q.get("kind"))}: {q["expr"]}')
            self.assertEqual(empty, [], "queries without data:\n" + "\n".join(empty))

            # Every metric the rules use is one a real scrape of the agent
            # exports (the judge's: fleet_alert_e2e_test).
            used = {n for n in harness.rule_metrics(os.path.join(SRC, "alerts/leakwatch-rules.yaml"))
                    if not n.startswith("leakwatch_judge_")}
            scraped = {name for name, _, _ in demo.metrics()}
            self.assertEqual(sorted(used - scraped), [], "rules use metrics the agent does not export")
            self.assertIn("leakwatch_stuck_tasks", used)
        finally:
            load.close()
            prom.close()
            demo.close()
            am.close()
            webhook.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
