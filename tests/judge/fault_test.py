"""leakwatch-judge against a query API that fails: an unreachable URL, HTTP
4xx and 5xx, a truncated or malformed JSON body, a connection cut mid-body, a
huge answer and an answer that comes after 30 s. Each gets a clear message
and an error count; as a service, the judge keeps running and keeps serving
the last verdicts with their timestamp.

The faults are injected by a small proxy (Python's http.server) in front of a
real Prometheus serving a backfilled fleet history: in mode "ok" it forwards
every request, in the other modes it answers with the fault. The mode is the
first path segment of the judge's --prometheus URL (a path prefix), or, under
/switchable, whatever the test last set."""

import http.server
import os
import sys
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import judge_harness  # noqa: E402
from judge_harness import harness  # noqa: E402

SLOW_SECONDS = 30
FAST = ["--query-timeout=1s", "--query-attempts=2"]


class FaultProxy:
    def __init__(self, upstream, tls_cert=None):
        self.upstream = upstream
        self.mode = "ok"  # for /switchable
        self.requests = {}
        self.headers = {}  # mode -> the headers of its last request
        self.release = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                _, mode, path = self.path.split("/", 2)
                if mode == "switchable":
                    mode = proxy.mode
                proxy.requests[mode] = proxy.requests.get(mode, 0) + 1
                proxy.headers[mode] = dict(self.headers.items())
                try:
                    proxy.answer(self, mode, "/" + path, body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the judge gave up on the answer (huge, slow)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.scheme = "http"
        if tls_cert:
            import ssl
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls_cert)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, mode):
        return f"{self.scheme}://127.0.0.1:{self.port}/{mode}"

    def forward(self, path, body):
        req = urllib.request.Request(self.upstream + path, data=body, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.read()

    @staticmethod
    def send(handler, status, body, content_length=None):
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body) if content_length is None else content_length))
        handler.end_headers()
        handler.wfile.write(body)

    def answer(self, handler, mode, path, body):
        if mode == "ok":
            self.send(handler, 200, self.forward(path, body))
        elif mode == "warning":
            import json
            real = json.loads(self.forward(path, body))
            real["warnings"] = ["partial response: store eu-1 unavailable"]
            self.send(handler, 200, json.dumps(real).encode())
        elif mode == "status500":
            self.send(handler, 500, b"internal server error")
        elif mode == "status503":
            self.send(handler, 503, b'{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}')
        elif mode == "status429":
            self.send(handler, 429, b"too many requests")
        elif mode == "status400":
            self.send(handler, 400, b'{"status":"error","errorType":"bad_data","error":"1:22: parse error: unexpected \\"}\\""}')
        elif mode == "truncated":
            real = self.forward(path, body)
            self.send(handler, 200, real[: len(real) // 2])
        elif mode == "cutoff":
            real = self.forward(path, body)
            self.send(handler, 200, real[: len(real) // 2], content_length=len(real))
            handler.close_connection = True
        elif mode == "malformed":
            self.send(handler, 200, b"<html><body>502 Bad Gateway</body></html>")
        elif mode == "huge":
            chunk = b'{"status":"success","data":[' + b'{"__name__":"x","job":"y"},' * 200000
            self.send(handler, 200, chunk, content_length=len(chunk) + 2)
        elif mode == "slow":
            self.release.wait(SLOW_SECONDS)
            if not self.release.is_set():
                self.send(handler, 200, self.forward(path, body))
        else:
            self.send(handler, 404, b"404 page not found")

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def sample_value(samples, name):
    values = [v for n, _, v in samples if n == name]
    return values[0] if values else None


def verdict_lines(text):
    return sorted(l for l in text.splitlines() if "leak_" in l and not l.startswith("#"))


class FaultTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.prom = judge_harness.BackfilledPrometheus(end=time.time() - 600, days=1.25, leak_after_days=0.5)
        cls.proxy = FaultProxy(cls.prom.url)

    @classmethod
    def tearDownClass(cls):
        cls.proxy.close()
        cls.prom.close()

    def assert_fails_clearly(self, url, *expected, args=FAST):
        code, samples, out, err = judge_harness.run_once(url, *args)
        self.assertEqual(code, 1, f"stdout: {out}\nstderr: {err}")
        for text in expected:
            self.assertIn(text, err)
        self.assertEqual(err.count("\n"), 1, err)  # one line, no crash report
        self.assertGreaterEqual(sample_value(samples, "leakwatch_judge_query_errors_total"), 1)
        self.assertEqual(sample_value(samples, "leakwatch_judge_last_success_timestamp_seconds"), 0)
        self.assertEqual(verdict_lines(out), [], "a failed cycle shows no fresh verdicts")
        ok, output = judge_harness.check_metrics(out)
        self.assertTrue(ok, output)
        return err

    def test_through_the_proxy_the_judge_works(self):
        code, samples, out, err = judge_harness.run_once(self.proxy.url("ok"))
        self.assertEqual(code, 0, err)
        self.assertTrue(verdict_lines(out))
        self.assertGreater(sample_value(samples, "leakwatch_judge_series_judged"), 0)

    def test_headers_and_auth_reach_the_server(self):
        import base64
        import tempfile
        with tempfile.NamedTemporaryFile("w", suffix=".token") as token, \
                tempfile.NamedTemporaryFile("w", suffix=".password") as password:
            token.write("s3cret-token\n")
            token.flush()
            password.write("pa:ss\n")
            password.flush()
            code, _, _, err = judge_harness.run_once(
                self.proxy.url("ok"), "--header=X-Scope-OrgID: tenant-a|tenant-b", "--header", "X-Extra: 2",
                "--header=Accept-Language: de, en;q=0.5", f"--bearer-token-file={token.name}")
            self.assertEqual(code, 0, err)
            headers = self.proxy.headers["ok"]
            self.assertEqual(headers.get("X-Scope-OrgID"), "tenant-a|tenant-b")
            self.assertEqual(headers.get("X-Extra"), "2")
            # Each --header is one value, commas included.
            self.assertEqual(headers.get("Accept-Language"), "de, en;q=0.5")
            self.assertEqual(headers.get("Authorization"), "Bearer s3cret-token")
            self.assertEqual(headers.get("Content-Type"), "application/x-www-form-urlencoded")
            code, _, _, err = judge_harness.run_once(
                self.proxy.url("ok"), "--basic-auth-user=judge", f"--basic-auth-password-file={password.name}")
            self.assertEqual(code, 0, err)
            expected = "Basic " + base64.b64encode(b"judge:pa:ss").decode()
            self.assertEqual(self.proxy.headers["ok"].get("Authorization"), expected)

    def test_https_with_ca_file(self):
        import shutil
        import subprocess
        import tempfile
        work = tempfile.mkdtemp(prefix="leakwatch-tls-")
        try:
            pem = os.path.join(work, "server.pem")
            cert = os.path.join(work, "cert.pem")
            proc = subprocess.run(
                [harness.find_tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                 "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                 "-keyout", pem, "-out", cert], capture_output=True, text=True, timeout=60)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            with open(pem, "a") as out, open(cert) as c:
                out.write(c.read())
            tls = FaultProxy(self.prom.url, tls_cert=pem)
            try:
                code, samples, out, err = judge_harness.run_once(tls.url("ok"), f"--ca-file={cert}")
                self.assertEqual(code, 0, err)
                self.assertTrue(verdict_lines(out))
                self.assert_fails_clearly(tls.url("ok"), "certificate did not verify",
                                          args=FAST + ["--query-attempts=1"])
            finally:
                tls.close()
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def test_warnings_are_logged(self):
        code, _, out, err = judge_harness.run_once(self.proxy.url("warning"))
        self.assertEqual(code, 0, err)
        self.assertTrue(verdict_lines(out))
        self.assertEqual(err.count("the query API warns: partial response: store eu-1 unavailable"), 1, err)

    def test_unreachable_url(self):
        url = f"http://127.0.0.1:{harness.free_port()}/prefix"
        self.assert_fails_clearly(url, f"POST {url}/api/v1/series", "Could not establish connection",
                                  "after 2 attempts")

    def test_server_errors_are_retried(self):
        before = self.proxy.requests.get("status500", 0)
        self.assert_fails_clearly(self.proxy.url("status500"), "HTTP 500", "internal server error",
                                  "after 2 attempts")
        self.assertEqual(self.proxy.requests["status500"] - before, 2)
        self.assert_fails_clearly(self.proxy.url("status503"), "HTTP 503 timeout: query timed out")
        before = self.proxy.requests.get("status429", 0)
        self.assert_fails_clearly(self.proxy.url("status429"), "HTTP 429")
        self.assertEqual(self.proxy.requests["status429"] - before, 2)

    def test_client_errors_are_not_retried(self):
        before = self.proxy.requests.get("status400", 0)
        self.assert_fails_clearly(self.proxy.url("status400"), "HTTP 400 bad_data: 1:22: parse error")
        self.assertEqual(self.proxy.requests["status400"] - before, 1)

    def test_truncated_and_malformed_bodies(self):
        self.assert_fails_clearly(self.proxy.url("truncated"), "malformed JSON response")
        self.assert_fails_clearly(self.proxy.url("malformed"), "malformed JSON response",
                                  "syntax error")
        self.assert_fails_clearly(self.proxy.url("cutoff"), "POST ", "after 2 attempts")

    def test_huge_answer(self):
        self.assert_fails_clearly(self.proxy.url("huge"), "larger than 1048576 bytes",
                                  args=FAST + ["--max-response-bytes=1048576"])

    def test_answer_after_30_seconds(self):
        start = time.monotonic()
        self.assert_fails_clearly(self.proxy.url("slow"), "no answer within 1s", "after 2 attempts")
        # Two attempts of 1 s and a backoff of 1 s, far below the server's 30 s.
        self.assertLess(time.monotonic() - start, SLOW_SECONDS / 2)

    def test_bad_usage_exits_2(self):
        for args, message in [
            ([], "--prometheus=URL is required"),
            (["--prometheus=localhost:9090"], "not an http:// or https:// URL"),
            (["--prometheus=http://x", "--header=NoColon"], "no colon"),
            (["--prometheus=http://x", "--group-by=site"], "groups by \"site\""),
            (["--prometheus=http://x", "--selector=job=\"a\""], "not label matchers in braces"),
            (["--prometheus=http://x", "--lookback=2x"], "--lookback"),
            (["--prometheus=http://x", "--at=yesterday"], "not a time in Unix seconds"),
            (["--prometheus=http://x", "--basic-auth-user=u"], "go together"),
            (["--prometheus=http://x", "--bearer-token-file=/nonexistent"], "cannot read --bearer-token-file"),
            (["--prometheus=http://x", "--no-such-flag=1"], "unknown flag --no-such-flag"),
            (["--prometheus=http://x", "--threads=many"], "--threads: \"many\" is not an integer"),
            (["--prometheus=http://x", "--once=maybe"], "--once: \"maybe\" is not true or false"),
            (["--prometheus=http://x", "--header"], "--header needs a value"),
            (["--prometheus=http://x", "--threads=0"], "--threads must be 1..64"),
            (["--prometheus=http://x", "--interval=0s"], "--interval must be positive"),
            (["--prometheus"], "--prometheus needs a value"),
            (["--prometheus=http://x", "extra"], "unexpected argument \"extra\""),
        ]:
            import subprocess
            proc = subprocess.run([judge_harness.JUDGE, *args], capture_output=True, text=True, timeout=30)
            self.assertEqual(proc.returncode, 2, f"{args}: {proc.stderr}")
            # One line, the tools' shape: "<tool>: <message> (see --help)".
            self.assertTrue(proc.stderr.startswith("leakwatch-judge: "), proc.stderr)
            self.assertTrue(proc.stderr.endswith(" (see --help)\n"), proc.stderr)
            self.assertEqual(proc.stderr.count("\n"), 1, proc.stderr)
            self.assertIn(message, proc.stderr)

    def test_help_is_generated_from_the_flags(self):
        import subprocess
        proc = subprocess.run([judge_harness.JUDGE, "--help"], capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(proc.stdout.startswith("usage: leakwatch-judge --prometheus=URL [flags]\n"), proc.stdout)
        for line in ["  --prometheus URL", "  --header 'NAME: VALUE'", "  --group-by LABELS",
                     "  --query-gzip ", "  --help                  this text", "Exit status: 2 on bad usage"]:
            self.assertIn(line, proc.stdout)
        self.assertNotIn("flagfile", proc.stdout)

    def test_bad_config_exits_2_naming_the_key(self):
        """--config takes a leakwatch YAML config through the agent's own config
        layer: its errors name the key and line:column, and a floor window
        shorter than the grid step is refused before any query."""
        import subprocess
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            def config(text):
                path = os.path.join(d, f"c{len(os.listdir(d))}.yaml")
                with open(path, "w") as f:
                    f.write(text)
                return "--config=" + path
            demo = os.path.join(harness.SOURCE_DIR, "config", "demo.yaml")
            for args, messages in [
                ([config("detector:\n  floor_window: 10x\n")],
                 ["--config: ", "detector.floor_window: line 2, column 17", "is not a duration"]),
                ([config("detector:\n  flor_window: 10s\n")],
                 ["detector.flor_window: line 2, column 3: unknown key", "floor_window"]),
                ([config("detector:\n  trend_window: 10m\n  floor_window: 6m\n")],
                 ["detector.trend_window", "must be at least twice detector.floor_window"]),
                ([config("detector: [1, 2]\n")], ["detector: line 1"]),
                (["--config=/nonexistent/leakwatch.yaml"],
                 ["--config: ", "/nonexistent/leakwatch.yaml", "No such file"]),
                ([f"--config={demo}", "--scrape-interval=15s"],
                 ["--step/--scrape-interval: the grid step (15s) is longer than the detector's floor_window (10s)"]),
                ([f"--config={demo}", "--step=1m"], ["the grid step (60s) is longer"]),
                ([f"--config={demo}", "--scrape-interval=fast"], ["--scrape-interval: "]),
            ]:
                proc = subprocess.run([judge_harness.JUDGE, "--prometheus=http://127.0.0.1:1", "--once", *args],
                                      capture_output=True, text=True, timeout=30)
                with self.subTest(args=args):
                    self.assertEqual(proc.returncode, 2, proc.stderr)
                    self.assertTrue(proc.stderr.startswith("leakwatch-judge: "), proc.stderr)
                    for message in messages:
                        self.assertIn(message, proc.stderr)
                    self.assertEqual(proc.stdout, "")

    def test_service_keeps_last_verdicts_through_faults(self):
        self.proxy.mode = "ok"
        with judge_harness.JudgeService(self.proxy.url("switchable"), "--interval=1s", *FAST) as judge:
            def succeeded():
                samples = judge.metrics()
                last = sample_value(samples, "leakwatch_judge_last_success_timestamp_seconds")
                return samples if last and verdict_lines(judge.metrics_text()) else None

            harness.wait_until("a successful cycle", succeeded, 60)
            text = judge.metrics_text()
            ok, output = judge_harness.check_metrics(text)
            self.assertTrue(ok, output)
            verdicts = verdict_lines(text)
            for mode, expected in [("status500", "HTTP 500"), ("malformed", "malformed JSON"),
                                   ("slow", "no answer within 1s")]:
                samples = judge.metrics()
                errors = sample_value(samples, "leakwatch_judge_query_errors_total")
                last = sample_value(samples, "leakwatch_judge_last_success_timestamp_seconds")
                self.proxy.mode = mode
                harness.wait_until(f"query errors in mode {mode}", lambda: sample_value(
                    judge.metrics(), "leakwatch_judge_query_errors_total") >= errors + 2, 60)
                text = judge.metrics_text()
                self.assertEqual(verdict_lines(text), verdicts, mode)
                self.assertEqual(sample_value(harness.parse_metrics(text),
                                              "leakwatch_judge_last_success_timestamp_seconds"), last)
                self.assertIsNone(judge.proc.poll(), judge.output())
                self.assertIn(expected, judge.output())
            self.proxy.mode = "ok"
            self.proxy.release.set()  # answers a pending slow request at once
            harness.wait_until("a success after the faults", lambda: sample_value(
                judge.metrics(), "leakwatch_judge_last_success_timestamp_seconds") > last, 60)
            self.proxy.release.clear()

            # SIGTERM ends the judge at once, even while a query hangs.
            self.proxy.mode = "slow"
            before = self.proxy.requests.get("slow", 0)
            harness.wait_until("a hanging query", lambda: self.proxy.requests.get("slow", 0) > before, 30)
            judge.proc.terminate()
            self.assertEqual(judge.proc.wait(timeout=5), 0)
            self.assertIn("stopping (signal 15)", judge.output())
            self.proxy.mode = "ok"


if __name__ == "__main__":
    unittest.main(verbosity=2)
