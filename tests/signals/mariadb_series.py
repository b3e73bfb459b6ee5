#!/usr/bin/env python3
"""Series exported by a preloaded MariaDB under sysbench (issue 21 part 6).

Not part of `make test` (about a minute per run on 2 cores). Starts Debian's
mariadbd (mariadb_shutdown_test.py's helpers) under PRELOAD_SO with a config of
a 1 s sampler plus EXTRA_YAML, prepares sysbench's oltp_read_write (4 tables of
10,000 rows), waits --quiet seconds, runs it with 8 threads for --seconds, and
prints the number of series on /metrics, the number of sites, and how many of
them are per-site series. With sites.drop_after shorter than --quiet, the sites
used only at start-up and during prepare are gone by the end of the run, as
they are an hour after start-up with the default drop_after of 1h.

Usage: mariadb_series.py PRELOAD_SO [--extra 'sites: {drop_after: 30s}'] [--quiet 35]
                         [--seconds 20]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mariadb_idle_test import free_port, get  # noqa: E402
from mariadb_shutdown_test import install_db, start  # noqa: E402


def sysbench(sock, command, seconds=0):
    cmd = ["sysbench", "oltp_read_write", "--db-driver=mysql", "--mysql-socket=" + sock,
           "--mysql-user=root", "--mysql-db=test", "--tables=4", "--table-size=10000",
           "--threads=8"]
    if seconds:
        cmd.append("--time=%d" % seconds)
    out = subprocess.run(cmd + [command], check=True, capture_output=True, text=True).stdout
    m = re.search(r"transactions:\s+\d+\s+\((\S+) per sec", out)
    return float(m.group(1)) if m else None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("preload")
    p.add_argument("--extra", default="")
    p.add_argument("--quiet", type=float, default=0)
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--list-sites", action="store_true",
                   help="also print each site's blocked tasks and finished waits")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="leakwatch-mariadb-series-") as datadir, \
            tempfile.TemporaryDirectory(prefix="leakwatch-mariadb-series-tmp-") as tmpdir:
        port = free_port()
        config = os.path.join(datadir, "leakwatch.yaml")
        with open(config, "w") as f:
            f.write("exporter:\n  listen: 127.0.0.1:%d\nsampler:\n  interval: 1s\n" % port)
            f.write(args.extra + "\n")
        install_db(datadir, tmpdir)
        os.mkdir(os.path.join(datadir, "test"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEAKWATCH_")}
        env.update(LD_PRELOAD=os.path.abspath(args.preload), LEAKWATCH_CONFIG=config)
        proc, sock, _ = start(datadir, tmpdir, env)
        try:
            sysbench(sock, "prepare")
            time.sleep(args.quiet)  # the quiet period is what is measured, not a wait for state
            tps = sysbench(sock, "run", args.seconds)
            metrics = get(port, "/metrics")
            samples = [l for l in metrics.splitlines() if l and not l.startswith("#")]
            sites = {re.search(r'site="((?:[^"\\]|\\.)*)"', l).group(1) + "|" +
                     re.search(r'op="(\w+)"', l).group(1)
                     for l in samples if l.startswith("leakwatch_blocked_tasks{")}
            per_site = [l for l in samples if 'site="' in l]
            print("extra=%r quiet=%gs: %.0f tps, %d series, %d sites, %d per-site series"
                  % (args.extra, args.quiet, tps or 0, len(samples), len(sites), len(per_site)))
            if args.list_sites:
                for l in samples:
                    if l.startswith(("leakwatch_blocked_tasks{",
                                     "leakwatch_block_duration_seconds_count{")):
                        print(l)
        finally:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
