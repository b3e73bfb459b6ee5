"""Helpers for the leakwatch-judge tests: run the judge once or as a service,
serve a backfilled fleet history from a real Prometheus, and run a fleet of
leaking demos restarted in place. Builds on tests/integration/harness.py.
Standard library only."""

import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration"))
import harness  # noqa: E402
import fleet_history  # noqa: E402

JUDGE = os.path.join(harness.BUILD_DIR, "agent", "judge", "leakwatch-judge")


def run_once(url, *args, timeout=120):
    """Runs `leakwatch-judge --once`; returns (exit code, samples, stdout, stderr)."""
    proc = subprocess.run([JUDGE, f"--prometheus={url}", "--once", *args],
                          capture_output=True, text=True, timeout=timeout)
    samples = harness.parse_metrics(proc.stdout) if proc.stdout else []
    return proc.returncode, samples, proc.stdout, proc.stderr


def verdicts(samples, metric):
    """{(labels without the value's name, as sorted tuples): value} of one metric."""
    return {tuple(sorted(l.items())): v for n, l, v in samples if n == metric}


def check_metrics(text):
    """Runs `promtool check metrics` on exposition text; returns (ok, output)."""
    proc = subprocess.run([harness.find_tool("promtool"), "check", "metrics"], input=text,
                          capture_output=True, text=True, timeout=60)
    return proc.returncode == 0, proc.stdout + proc.stderr


class JudgeService:
    """leakwatch-judge serving /metrics on a loopback port (`port`, or a free
    one), stopped on exit."""

    def __init__(self, url, *args, port=None):
        self.dir = tempfile.mkdtemp(prefix="leakwatch-judge-")
        self.port = port or harness.free_port()
        self.log = open(os.path.join(self.dir, "judge.log"), "w+")
        self.proc = subprocess.Popen([JUDGE, f"--prometheus={url}", f"--listen=127.0.0.1:{self.port}", *args],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}/metrics"
        harness.wait_until("the judge to serve /metrics", self._serving_or_dead, 30)
        if self.proc.poll() is not None:
            raise AssertionError(f"leakwatch-judge exited with {self.proc.returncode}: {self.output()}")

    def _serving_or_dead(self):
        if self.proc.poll() is not None:
            return True
        try:
            return harness.http_get(self.url, timeout=2)[0] == 200
        except OSError:
            return False

    def metrics_text(self):
        status, body = harness.http_get(self.url)
        assert status == 200, f"/metrics answered {status}: {body}"
        return body

    def metrics(self):
        return harness.parse_metrics(self.metrics_text())

    def output(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def close(self):
        harness.stop_process(self.proc, self.log, self.dir, timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# The demo's built-in load: 4 requests a second, 35 % leaky, 70 % of those at
# the timeout site (about a task a second), as `make demo`'s restarting leak.
LEAKING_LOAD = ("--load", "4", "--leak_ratio", "0.35")


class RestartingDemo:
    """One leakwatch-demo under LEAKING_LOAD on a fixed metrics port, restarted
    in place (same address, new process start time) by restart_if_due once
    restart_seconds have passed; the first restart waits `offset` seconds more,
    which staggers the instances of a fleet. `restarts` counts the restarts."""

    def __init__(self, restart_seconds, offset):
        self.metrics_port = harness.free_port()
        self.restart_seconds = restart_seconds
        self.offset = offset
        self.demo = None
        self.started = 0
        self.restarts = -1
        self.start()

    def start(self):
        if self.demo:
            self.demo.close()
        self.demo = harness.Demo(extra=(*LEAKING_LOAD, "--metrics_listen", f"127.0.0.1:{self.metrics_port}"))
        self.started = time.monotonic()
        self.restarts += 1

    def restart_if_due(self):
        first_delay = self.offset if self.restarts == 0 else 0
        if time.monotonic() - self.started >= self.restart_seconds + first_delay:
            self.start()

    def close(self):
        if self.demo:
            self.demo.close()


def wait_restarting(what, fn, timeout, instances, judge):
    """harness.wait_until(what, fn, timeout) while restarting the instances
    (RestartingDemo) when due; on a timeout the error carries the tails of the
    judge's log and /metrics."""
    def step():
        for inst in instances:
            inst.restart_if_due()
        return fn()
    try:
        return harness.wait_until(what, step, timeout=timeout, interval=0.5)
    except AssertionError as e:
        raise AssertionError(f"{e}\njudge log:\n{judge.output()[-3000:]}\n"
                             f"judge metrics:\n{judge.metrics_text()[-3000:]}") from None


class BackfilledPrometheus(harness.Prometheus):
    """A real Prometheus serving `days` of fleet_history ending at `end`,
    backfilled with promtool, scraping `targets` (job leakwatch-demo) and
    `extra_jobs` live as harness.Prometheus does. Attributes: begin, end,
    leak_start, leak_per_hour."""

    def __init__(self, end, days=4.0, leak_after_days=2.5, leak_per_hour=4.0, targets=(), extra_jobs=()):
        self.end = int(end) // 60 * 60
        self.begin = self.end - int(days * 86400)
        self.leak_start = self.begin + int(leak_after_days * 86400)
        self.leak_per_hour = leak_per_hour
        self.work = tempfile.mkdtemp(prefix="leakwatch-backfill-")
        text = os.path.join(self.work, "history.om")
        fleet_history.generate(text, self.begin, self.end, self.leak_start, leak_per_hour)
        storage = os.path.join(self.work, "data")
        proc = subprocess.run([harness.find_tool("promtool"), "tsdb", "create-blocks-from", "openmetrics",
                               text, storage], capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise AssertionError(f"promtool create-blocks-from failed: {proc.stdout}{proc.stderr}")
        os.remove(text)
        # The backfill has no staleness markers: a short lookback delta ends a
        # series soon after its instance stops, as staleness markers would.
        super().__init__(list(targets), storage=storage, extra_jobs=extra_jobs,
                         extra_args=["--storage.tsdb.retention.time=100y", "--query.lookback-delta=90s"])

    def close(self):
        super().close()
        import shutil
        shutil.rmtree(self.work, ignore_errors=True)
