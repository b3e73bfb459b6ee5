#!/usr/bin/env python3
"""validate.py reads what the agent and the suites really print.

`make validate` finds the pile-up, the idle sites and the suites' results by
parsing /metrics, /debug/tasks?debug=2, TAP and regrtest's JUnit XML; a change
in any of those formats would make it report nothing rather than fail. This
runs a real preloaded process (Debian's python3: 3 threads blocked on one held
lock, one more thread named by prctl) and checks that validate.py's readers see
the 3 blocked, then stuck, at one site, the same site in the task list, the
thread names, and that the TAP and JUnit readers keep every status.

Usage: validate_parsers_test.py --preload SO
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import validate  # noqa: E402

ARGS = None
HOST = r"""
import ctypes, sys, threading
lock = threading.Lock()
lock.acquire()
def blocked():
    lock.acquire()
    lock.release()  # let the next one through
threads = [threading.Thread(target=blocked, name="blocked-%d" % i) for i in range(3)]
for t in threads:
    t.start()
def named():
    ctypes.CDLL(None).prctl(15, b"lw-named", 0, 0, 0)  # PR_SET_NAME
    threading.Event().wait()
threading.Thread(target=named, daemon=True).start()
sys.stdin.read()  # until the test closes stdin
lock.release()
"""


class AgentPages(unittest.TestCase):
    def test_blocked_then_stuck_at_one_site(self):
        port = validate.free_port()
        with tempfile.TemporaryDirectory() as tmp:
            config = os.path.join(tmp, "agent.yaml")
            with open(config, "w") as f:
                f.write("exporter:\n  listen: 127.0.0.1:%d\nsampler:\n  interval: 100ms\n"
                        "tasks:\n  stuck_after: 1s\n" % port)
            host = subprocess.Popen([sys.executable, "-c", HOST], stdin=subprocess.PIPE,
                                    env=validate.preload_env(ARGS.preload, config))
            try:
                def three_stuck():
                    stuck = validate.by_site(validate.metrics(port), "leakwatch_stuck_tasks")
                    return [k for k, v in stuck.items() if v >= 3]
                deadline = time.monotonic() + 60
                sites = []
                while not sites and time.monotonic() < deadline:
                    try:
                        sites = three_stuck()
                    except OSError:
                        pass
                    time.sleep(0.1)  # polling for the state, with a deadline
                self.assertEqual(len(sites), 1, "3 stuck at one site within 60 s")
                site, op = sites[0]
                self.assertTrue(site, "a site label")
                blocked = validate.by_site(validate.metrics(port), "leakwatch_blocked_tasks")
                self.assertGreaterEqual(blocked[(site, op)], 3)
                tasks = validate.parse_tasks(validate.http_get(
                    "http://127.0.0.1:%d/debug/tasks?debug=2" % port))
                at_site = [t for t in tasks if t[2] == site]
                self.assertGreaterEqual(len(at_site), 3, tasks)
                self.assertTrue(all(t[1].startswith(op + ", ") for t in at_site), at_site)
                self.assertIn("lw-named", [t[0] for t in tasks])
                self.assertTrue(any(t[1] == "running" for t in tasks), tasks)
            finally:
                host.stdin.close()
                try:
                    host.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    host.kill()
                    host.wait()
            self.assertEqual(host.returncode, 0)


class SuiteFormats(unittest.TestCase):
    def test_tap(self):
        out = ("# random seed: R02S\n1..4\nok 1 /a/b\nnot ok 2 /a/c\n"
               "ok 3 /a/d # SKIP not here\nok 4 /a/e # skip lower\n# End\n")
        self.assertEqual(validate.tap_results(out),
                         {"/a/b": "ok", "/a/c": "not ok", "/a/d": "skip", "/a/e": "skip"})

    def test_junit(self):
        xml = ('<testsuites><testsuite>'
               '<testcase name="t.A.ok" status="run" result="completed"/>'
               '<testcase name="t.A.bad" status="run"><failure>boom</failure></testcase>'
               '<testcase name="t.A.err" status="run"><error>e</error></testcase>'
               '<testcase name="t.A.skip" status="run"><skipped>why</skipped></testcase>'
               '</testsuite></testsuites>')
        with tempfile.NamedTemporaryFile("w", suffix=".xml") as f:
            f.write(xml)
            f.flush()
            self.assertEqual(validate.junit_results(f.name),
                             {"t.A.ok": "ok", "t.A.bad": "failure", "t.A.err": "error", "t.A.skip": "skipped"})
        self.assertEqual(validate.junit_results("/nonexistent.xml"), {})

    def test_metrics_labels_with_quotes(self):
        text = ('# HELP x y\nleakwatch_stuck_tasks{site="f(\\"a\\")+0x1",op="mutex"} 2\n'
                'leakwatch_tasks{kind="thread"} 5\n')
        sample = validate.parse_metrics(text)
        self.assertEqual(validate.by_site(sample, "leakwatch_stuck_tasks"), {('f("a")+0x1', "mutex"): 2.0})
        self.assertEqual(validate.family_max(sample, "leakwatch_tasks"), 5.0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--preload", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest)
