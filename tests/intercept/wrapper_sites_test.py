#!/usr/bin/env python3
"""Sites beyond lock wrappers (issue 21, part 1).

A program (wrapped_locks_main.c) blocks 20 threads on 5 distinct mutexes, 4 on
each, every one through one wrapper function in a shared library (wrap_lock in
libwraplock_for_tests.so), each lock from its own function. Run under
LD_PRELOAD=libleakwatch_preload.so:
  - with the default config, every wait is sited at the wrapper: 1 site;
  - with sites.skip_functions naming the wrapper, or sites.skip_modules naming
    its library, the 5 callers are the sites: 5 sites with 4 tasks each;
  - either way /debug/tasks?debug=2 still shows the wrapper in every stack.
With --python, CPython's threading locks (20 threads on 5 locks) are one site
at PyThread_acquire_lock_timed, or past it with skip_functions: [PyThread_*]
(printed): their C frames are the same for every lock.

Usage: wrapper_sites_test.py --preload SO --program BIN [--python PYTHON3]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

from preloaded import TIMEOUT, fetch_tasks, free_port, preloaded_env, write_config

ARGS = None




def sites_of(dump):
    """{site label: blocked count} from a debug=1 dump."""
    return {m.group(2): int(m.group(1))
            for m in re.finditer(r"^(\d+) blocked @ (.+?) \[\w+\]", dump, re.M)}


class Run:
    """The program under the preload with `sites_yaml` in its config."""

    def __init__(self, cmd, sites_yaml, tmp):
        self.port = free_port()
        config = write_config(os.path.join(tmp, "leakwatch-%d.yaml" % self.port), self.port, sites_yaml)
        env = preloaded_env(ARGS.preload, config)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)

    def wait_blocked(self, want):
        """The debug=1 dump once `want` tasks are blocked in total."""
        deadline = time.monotonic() + TIMEOUT
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("exited with %s: %s" % (self.proc.returncode,
                                                              self.proc.stderr.read().decode()))
            try:
                last = fetch_tasks(self.port, 1)
                if sum(sites_of(last).values()) >= want:
                    return last
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("never saw %d blocked tasks; last dump:\n%s" % (want, last))

    def finish(self):
        out, err = self.proc.communicate(b"go\n", timeout=TIMEOUT)
        if self.proc.returncode != 0:
            raise AssertionError("exit %d: %s" % (self.proc.returncode, err.decode()))
        return out


class WrapperSitesTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lw-wrapper-sites-")

    def sites_with(self, sites_yaml):
        run = Run([ARGS.program], sites_yaml, self.tmp)
        try:
            grouped = run.wait_blocked(20)
            every = fetch_tasks(run.port, 2)
        finally:
            run.finish()
        return sites_of(grouped), every

    def assert_sited_at_callers(self, sites, every):
        wrapper = [s for s in sites if s.startswith("wrap_lock")]
        self.assertEqual(wrapper, [], sites)
        self.assertEqual(sorted(sites.values()), [4] * 5, sites)
        for i in range(5):
            self.assertEqual(
                sum(n for s, n in sites.items() if s.startswith("wait_on_lock_%d+" % i)), 4, sites)
        # The whole stack stays in the dump, the skipped wrapper included.
        stacks = every.split("\n\n")
        blocked = [t for t in stacks if "blocked at wait_on_lock_" in t]
        self.assertEqual(len(blocked), 20, every)
        for task in blocked:
            self.assertRegex(task, r"\n    wrap_lock\+0x[0-9a-f]+( \(wraplock\.c:\d+\))?\n", task)

    def test_without_config_every_wait_is_at_the_wrapper(self):
        sites, _ = self.sites_with("")
        self.assertEqual(len(sites), 1, sites)
        (site, blocked), = sites.items()
        self.assertTrue(site.startswith("wrap_lock+0x"), site)
        self.assertEqual(blocked, 20)

    def test_skipped_function_sites_each_wait_at_its_caller(self):
        sites, every = self.sites_with("sites:\n  skip_functions: [wrap_lock]\n")
        self.assert_sited_at_callers(sites, every)

    def test_skipped_module_sites_each_wait_at_its_caller(self):
        sites, every = self.sites_with("sites:\n  skip_modules: ['libwraplock_for_tests.so*']\n")
        self.assert_sited_at_callers(sites, every)

    def test_skipping_every_frame_of_the_program_keeps_the_innermost(self):
        # No frame past the skipped ones is the program's: the innermost
        # skipped frame is the site, as if nothing were skipped.
        sites, _ = self.sites_with(
            "sites:\n  skip_functions: [wrap_lock, 'wait_on_lock_?']\n")
        self.assertEqual(len(sites), 1, sites)
        self.assertTrue(next(iter(sites)).startswith("wrap_lock+0x"), sites)

    def python_sites(self, sites_yaml):
        script = (
            "import sys, threading\n"
            "locks = [threading.Lock() for _ in range(5)]\n"
            "for l in locks: l.acquire()\n"
            "def body(l):\n    l.acquire(); l.release()\n"
            "ts = [threading.Thread(target=body, args=(locks[i % 5],)) for i in range(20)]\n"
            "for t in ts: t.start()\n"
            "sys.stdin.readline()\n"
            "for l in locks: l.release()\n"
            "for t in ts: t.join()\n")
        run = Run([ARGS.python, "-c", script], sites_yaml, self.tmp)
        try:
            sites = sites_of(run.wait_blocked(20))
        finally:
            run.finish()
        print("\n  python3, 20 threads on 5 locks, %r: %s" % (sites_yaml, sites), file=sys.stderr)
        return sites

    def test_python_locks_are_one_site_at_pythread_or_past_it(self):
        # The C frames of a Python-level lock wait are the same for every
        # lock (the script's line is not a C frame): one site either way.
        # The defaults leave CPython's wrapper as the site (its name says what
        # waits); skipping PyThread_* moves the site into the interpreter.
        if not ARGS.python:
            self.skipTest("no --python")
        sites = self.python_sites("")
        self.assertEqual(list(sites.values()), [20], sites)
        self.assertTrue(next(iter(sites)).startswith("PyThread_acquire_lock"), sites)
        sites = self.python_sites("sites:\n  skip_functions: ['PyThread_*']\n")
        self.assertEqual(sum(sites.values()), 20, sites)
        self.assertFalse([s for s in sites if s.startswith("PyThread_")], sites)

def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--preload", required=True)
    parser.add_argument("--program", required=True)
    parser.add_argument("--python")
    ARGS, rest = parser.parse_known_args()
    ARGS.preload = os.path.abspath(ARGS.preload)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
