#!/usr/bin/env python3
"""Debian's memcached -t 4 under the preload: idle waits are idle, under load and after.

memcached's maintenance threads (mc-assocmaint, mc-itemcrawler, mc-log,
mc-slabmaint) wait on condition variables for as long as it runs; its mc-worker
threads wait for events in epoll_wait, which is not interposed. With the default
sites.idle_threads and a 3 s tasks.stuck_after (CONFIG_YAML), while 4 clients
set and get keys and after they stop: leakwatch_idle_tasks counts the
maintenance threads, leakwatch_stuck_tasks is 0 everywhere, and every
maintenance thread shows in /debug/tasks?debug=2 marked idle.
Usage: memcached_idle_test.py PRELOAD_SO CONFIG_YAML
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mariadb_idle_test import free_port, gauges, get, nonzero, wait_for  # noqa: E402

MAINTENANCE = ("mc-assocmaint", "mc-itemcrawler", "mc-log", "mc-slabmaint")
CLIENTS = 4


def load(port, stop, counts, index):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        f = s.makefile("rwb")
        n = 0
        while not stop.is_set():
            key = b"k%d_%d" % (index, n % 500)
            f.write(b"set %s 0 0 5\r\nvalue\r\nget %s\r\n" % (key, key))
            f.flush()
            assert f.readline() == b"STORED\r\n"
            assert f.readline().startswith(b"VALUE")
            f.readline()
            assert f.readline() == b"END\r\n"
            n += 1
        counts[index] = n


def main():
    sys.stdout.reconfigure(line_buffering=True)
    preload, config_path = os.path.abspath(sys.argv[1]), sys.argv[2]
    memcached = shutil.which("memcached") or "/usr/bin/memcached"
    if not os.path.exists(memcached):
        raise SystemExit("FAIL: memcached is not installed (make test installs it)")
    with tempfile.TemporaryDirectory(prefix="leakwatch-memcached-") as tmp:
        port, mc_port = free_port(), free_port()
        config = os.path.join(tmp, "leakwatch.yaml")
        with open(config, "w") as f:
            f.write(open(config_path).read())
            f.write("exporter:\n  listen: 127.0.0.1:%d\n" % port)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEAKWATCH_")}
        env.update(LD_PRELOAD=preload, LEAKWATCH_CONFIG=config)
        proc = subprocess.Popen([memcached, "-u", "root", "-t", "4", "-U", "0", "-l", "127.0.0.1",
                                 "-p", str(mc_port)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        stop = threading.Event()
        counts = [0] * CLIENTS
        clients = []
        try:
            def up():
                try:
                    return True, gauges(port, "leakwatch_blocked_tasks")
                except OSError as e:
                    if proc.poll() is not None:
                        raise AssertionError("memcached exited: %s" % proc.stderr.read())
                    return False, e
            wait_for("the exporter", up)
            wait_for("memcached's port", lambda: (lambda r: (r == 0, r))(
                socket.socket().connect_ex(("127.0.0.1", mc_port))))
            clients = [threading.Thread(target=load, args=(mc_port, stop, counts, i))
                       for i in range(CLIENTS)]
            for c in clients:
                c.start()
            # Under load: the maintenance threads pass tasks.stuck_after, idle.
            idle = wait_for("the maintenance threads idle under load",
                            lambda: (lambda v: (sum(v.values()) >= len(MAINTENANCE), v))(
                                gauges(port, "leakwatch_idle_tasks")))
            stuck = nonzero(gauges(port, "leakwatch_stuck_tasks"))
            assert all(c.is_alive() for c in clients), "a client stopped early"
            print("under load: idle %s, stuck %s" % (idle, stuck))
            assert not stuck, "stuck under load: %s\n%s" % (stuck, get(port, "/debug/tasks?debug=1"))
            stop.set()
            for c in clients:
                c.join()
            print("requests: %d" % sum(counts))
            assert sum(counts) > 0
            # After the load, once every thread has waited longer than stuck_after.
            dump = wait_for("every maintenance thread marked idle in the dump",
                            lambda: (lambda d: (all(re.search(
                                r"\[condvar, [^\]]*, idle\]: kind thread, .*\"%s\"" % name, d)
                                for name in MAINTENANCE), d))(get(port, "/debug/tasks?debug=2")))
            stuck = nonzero(gauges(port, "leakwatch_stuck_tasks"))
            print("after: stuck %s" % stuck)
            assert not stuck, "stuck after the load: %s\n%s" % (stuck, dump)
            print("PASS")
            return 0
        finally:
            stop.set()
            for c in clients:
                c.join(timeout=10)
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
