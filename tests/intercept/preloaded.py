"""What the preload tests share: a free loopback port, and a config and an
environment that run a program under LD_PRELOAD=libleakwatch_preload.so with
its exporter on a given port."""
import os
import socket


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
