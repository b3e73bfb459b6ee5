#!/usr/bin/env python3
"""The right process gets the agent, loudly (issue 21, part 4).

LD_PRELOAD=libleakwatch_preload.so is set on a wrapper that starts the server
(tests/signals' signal_host in its sigwait mode: threads, then a sigwait for
SIGTERM), as `sh -c 'server'` (the shell execs it), `sh -c 'server; true'` (the
shell forks it and waits) and a script that starts it in the background and
waits for it (mysqld_safe, container entrypoints). In every case the server's
metrics are on the exporter's port, the port is the server's and not a
wrapper's, and no wrapper loaded the agent. When the port is taken, the server
says so once on stderr (address and reason) and runs on. LEAKWATCH_PROCESSES
keeps the agent out of executables it does not match.

A program that put a file of its own on descriptor 2 never gets the line in it.

Usage: preload_wrappers_test.py --preload SO --server BIN --stderr-swap BIN
"""
import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

from preloaded import free_port, preloaded_env, write_config

ARGS = None
TIMEOUT = 60  # a hang, not a slow run


def children_of(pid):
    """Every descendant of `pid`."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def exe(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return ""


def maps(pid):
    try:
        with open("/proc/%d/maps" % pid) as f:
            return f.read()
    except OSError:
        return ""


def listener_of(port):
    """The pid whose socket listens on 127.0.0.1:port, or None."""
    inodes = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port:
                inodes.add("socket:[%s]" % fields[9])
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            for fd in os.listdir("/proc/%s/fd" % entry):
                if os.readlink("/proc/%s/fd/%s" % (entry, fd)) in inodes:
                    return int(entry)
        except OSError:
            continue
    return None


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        return r.read().decode()


def wait_for(what, check):
    """Polls `check` until it returns a true value; fails after TIMEOUT."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


class Wrapped:
    """A wrapper command running the server, under the preload library."""

    def __init__(self, argv, port, extra_env=None):
        self.dir = tempfile.TemporaryDirectory()
        config = write_config(os.path.join(self.dir.name, "leakwatch.yaml"), port)
        env = preloaded_env(ARGS.preload, config, **(extra_env or {}))
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        while line not in ("ready\n", ""):
            line = self.proc.stdout.readline()
        if line != "ready\n":
            self.proc.kill()
            raise AssertionError("the server did not start: %r" % (self.proc.communicate(),))
        self.server = wait_for("the server's process", self.find_server)

    def find_server(self):
        for pid in [self.proc.pid] + children_of(self.proc.pid):
            if exe(pid) == os.path.realpath(ARGS.server):
                return pid
        return None

    def wrappers(self):
        """The wrapper's processes (shells), the server excluded."""
        return [p for p in [self.proc.pid] + children_of(self.proc.pid) if p != self.server]

    def stop(self):
        """SIGTERM to the server; (wrapper's exit status, stdout, stderr)."""
        os.kill(self.server, signal.SIGTERM)
        try:
            out, err = self.proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise
        self.dir.cleanup()
        return self.proc.returncode, out, err


def wrappers(server):
    script = os.path.join(tempfile.gettempdir(), "leakwatch-wrapper-%d.sh" % os.getpid())
    with open(script, "w") as f:
        # Starts the server as a child and waits for it, as mysqld_safe does.
        f.write('#!/bin/sh\n"$@" &\nchild=$!\nwait "$child"\nexit $?\n')
    os.chmod(script, 0o755)
    return [("sh -c 'server'", ["sh", "-c", server + " sigwait"]),
            ("sh -c 'server; true'", ["sh", "-c", server + " sigwait; true"]),
            ("script forking the server", [script, server, "sigwait"])]


class WrappedServer(unittest.TestCase):
    def test_the_server_serves_its_metrics_and_no_wrapper_takes_the_port(self):
        for name, argv in wrappers(ARGS.server):
            with self.subTest(wrapper=name):
                port = free_port()
                run = Wrapped(argv, port)
                # The server's threads are on its port: itself, the sigwait
                # thread and its workers (which may start after the first
                # scrape is answered: wait for them).
                threads = wait_for("the server's three threads on its metrics",
                                   lambda: (n := scrape_threads(port) or 0) >= 3 and n)
                self.assertGreaterEqual(threads, 3)
                self.assertEqual(listener_of(port), run.server)
                for pid in run.wrappers():
                    self.assertIn("libleakwatch_preload.so", maps(pid), "the wrapper %d is not "
                                  "preloaded: the test proves nothing" % pid)
                    self.assertNotIn("libleakwatch_preload_agent.so", maps(pid))
                self.assertIn("libleakwatch_preload_agent.so", maps(run.server))
                rc, out, err = run.stop()
                self.assertEqual((rc, out, err), (0, "got 15\n", ""))

    def test_a_taken_port_is_said_once_on_stderr_and_the_server_runs_on(self):
        for name, argv in wrappers(ARGS.server):
            with self.subTest(wrapper=name):
                with socket.socket() as taken:
                    taken.bind(("127.0.0.1", 0))
                    taken.listen()
                    port = taken.getsockname()[1]
                    run = Wrapped(argv, port)
                    server = run.server
                    self.assertIn("libleakwatch_preload_agent.so", maps(server))
                    rc, out, err = run.stop()
                self.assertEqual((rc, out), (0, "got 15\n"))
                lines = err.splitlines()
                self.assertEqual(len(lines), 1, err)
                self.assertRegex(lines[0], r"^leakwatch: %s \(pid %d\): exporter\.listen: "
                                 r"cannot serve on 127\.0\.0\.1:%d: Address already in use" %
                                 (re.escape(os.path.realpath(ARGS.server)), server, port))

    def test_processes_not_matching_leakwatch_processes_get_no_agent(self):
        base = os.path.basename(ARGS.server)
        for pattern, expect_agent in (("mysqld,memcached", False), (base, True),
                                      ("*/signals/signal_h*", True), ("sh", False)):
            with self.subTest(LEAKWATCH_PROCESSES=pattern):
                port = free_port()
                run = Wrapped(["sh", "-c", ARGS.server + " sigwait; true"], port,
                              {"LEAKWATCH_PROCESSES": pattern})
                if expect_agent:
                    wait_for("the server's metrics", lambda: scrape_threads(port))
                self.assertEqual("libleakwatch_preload_agent.so" in maps(run.server),
                                 expect_agent)
                self.assertEqual(listener_of(port), run.server if expect_agent else None)
                self.assertEqual(run.stop(), (0, "got 15\n", ""))


class StderrOfItsOwn(unittest.TestCase):
    def test_the_message_never_goes_into_a_file_the_program_put_on_descriptor_2(self):
        with tempfile.TemporaryDirectory() as tmp, socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            config = write_config(os.path.join(tmp, "leakwatch.yaml"), taken.getsockname()[1],
                                  sampler=False)
            env = preloaded_env(ARGS.preload, config)
            # Its own stderr: the start fails, and says so.
            run = subprocess.run([ARGS.stderr_swap, "-"], env=env, capture_output=True,
                                 text=True, timeout=TIMEOUT)
            self.assertEqual((run.returncode, run.stdout), (0, "done\n"))
            self.assertIn("Address already in use", run.stderr)
            # A file it opened on descriptor 2: the same failure, nothing written.
            data = os.path.join(tmp, "data")
            run = subprocess.run([ARGS.stderr_swap, data], env=env, capture_output=True,
                                 text=True, timeout=TIMEOUT)
            self.assertEqual((run.returncode, run.stdout, run.stderr), (0, "done\n", ""))
            self.assertEqual(os.path.getsize(data), 0)


def scrape_threads(port):
    """leakwatch_tasks{kind="thread"} on the port, or None while nothing answers."""
    try:
        text = scrape(port)
    except OSError:
        return None
    m = re.search(r'^leakwatch_tasks\{kind="thread"\} (\d+)', text, re.M)
    return int(m.group(1)) if m else None


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--preload", required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--stderr-swap", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest)
