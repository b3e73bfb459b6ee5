#!/usr/bin/env python3
"""Many short preloaded processes exit 0 at once and load no debuginfod client.

The symbolizer (core/debuginfo.h) once found separate debug files with libdwfl's
dwfl_standard_find_debuginfo, which dlopens libdebuginfod (libcurl, GnuTLS) for
every module without a local debug file, DEBUGINFOD_URLS or not, and read the
program's tables as the agent started. Short preloaded processes then raced
their exit against those libraries' loading, and under load 17 of 520 runs of
the intercept tests went bad. Now debug files are found on disk by leakwatch's
own search (core/debug_files.h), debuginfod only when DEBUGINFOD_URLS is set,
and nothing is read before the first question.

short_processes/block_once.c blocks once and exits; it exits 3
if libdebuginfod or libcurl is mapped at its end. Run under the preload,
several at a time, with the dynamic loader's log (LD_DEBUG=files) of every
process:
  - /bin/true (no thread: no agent), /bin/true with LEAKWATCH_START=load (an
    agent, no wait), block_once built -g, and block_once stripped of every
    symbol (as distribution binaries are, no debug file anywhere): each exits 0
    within SHORT seconds, and no process's loader log shows libdebuginfod or
    libcurl loaded;
  - block_once paused after its block, its exporter on: the site is named from
    DWARF (-g: "wait_once+0xOFF (block_once.c:LINE)") or is module+0xOFF
    (stripped), /debug/tasks?debug=2 symbolizes every frame (libc's too, which
    has no debug file here), and then /proc/PID/maps has neither library.

Usage: short_processes_test.py --preload SO --cc CC [--rounds N]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from preloaded import TIMEOUT, fetch_tasks, free_port, preloaded_env, run, wait_line, write_config

ARGS = None
SHORT = 10.0  # seconds: "quickly" for one short process on a loaded machine
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "short_processes", "block_once.c")
CLIENT_LIBRARIES = re.compile(r"libdebuginfod|libcurl")








class ShortProcessesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lw-short-")
        cls.line = wait_line(SOURCE)
        cls.with_dwarf = os.path.join(cls.tmp, "block_once")
        run([ARGS.cc, "-g", "-O1", "-fno-omit-frame-pointer", "-Wl,--build-id=sha1", "-o",
             cls.with_dwarf, SOURCE, "-pthread"])
        cls.stripped = os.path.join(cls.tmp, "block_once_stripped")
        shutil.copy2(cls.with_dwarf, cls.stripped)
        run(["strip", "--strip-all", cls.stripped])
        cls.quiet_config = os.path.join(cls.tmp, "quiet.yaml")
        with open(cls.quiet_config, "w") as f:
            f.write("exporter:\n  enabled: false\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def env(self, config, **extra):
        env = preloaded_env(ARGS.preload, config, **extra)
        env.pop("DEBUGINFOD_URLS", None)  # what a user without debuginfod has
        return env

    def test_short_processes_exit_zero_quickly_without_debuginfod(self):
        what = {
            "true": (["/bin/true"], {}),
            "true, agent at load": (["/bin/true"], {"LEAKWATCH_START": "load"}),
            "block_once -g": ([self.with_dwarf], {}),
            "block_once stripped": ([self.stripped], {}),
        }
        logs = os.path.join(self.tmp, "ld")
        os.mkdir(logs)

        def one(job):
            name, round_ = job
            cmd, extra = what[name]
            log = os.path.join(logs, "%s-%d" % (name.replace(" ", "_").replace(",", ""), round_))
            env = self.env(self.quiet_config, LD_DEBUG="files", LD_DEBUG_OUTPUT=log, **extra)
            start = time.monotonic()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
            return name, proc.returncode, proc.stderr, time.monotonic() - start

        jobs = [(name, r) for r in range(ARGS.rounds) for name in what]
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(one, jobs))
        failed = ["%s: exit %d after %.2f s: %s" % (n, rc, t, err.strip())
                  for n, rc, err, t in results if rc != 0 or t > SHORT]
        loaded = []
        for log in os.listdir(logs):
            with open(os.path.join(logs, log)) as f:
                for line in f:
                    if CLIENT_LIBRARIES.search(line):
                        loaded.append("%s: %s" % (log, line.strip()))
                        break
        for name in what:
            times = [t for n, _, _, t in results if n == name]
            print("\n  %-22s %3d runs: median %.3f s, max %.3f s" %
                  (name, len(times), statistics.median(times), max(times)), file=sys.stderr,
                  end="")
        print(file=sys.stderr)
        self.maxDiff = 4000
        self.assertEqual((failed[:3], loaded[:3]), ([], []),
                         "%d of %d processes failed, %d loaded a debuginfod client"
                         % (len(failed), len(jobs), len(loaded)))
        # The logs are real: every process logged its own libraries.
        self.assertEqual(len(os.listdir(logs)), len(jobs))

    def blocked_and_symbolized(self, program):
        """(site, dump, maps) of `program` paused after its one block."""
        port = free_port()
        config = write_config(os.path.join(self.tmp, "exporter-%d.yaml" % port), port)
        proc = subprocess.Popen([program, "pause"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=self.env(config))
        try:
            self.assertEqual(proc.stdout.readline(), b"blocked\n")
            deadline = time.monotonic() + TIMEOUT
            site = None
            last = ""
            while site is None and time.monotonic() < deadline:
                try:
                    last = fetch_tasks(port, 1)
                except OSError:
                    time.sleep(0.05)
                    continue
                m = re.search(r"^1 blocked @ (.+) \[mutex\]", last, re.M)
                if m:
                    site = m.group(1)
                else:
                    time.sleep(0.05)
            self.assertIsNotNone(site, "never saw the blocked thread; last dump:\n" + last)
            dump = fetch_tasks(port, 2)  # symbolizes every frame, libc's included
            with open("/proc/%d/maps" % proc.pid) as f:
                maps = f.read()
        finally:
            out, err = proc.communicate(b"go\n", timeout=TIMEOUT)
        self.assertEqual(proc.returncode, 0, err.decode())
        return site, dump, maps

    def assert_no_client_mapped(self, maps):
        self.assertEqual([l for l in maps.splitlines() if CLIENT_LIBRARIES.search(l)], [])
        # The maps are those of a process that ran the agent and its libdw.
        self.assertIn("libleakwatch_preload_agent", maps)
        self.assertIn("libdw", maps)

    def test_blocked_program_with_dwarf_is_named_and_maps_no_client(self):
        site, dump, maps = self.blocked_and_symbolized(self.with_dwarf)
        self.assertRegex(site, r"^wait_once\+0x[0-9a-f]+ \(block_once\.c:%d\)$" % self.line)
        self.assertIn("start_thread+", dump)
        self.assert_no_client_mapped(maps)

    def test_blocked_stripped_program_maps_no_client(self):
        site, dump, maps = self.blocked_and_symbolized(self.stripped)
        self.assertRegex(site, r"^block_once_stripped\+0x[0-9a-f]+$")
        self.assertRegex(dump, r"    block_once_stripped\+0x[0-9a-f]+ \(build-id [0-9a-f]+\)\n")
        self.assert_no_client_mapped(maps)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--preload", required=True)
    parser.add_argument("--cc", required=True)
    parser.add_argument("--rounds", type=int, default=25)
    ARGS, rest = parser.parse_known_args()
    ARGS.preload = os.path.abspath(ARGS.preload)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
