"""Measures what one leakwatch-judge cycle costs against a real Prometheus:
backfills SITES x INSTANCES series of leakwatch_stuck_tasks (one job, one
sample a minute over HOURS, restarts every 6 h) with promtool, then runs
`leakwatch-judge --once` a few times and prints the cycle, query and judging
time and the judge's peak RSS. Not a test (no assertion on time): the numbers
behind the README's query-cost paragraph.

  python3 tests/judge/read_cost.py --sites 100 --instances 10 --hours 24 \\
      [--runs 3] [--max-points-per-query 250000] [--threads 2]
"""

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import judge_harness  # noqa: E402
from judge_harness import harness  # noqa: E402

CYCLE = re.compile(r"judged (\d+) groups \((\d+) series\) in ([\d.]+)s \(queries ([\d.]+)s, judging ([\d.]+)s\)")


def write_history(path, sites, instances, hours, end):
    rng = random.Random(1)
    begin = end - hours * 3600
    times = range(begin, end, 60)
    with open(path, "w") as f:
        f.write("# TYPE process_start_time_seconds gauge\n")
        for i in range(instances):
            f.write("".join(f'process_start_time_seconds{{job="big",instance="i{i}"}} '
                            f"{begin - 3600 + (t - begin) // 21600 * 21600} {t}\n" for t in times))
        f.write("# TYPE leakwatch_stuck_tasks gauge\n")
        for s in range(sites):
            for i in range(instances):
                f.write("".join(f'leakwatch_stuck_tasks{{job="big",instance="i{i}",site="src/module_{s}.cc:{s * 7 + 1}",'
                                f'op="mutex"}} {rng.randint(0, 9)} {t}\n' for t in times))
        f.write("# EOF\n")
    return len(times) * instances * (sites + 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--instances", type=int, default=10)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-points-per-query", type=int, default=250000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="leakwatch-read-cost-")
    try:
        end = int(time.time()) // 60 * 60 - 600
        text = os.path.join(work, "history.om")
        samples = write_history(text, args.sites, args.instances, args.hours, end)
        storage = os.path.join(work, "data")
        t0 = time.monotonic()
        subprocess.run([harness.find_tool("promtool"), "tsdb", "create-blocks-from", "openmetrics", text, storage],
                       check=True, capture_output=True)
        print(f"backfilled {samples:,} samples in {time.monotonic() - t0:.0f} s")
        os.remove(text)
        with harness.Prometheus([], storage=storage, extra_args=["--storage.tsdb.retention.time=100y"]) as prom:
            print("series  points/cycle  cycle_s  query_s  judge_s  peak_rss_MB")
            for _ in range(args.runs):
                err = os.path.join(work, "judge.err")
                with open(err, "w") as errf:
                    proc = subprocess.Popen(
                        [judge_harness.JUDGE, f"--prometheus={prom.url}", "--once", f"--at={end}",
                         f"--lookback={args.hours}h", f"--threads={args.threads}",
                         f"--max-points-per-query={args.max_points_per_query}"],
                        stdout=subprocess.DEVNULL, stderr=errf)
                    # wait4 gives this child's own peak RSS (KiB on Linux).
                    _, status, usage = os.wait4(proc.pid, 0)
                    proc.returncode = os.waitstatus_to_exitcode(status)
                with open(err) as errf:
                    stderr = errf.read()
                if proc.returncode != 0:
                    raise SystemExit(f"leakwatch-judge failed: {stderr}")
                rss = usage.ru_maxrss
                m = CYCLE.search(stderr)
                series = int(m.group(2))
                points = series * (args.hours * 60 + 1)
                # ru_maxrss of children is the largest any child reached so far.
                print(f"{series:6d}  {points:12,d}  {float(m.group(3)):7.2f}  {float(m.group(4)):7.2f}  "
                      f"{float(m.group(5)):7.2f}  {rss / 1024:8.0f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
