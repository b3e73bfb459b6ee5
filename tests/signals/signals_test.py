#!/usr/bin/env python3
"""The agent never takes the host's signals (issue 20).

Every scenario runs three ways: the plain program, the same binary under
LD_PRELOAD=libleakwatch_preload.so, and a build linked with leakwatch that calls
leakwatch::Start() before it blocks any signal. The agent's runs must behave as
the plain one does:
  * a sigwait server (SIGTERM, SIGINT, SIGHUP blocked in all of its threads,
    no-op handlers) gets each signal sent to the process and exits;
  * every thread of that process, the agent's included, blocks SIGTERM;
  * SIGALRM and SIGCHLD handlers run on the program's handler thread, and
    waitpid() sees the program's children;
  * SIGPIPE's and SIGCHLD's dispositions are the ones the program started with
    or set itself, before or after the agent started;
  * coreutils pipelines closed early keep their exit statuses and stderr.

Usage: signals_test.py --host BIN --linked BIN --preload SO --config YAML
                       --linked-config YAML
"""
import argparse
import os
import signal
import subprocess
import sys
import unittest

ARGS = None
TIMEOUT = 60  # a hang, not a slow run: the fixed agent exits in milliseconds


def variants():
    """(name, binary, environment) for plain, preloaded and linked runs."""
    base = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "LEAKWATCH_CONFIG")}
    # The agent started at load (before the program touches any signal) and,
    # by default, just before the program's first thread.
    preload = dict(base, LD_PRELOAD=ARGS.preload, LEAKWATCH_CONFIG=ARGS.config,
                   LEAKWATCH_START="load")
    first_thread = dict(base, LD_PRELOAD=ARGS.preload, LEAKWATCH_CONFIG=ARGS.config)
    linked = dict(base, LEAKWATCH_CONFIG=ARGS.linked_config)
    return [("plain", ARGS.host, base), ("preload", ARGS.host, preload),
            ("preload-first-thread", ARGS.host, first_thread),
            ("linked", ARGS.linked, linked)]


def start(binary, mode, env, ignore_sigpipe=False):
    """Starts the host and waits for its "ready" line."""
    proc = subprocess.Popen([binary, mode], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            restore_signals=not ignore_sigpipe)
    proc.preamble = []
    line = proc.stdout.readline()
    while line not in ("ready\n", ""):
        proc.preamble.append(line.split())
        line = proc.stdout.readline()
    if line != "ready\n":
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError("%s %s did not start: %r %s" % (binary, mode, line, err))
    return proc


def finish(proc):
    """Waits for the host to exit; kills it and fails when it hangs."""
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("still running %d s after the signal (killed)" % TIMEOUT)
    return proc.returncode, out, err


def threads(pid):
    """{tid: (comm, blocked-signal mask)} of every thread of `pid`."""
    result = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                comm = f.read().strip()
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                mask = [l.split()[1] for l in f if l.startswith("SigBlk:")][0]
        except OSError:
            continue  # exited meanwhile
        result[int(tid)] = (comm, int(mask, 16))
    return result


def blocks(mask, sig):
    return bool(mask & (1 << (sig - 1)))


class SigwaitServer(unittest.TestCase):
    def test_each_signal_reaches_the_sigwait_thread(self):
        for name, binary, env in variants():
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                with self.subTest(run=name, signal=sig.name):
                    proc = start(binary, "sigwait", env)
                    tasks = threads(proc.pid)
                    if name != "plain":
                        # The agent's threads are there (exporter, sampler; gRPC
                        # when linked), or this would prove nothing.
                        self.assertGreater(len(tasks), 6, tasks)
                    waiter = int(dict(proc.preamble)["sigwait-thread"])
                    unblocked = {t: c for t, (c, m) in tasks.items()
                                 if not blocks(m, sig) and t != waiter}
                    self.assertEqual(unblocked, {}, "threads that would take %s" % sig.name)
                    os.kill(proc.pid, sig)
                    rc, out, err = finish(proc)
                    self.assertEqual((rc, out, err), (0, "got %d\n" % sig, ""))


class ProgramHandlers(unittest.TestCase):
    def test_alarm_and_child_handlers_run_on_the_programs_thread(self):
        script = "alarm\nchild\n" * 10
        expected = "alarm handled on handler-thread\nchild exited 7, handled on handler-thread\n" * 10
        for name, binary, env in variants():
            with self.subTest(run=name):
                proc = start(binary, "handlers", env)
                try:
                    out, err = proc.communicate(script, timeout=TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    raise
                self.assertEqual((proc.returncode, out, err), (0, expected, ""))


class Dispositions(unittest.TestCase):
    def run_host(self, binary, mode, env, ignore_sigpipe):
        proc = subprocess.run([binary, mode], env=env, capture_output=True, text=True,
                              timeout=TIMEOUT, restore_signals=not ignore_sigpipe)
        return proc.returncode, proc.stdout, proc.stderr

    def test_the_agent_keeps_the_dispositions_the_program_started_with(self):
        # Python ignores SIGPIPE; restore_signals=False passes that on, as a
        # shell started from such a parent would.
        for ignore, pipe in ((False, "default"), (True, "ignored")):
            for name, binary, env in variants():
                with self.subTest(run=name, sigpipe=pipe):
                    self.assertEqual(self.run_host(binary, "disposition", env, ignore),
                                     (0, "SIGPIPE %s\nSIGCHLD default\n" % pipe, ""))

    def test_a_write_to_a_closed_pipe_kills_as_without_the_agent(self):
        cases = (("sigpipe", False, -signal.SIGPIPE, ""),
                 ("sigpipe", True, 0, "EPIPE\n"),
                 ("sigpipe-default-before", True, -signal.SIGPIPE, ""),
                 ("sigpipe-default-after", True, -signal.SIGPIPE, ""))
        for mode, ignore, rc, out in cases:
            for name, binary, env in variants():
                with self.subTest(run=name, mode=mode, inherited_ignore=ignore):
                    self.assertEqual(self.run_host(binary, mode, env, ignore), (rc, out, ""))


class Pipelines(unittest.TestCase):
    PIPELINES = [
        "yes | head -1",
        "seq 1 100000000 | head -1",
        "cat /dev/zero | head -c 4 | wc -c",
        "yes | tr y n | head -2",
    ]

    def run_pipeline(self, pipeline, env):
        # bash reports each stage's status: 141 is "killed by SIGPIPE".
        proc = subprocess.run(["bash", "-c", pipeline + '; echo "status ${PIPESTATUS[*]}"'],
                              env=env, capture_output=True, text=True, timeout=TIMEOUT)
        return proc.returncode, proc.stdout, proc.stderr

    def test_pipelines_closed_early_keep_their_status_and_stderr(self):
        runs = variants()
        plain_env, preload_env = runs[0][2], runs[1][2]
        for pipeline in self.PIPELINES:
            with self.subTest(pipeline=pipeline):
                plain = self.run_pipeline(pipeline, plain_env)
                self.assertIn(" 141", plain[1])  # the writer died of SIGPIPE
                self.assertEqual(self.run_pipeline(pipeline, preload_env), plain)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    for flag in ("--host", "--linked", "--preload", "--config", "--linked-config"):
        parser.add_argument(flag, required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
