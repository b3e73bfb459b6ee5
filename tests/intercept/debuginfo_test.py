#!/usr/bin/env python3
"""Names and file:line for preloaded programs from debug information (issue 21, part 2).

The test builds debuginfo/blocked_static.c with -g and a build-id, splits its
debug information into a separate file (objcopy --only-keep-debug), strips the
program (strip --strip-debug --strip-unneeded: no .symtab, so its static
functions have no name in it) and runs it under LD_PRELOAD=libleakwatch_preload.so
with one thread blocked in a static function:
  - debug file found through .gnu_debuglink next to the program: the site is
    "wait_in_static_function+0xOFF (blocked_static.c:LINE)";
  - debug file only under a configured directory (sites.debug_dirs), laid out
    by build-id: the same site;
  - no debug file: the site is "blocked_static+0xOFF", /debug/tasks?debug=2
    shows the module's build-id, and leakwatch-symbolize, given the debug file
    (by path, or by build-id and directory), turns the label into the name.

Stacks without frame pointers (issue 21, part 7): debuginfo/deep_no_frame_pointer.c,
built -O2 -fomit-frame-pointer, blocks a thread 10 calls deep; its stack in
/debug/tasks?debug=2 (unwound with the CFI tables) shows all 10 levels. With
--memcached, Debian's memcached (built without frame pointers) under load
shows a blocked worker's stack of 8 or more frames.

Usage: debuginfo_test.py --preload SO --cc CC --symbolize BIN [--memcached BIN]
"""
import argparse
import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from preloaded import TIMEOUT, fetch_tasks, free_port, preloaded_env, run, wait_line, write_config

ARGS = None
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "debuginfo",
                      "blocked_static.c")


def build_id_of(path):
    notes = run(["readelf", "-n", path]).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", notes)
    if not m:
        raise AssertionError("no build-id in " + path + ":\n" + notes)
    return m.group(1)


def preloaded(cmd, sites_yaml, tmp, extra_env=None):
    """(process, exporter port): `cmd` under the preload library (with
    `extra_env`, else without DEBUGINFOD_URLS)."""
    port = free_port()
    config = write_config(os.path.join(tmp, "leakwatch-%d.yaml" % port), port, sites_yaml)
    env = preloaded_env(ARGS.preload, config)
    env.pop("DEBUGINFOD_URLS", None)  # only the files this test lays out
    env.update(extra_env or {})
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env), port


def blocked_site(program, sites_yaml, tmp, extra_env=None, maps=None):
    """(debug=1 site label, debug=2 dump) of the program's one blocked thread;
    its /proc/PID/maps then appended to the list `maps` if given."""
    proc, port = preloaded([program], sites_yaml, tmp, extra_env)
    try:
        deadline = time.monotonic() + TIMEOUT
        last = ""
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError("exited with %s: %s" % (proc.returncode,
                                                              proc.stderr.read().decode()))
            try:
                last = fetch_tasks(port, 1)
                m = re.search(r"^1 blocked @ (.+) \[mutex\]", last, re.M)
                if m:
                    every = fetch_tasks(port, 2)
                    if maps is not None:
                        with open("/proc/%d/maps" % proc.pid) as f:
                            maps.append(f.read())
                    return m.group(1), every
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("never saw the blocked thread; last dump:\n" + last)
    finally:
        out, err = proc.communicate(b"go\n", timeout=TIMEOUT)
        if proc.returncode != 0:
            raise AssertionError("exit %d: %s" % (proc.returncode, err.decode()))


class DebugInfoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lw-debuginfo-")
        cls.line = wait_line(SOURCE)
        # Built, then split: bin/blocked_static (stripped, .gnu_debuglink) and
        # bin/blocked_static.debug.
        bindir = os.path.join(cls.tmp, "bin")
        os.mkdir(bindir)
        cls.program = os.path.join(bindir, "blocked_static")
        cls.debug_file = cls.program + ".debug"
        run([ARGS.cc, "-g", "-O1", "-fno-omit-frame-pointer", "-Wl,--build-id=sha1", "-o",
             cls.program, SOURCE, "-pthread"])
        run(["objcopy", "--only-keep-debug", cls.program, cls.debug_file])
        run(["strip", "--strip-debug", "--strip-unneeded", cls.program])
        run(["objcopy", "--add-gnu-debuglink=" + cls.debug_file, cls.program], cwd=bindir)
        cls.build_id = build_id_of(cls.program)
        # The same program elsewhere, its debug file only under a debug
        # directory laid out by build-id.
        lonely = os.path.join(cls.tmp, "lonely")
        os.mkdir(lonely)
        cls.lonely_program = os.path.join(lonely, "blocked_static")
        shutil.copy2(cls.program, cls.lonely_program)
        cls.debug_dir = os.path.join(cls.tmp, "debug")
        by_id = os.path.join(cls.debug_dir, ".build-id", cls.build_id[:2])
        os.makedirs(by_id)
        shutil.copy2(cls.debug_file, os.path.join(by_id, cls.build_id[2:] + ".debug"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def assert_named(self, label):
        self.assertRegex(label, r"^wait_in_static_function\+0x[0-9a-f]+ \(blocked_static\.c:%d\)$"
                         % self.line)

    def test_stripped_program_has_no_name_of_its_own(self):
        # What makes the other cases meaningful: the stripped program itself
        # does not name the static function.
        out = run(["nm", self.program], check=False)
        self.assertNotIn("wait_in_static_function", out.stdout + out.stderr)
        self.assertIn("wait_in_static_function", run(["nm", self.debug_file]).stdout)

    def test_debuglink_next_to_the_program_names_the_static_function_and_line(self):
        site, every = blocked_site(self.program, "", self.tmp)
        self.assert_named(site)
        self.assertIn("blocked at " + site, every)
        # The dump's stack: the waiting function, then its static caller.
        self.assertRegex(every, r"\n    wait_in_static_function\+0x[0-9a-f]+ \(blocked_static\.c:%d\)\n"
                         r"    worker\+0x[0-9a-f]+ \(blocked_static\.c:\d+\)\n" % self.line)

    def test_debug_dir_by_build_id_names_the_static_function_and_line(self):
        site, _ = blocked_site(self.lonely_program,
                               "sites:\n  debug_dirs: [%s]\n" % self.debug_dir, self.tmp)
        self.assert_named(site)

    def test_debuginfod_when_asked_names_the_static_function_and_line(self):
        # No debug file on disk for the lonely program; a debuginfod server on
        # loopback has it, and DEBUGINFOD_URLS names the server.
        debug_file = self.debug_file
        requests = []

        class FakeDebuginfod(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                requests.append(self.path)
                if self.path == "/buildid/%s/debuginfo" % DebugInfoTest.build_id:
                    with open(debug_file, "rb") as f:
                        body = f.read()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_error(404)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeDebuginfod)
        serving = threading.Thread(target=server.serve_forever)
        serving.start()
        cache = os.path.join(self.tmp, "debuginfod-cache-%d" % server.server_port)
        maps = []
        try:
            site, every = blocked_site(
                self.lonely_program, "", self.tmp,
                {"DEBUGINFOD_URLS": "http://127.0.0.1:%d" % server.server_port,
                 "DEBUGINFOD_CACHE_PATH": cache, "DEBUGINFOD_TIMEOUT": "30"}, maps)
        finally:
            server.shutdown()
            serving.join()
            server.server_close()
        self.assertIn("/buildid/%s/debuginfo" % self.build_id, requests)
        self.assert_named(site)
        self.assertRegex(every, r"\n    wait_in_static_function\+0x[0-9a-f]+ \(blocked_static\.c:%d\)\n"
                         % self.line)
        # Asked for, so loaded: the client is the process's own debuginfod.
        self.assertIn("libdebuginfod", maps[0])

    def test_without_debuginfod_urls_no_client_is_loaded(self):
        maps = []
        site, _ = blocked_site(self.lonely_program, "", self.tmp, None, maps)
        self.assertRegex(site, r"^blocked_static\+0x[0-9a-f]+$")
        self.assertNotIn("libdebuginfod", maps[0])
        self.assertNotIn("libcurl", maps[0])

    def test_without_debug_info_module_offset_build_id_and_resolve_command(self):
        site, every = blocked_site(self.lonely_program, "", self.tmp)
        self.assertRegex(site, r"^blocked_static\+0x[0-9a-f]+$")
        self.assertIn("    %s (build-id %s)\n" % (site, self.build_id), every)
        # The documented way back to names: the dump through leakwatch-symbolize.
        dump = os.path.join(self.tmp, "dump.txt")
        with open(dump, "w") as f:
            f.write(every)
        out = run([ARGS.symbolize, "--debug-file=" + self.debug_file, dump])
        self.assertNotIn(site + " ", out.stdout)
        self.assertRegex(out.stdout, r"blocked at wait_in_static_function\+0x[0-9a-f]+ "
                         r"\(blocked_static\.c:%d\)\n" % self.line)
        self.assertRegex(out.stderr, r"[1-9]\d* blocked_static\+0x\.\.\. labels? resolved")
        # A scrape's label, one a line on stdin, found by build-id.
        metric = 'leakwatch_blocked_tasks{site="%s",op="mutex"} 1\n' % site
        out = run([ARGS.symbolize, "--module=blocked_static", "--build-id=" + self.build_id,
                   "--debug-dir=" + self.debug_dir], input=metric)
        self.assertRegex(out.stdout, r'^leakwatch_blocked_tasks\{site="wait_in_static_function'
                         r'\+0x[0-9a-f]+ \(blocked_static\.c:%d\)",op="mutex"\} 1\n$' % self.line)
        self.assertIn("1 blocked_static+0x... label resolved", out.stderr)
        # Bad usage is named.
        bad = subprocess.run([ARGS.symbolize, "--build-id=xyz", "--module=m"],
                             capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(bad.returncode, 2, bad.stderr)
        self.assertIn("--build-id must be hexadecimal digits", bad.stderr)
        missing = subprocess.run([ARGS.symbolize, "--debug-file=/nonexistent/x.debug"],
                                 capture_output=True, text=True, timeout=TIMEOUT, input="")
        self.assertEqual(missing.returncode, 1, missing.stderr)
        self.assertIn("cannot read /nonexistent/x.debug", missing.stderr)


class NoDeadlockTest(unittest.TestCase):
    def test_wait_holding_the_loader_lock_gets_past_a_new_return_address(self):
        # A library constructor (under the dynamic loader's lock) waits at a
        # new return address; the symbolizer's dladdr() needs that lock: the
        # hook gives up on it after at most 2 s and the program runs on.
        tmp = tempfile.mkdtemp(prefix="lw-loader-")
        try:
            here = os.path.dirname(SOURCE)
            library = os.path.join(tmp, "libloader_lock_ctor.so")
            program = os.path.join(tmp, "loader_lock_main")
            run([ARGS.cc, "-g", "-O1", "-shared", "-fPIC", "-o", library,
                 os.path.join(here, "loader_lock_ctor.c")])
            run([ARGS.cc, "-g", "-O1", "-rdynamic", "-o", program,
                 os.path.join(here, "loader_lock_main.c"), "-pthread", "-ldl"])
            proc, _ = preloaded([program, library], "", tmp)
            start = time.monotonic()
            out, err = proc.communicate(timeout=TIMEOUT)
            elapsed = time.monotonic() - start
            self.assertEqual((proc.returncode, out, err), (0, b"through\n", b""))
            print("\n  loader-lock program finished in %.2f s" % elapsed, file=sys.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def stack_of(task):
    """The frames of a debug=2 task block."""
    return [l[4:] for l in task.split("\n")
            if l.startswith("    ") and not l.startswith("    blocked at ")]


class CfiStackTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lw-cfi-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_program_without_frame_pointers_shows_its_whole_stack(self):
        program = os.path.join(self.tmp, "deep_no_frame_pointer")
        run([ARGS.cc, "-g", "-O2", "-fomit-frame-pointer", "-o", program,
             os.path.join(os.path.dirname(SOURCE), "deep_no_frame_pointer.c"), "-pthread"])
        # What makes the test meaningful: level_10 does not set up %rbp.
        disassembly = run(["objdump", "-d", "--no-show-raw-insn", program]).stdout
        # (GCC may clone the static functions: level_10.constprop.0.)
        body = re.split(r"<level_10(?:\.[\w.]+)?>:", disassembly, 1)[1].split("\n\n", 1)[0]
        self.assertNotIn("mov    %rsp,%rbp", body)
        site, every = blocked_site(program, "", self.tmp)
        self.assertRegex(site, r"^level_10(\.[\w.]+)?\+0x")
        task = next(t for t in every.split("\n\n") if "blocked at " in t)
        frames = stack_of(task)
        names = [f.split("+0x")[0].split(".")[0] for f in frames]
        self.assertEqual(names[:11], ["level_%d" % i for i in range(10, 0, -1)] + ["worker"],
                         task)

    def test_memcached_worker_stacks_under_load_are_deep(self):
        # Debian's memcached is built without frame pointers: before CFI
        # unwinding every stack was one frame deep.
        if not ARGS.memcached:
            self.skipTest("no --memcached")
        mc_port = free_port()
        proc, port = preloaded([ARGS.memcached, "-u", "root" if os.getuid() == 0 else
                                os.environ.get("USER", "nobody"), "-t", "4", "-U", "0",
                                "-l", "127.0.0.1", "-p", str(mc_port)], "", self.tmp)
        stop = threading.Event()

        def client():
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                try:
                    s = socket.create_connection(("127.0.0.1", mc_port), timeout=5)
                    break
                except OSError:
                    time.sleep(0.05)
            f = s.makefile("rb")
            while not stop.is_set():
                s.sendall(b"set k 0 0 3 noreply\r\nabc\r\nincr n 1\r\nget k\r\n")
                for _ in range(4):
                    f.readline()
            s.close()

        clients = []
        try:
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                try:
                    s = socket.create_connection(("127.0.0.1", mc_port), timeout=5)
                    s.sendall(b"set n 0 0 1\r\n0\r\n")
                    s.recv(100)
                    s.close()
                    break
                except OSError:
                    time.sleep(0.05)
            clients = [threading.Thread(target=client) for _ in range(16)]
            for c in clients:
                c.start()
            deepest = []
            while time.monotonic() < deadline and len(deepest) < 8:
                try:
                    every = fetch_tasks(port, 2)
                except OSError:
                    continue
                for task in every.split("\n\n"):
                    if "\"mc-worker\"" in task and "blocked at " in task:
                        frames = stack_of(task)
                        if len(frames) > len(deepest):
                            deepest = frames
            print("\n  memcached, deepest blocked worker stack (%d frames):\n    %s"
                  % (len(deepest), "\n    ".join(deepest)), file=sys.stderr)
            self.assertGreaterEqual(len(deepest), 8, deepest)
            self.assertTrue(any(f.startswith("event_base_loop+") for f in deepest), deepest)
        finally:
            stop.set()
            for c in clients:
                c.join()
            proc.terminate()
            proc.communicate(timeout=TIMEOUT)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--preload", required=True)
    parser.add_argument("--cc", required=True)
    parser.add_argument("--symbolize", required=True)
    parser.add_argument("--memcached")
    ARGS, rest = parser.parse_known_args()
    ARGS.preload = os.path.abspath(ARGS.preload)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
