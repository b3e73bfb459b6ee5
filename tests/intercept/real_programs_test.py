#!/usr/bin/env python3
"""Runs multi-threaded Debian tools under LD_PRELOAD=libleakwatch_preload.so.

For each program: the output must be byte-identical to a run without the
library, the exit status 0, no hang (a timeout fails the test), and /metrics
must answer during the run with a non-zero leakwatch_tasks{kind="thread"}; a
run that never starts a thread must not start an agent (nothing answers).
Prints the wall-time ratio with/without the library per program (medians of
alternating runs that nobody scrapes).

Usage: real_programs_test.py PRELOAD_SO
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

TIMEOUT = 240


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_data(path):
    # Compressible but not trivial: numbered lines with pseudo-random words.
    words = [w.encode() for w in "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()]
    state = 12345
    with open(path, "wb") as f:
        for i in range(120000):
            state = (state * 1103515245 + 12345) & 0x7FFFFFFF
            f.write(b"%08d %s %s %d\n" % (state % 99991, words[state % 10], words[(state >> 8) % 10], i))


def run(cmd, stdin_path, env, port=None):
    """Runs cmd; returns (exit code, stdout bytes, seconds, thread-task samples)."""
    samples = []
    start = time.monotonic()
    with open(stdin_path, "rb") as stdin, tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdin=stdin, stdout=out, stderr=subprocess.PIPE, env=env)
        while proc.poll() is None:
            if port is not None:
                try:
                    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=2) as r:
                        text = r.read().decode()
                    m = re.search(r'^leakwatch_tasks\{kind="thread"\} (\S+)$', text, re.M)
                    if m:
                        samples.append(float(m.group(1)))
                except OSError:
                    pass
            if time.monotonic() - start > TIMEOUT:
                proc.kill()
                proc.wait()
                raise AssertionError("%s hung (killed after %ds)" % (cmd, TIMEOUT))
            # Poll fast until the first answer (short runs), then every 200 ms.
            time.sleep(0.2 if samples else 0.01)
        err = proc.stderr.read()
        elapsed = time.monotonic() - start
        out.seek(0)
        return proc.returncode, out.read(), elapsed, samples, err


def main():
    preload = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="lw-real-")
    failures = []
    try:
        data = os.path.join(tmp, "data.txt")
        make_data(data)
        # The fast programs get a larger input so each run lasts long enough
        # for /metrics to be scraped while it works.
        big = os.path.join(tmp, "big.txt")
        with open(data, "rb") as src, open(big, "wb") as dst:
            chunk = src.read()
            for _ in range(6):
                dst.write(chunk)
        # The last field: whether the program starts a thread, and so an agent
        # (the agent starts just before a process's first thread). sort with a
        # 1 MB buffer sorts chunks too small to split between threads.
        programs = [
            (["xz", "-T2", "-3", "-c"], data, True),
            (["zstd", "-T2", "-12", "-c"], data, True),
            (["pigz", "-p", "2", "-9", "-c"], big, True),
            (["sort", "--parallel=2", "-k2,2", "-k1,1n"], big, True),
            (["sort", "--parallel=2", "-S", "1M", "-k2,2", "-k1,1n"], big, False),
        ]
        for cmd, data, threaded in programs:
            if shutil.which(cmd[0]) is None:
                failures.append("%s is not installed" % cmd[0])
                continue
            base_env = dict(os.environ, LC_ALL="C")
            base_env.pop("LD_PRELOAD", None)
            code0, out0, t0, _, _ = run(cmd, data, base_env)
            port = free_port()
            config = os.path.join(tmp, "leakwatch.yaml")
            with open(config, "w") as f:
                f.write("exporter:\n  listen: 127.0.0.1:%d\nsampler:\n  interval: 100ms\n" % port)
            env = dict(base_env, LD_PRELOAD=preload, LEAKWATCH_CONFIG=config)
            code1, out1, t1, samples, err1 = run(cmd, data, env, port)
            name = " ".join(cmd)
            # The wall-time cost: alternating runs without and with the library
            # (production sampler interval, exporter on, nobody scraping: the
            # scraper above competes for the same 2 cores).
            quiet_config = os.path.join(tmp, "quiet.yaml")
            with open(quiet_config, "w") as f:
                f.write("exporter:\n  listen: 127.0.0.1:%d\n" % free_port())
            quiet_env = dict(base_env, LD_PRELOAD=preload, LEAKWATCH_CONFIG=quiet_config)
            bare, preloaded = [], []
            for _ in range(3):
                bare.append(run(cmd, data, base_env)[2])
                preloaded.append(run(cmd, data, quiet_env)[2])
            bare.sort()
            preloaded.sort()
            print("%-40s wall without %.2fs  with %.2fs  ratio %.2f (medians of 3 alternating runs)"
                  % (name, bare[1], preloaded[1], preloaded[1] / bare[1] if bare[1] > 0 else 0))
            print("%-40s scraped every 200 ms: %d scrapes, max thread tasks %s"
                  % ("", len(samples), max(samples) if samples else "-"))
            if code0 != 0 or code1 != 0:
                failures.append("%s: exit %d without, %d with preload" % (name, code0, code1))
            if out0 != out1:
                failures.append("%s: output differs under preload" % name)
            if err1:
                failures.append("%s: preload wrote to stderr: %r" % (name, err1[:200]))
            if threaded and not any(s > 0 for s in samples):
                failures.append("%s: /metrics never answered with thread tasks > 0 (%d scrapes)"
                                % (name, len(samples)))
            if not threaded and samples:
                failures.append("%s: a process without threads started an agent (%d scrapes)"
                                % (name, len(samples)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
