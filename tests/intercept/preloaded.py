"""What the preload tests share: a free loopback port, a config and an
environment that run a program under LD_PRELOAD=libleakwatch_preload.so with
its exporter on a given port, the exporter's /debug/tasks text, a command run
with a hang bound, and the line of a test program's marked wait."""
import os
import socket
import subprocess
import urllib.request

TIMEOUT = 60  # a hang, not a slow run


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path, port, extra="", sampler=True):
    """A leakwatch config at `path`: the exporter on 127.0.0.1:`port`, a 100 ms
    sampler (unless not `sampler`), then `extra` (YAML)."""
    with open(path, "w") as f:
        f.write("exporter:\n  listen: 127.0.0.1:%d\n" % port)
        if sampler:
            f.write("sampler:\n  interval: 100ms\n")
        f.write(extra)
    return path


def preloaded_env(preload, config, **extra):
    """This process's environment without any LEAKWATCH_* or LD_PRELOAD of its
    own, with the preload library, `config` and `extra` set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAKWATCH_") and k != "LD_PRELOAD"}
    env.update(LD_PRELOAD=preload, LEAKWATCH_CONFIG=config, **extra)
    return env


def fetch_tasks(port, debug):
    """The exporter's /debug/tasks?debug=`debug` text."""
    url = "http://127.0.0.1:%d/debug/tasks?debug=%d" % (port, debug)
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def run(cmd, check=True, **kw):
    """`cmd`'s completed process, its output as text; a hang fails after TIMEOUT."""
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=TIMEOUT, **kw)


def wait_line(source):
    """The 1-based line of `source` that holds the marker LINE-OF-THE-WAIT."""
    with open(source) as f:
        for number, line in enumerate(f, 1):
            if "LINE-OF-THE-WAIT" in line:
                return number
    raise AssertionError("no marker in " + source)
