"""LeakwatchTaskCountGrowing on the trend suite's series, in a real Prometheus.

Generates the healthy families of tests/trend/scenarios.h and fast leaks added to
some of them (leakwatch-trend-scenarios --add-leak), two days each, so their
first day has no yesterday; backfills them (`promtool tsdb create-blocks-from
openmetrics`) as leakwatch_tasks_long_lived with process_start_time_seconds,
plus the recording rule the alert reads (the 15-minute minimum, computed here as
Prometheus does at a 1-minute evaluation interval); then asks Prometheus for
every LeakwatchTaskCountGrowing rule's expression over the whole span (one
query_range each, 1-minute steps) and applies each rule's `for:`. Reports, per
family, false alarms (healthy series, and leak series before their leak) and,
per leak set, how many leaks fired within 4 hours and how late. Only the first
firing is measured: the first-day rule's hold (it reads ALERTS) needs rule
evaluation, which alerts/tests/task_count_growing_first_day_test.yaml covers.

  first_day_eval.py --scenarios build/tests/trend/leakwatch-trend-scenarios
                    [--healthy 60] [--leaks 20] [--seed 1] [--check]

--check (ctest) fails on any false alarm, and unless the rule catches most of the
50 %/h leaks on flat series and some of the 20 %/h ones. A leak counts as
eligible when it adds more than 25 tasks in 3 hours (the rule's absolute bound
is 20). Standard library and PyYAML."""

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration"))
import harness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = os.path.join(HERE, "..", "..", "alerts", "leakwatch-rules.yaml")
ALERT = "LeakwatchTaskCountGrowing"
HEALTHY = ["flat", "daily", "bursts", "sawtooth", "step", "restarts", "idle_pool", "longpoll"]
# (name, rate per hour of the level, families, leak start range in hours)
LEAK_SETS = [
    ("leak 10%/h", 0.10, ["flat", "daily", "longpoll", "bursts", "sawtooth"], "4:20"),
    ("leak 20%/h", 0.20, ["flat", "daily", "longpoll", "bursts", "sawtooth"], "4:20"),
    ("leak 50%/h", 0.50, ["flat", "daily", "longpoll", "bursts", "sawtooth"], "4:20"),
    ("leak 20%/h from the first sample", 0.20, ["flat", "daily", "longpoll"], "0:0"),
]
DAYS = 2
LATENCY_GOAL = 4 * 3600


def parse_duration(text):
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smhd])", str(text or "0s")))


def generate(tool, out, families, count, seed, leak=None):
    args = [tool, "--out", out, "--per-family", str(count), "--seed", str(seed), "--days", str(DAYS)]
    for f in families:
        args += ["--family", f]
    if leak:
        args += ["--add-leak", str(leak[0]), "--leak-start", leak[1]]
    subprocess.run(args, check=True, timeout=300)
    with open(os.path.join(out, "labels.csv"), encoding="utf-8") as f:
        return [(row["file"], row["family"], None if row["leak_start"] == "none" else int(row["leak_start"]))
                for row in csv.DictReader(f)]


def write_series(out, instance, path):
    """Appends the series of one scenario CSV; returns (first t, last t, level before its leak)."""
    rows = []
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            t, v, ps = line.rstrip("\n").split(",")
            rows.append((int(t), int(v), int(ps)))
    target = f'job="suite",instance="{instance}"'
    values = [v for _, v, _ in rows]
    # The alert reads only the floors and the start time: the raw count is left
    # out, and the start time is kept every 4 minutes (within the 5-minute
    # lookback, and at every change), which makes the backfill 2.5 times smaller.
    for i, (t, v, ps) in enumerate(rows):
        floor = min(values[max(0, i - 15):i + 1])  # min_over_time(x[15m]), both ends in (Prometheus 2.x)
        out["floor"].append(f'instance_kind:leakwatch_tasks_long_lived:min15m{{{target},kind="thread"}} {floor} {t}')
        if i % 4 == 0 or ps != rows[i - 1][2]:
            out["start"].append(f"process_start_time_seconds{{{target}}} {ps} {t}")
    return rows


def query_range(prom, expr, start, end):
    params = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": 60})
    status, body = harness.http_get(prom.url + "/api/v1/query_range?" + params, timeout=600)
    if status != 200:
        raise AssertionError(f"query_range answered {status}: {body[:500]}")
    return {r["metric"]["instance"]: [int(float(t)) for t, _ in r["values"]]
            for r in json.loads(body)["data"]["result"]}


def first_fire(times, hold):
    """The first evaluation at which the expression has been true for `hold` seconds
    without a gap (Prometheus' `for:` at a 1-minute evaluation interval)."""
    since = prev = None
    for t in times:
        if prev is None or t - prev > 60:
            since = t
        prev = t
        if t - since >= hold:
            return t
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", required=True, help="leakwatch-trend-scenarios")
    parser.add_argument("--healthy", type=int, default=60, help="series per healthy family")
    parser.add_argument("--leaks", type=int, default=20, help="series per family of each leak set")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="ctest's size: a few series per healthy family, the 20 and 50 %%/h leaks on flat")
    args = parser.parse_args()

    with open(RULES, encoding="utf-8") as f:
        rules = [r for g in yaml.safe_load(f)["groups"] for r in g["rules"] if r.get("alert") == ALERT]
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="leakwatch-firstday-")
    try:
        series = {}  # instance -> (set, family, leak_start, rows)
        lines = {"floor": [], "start": []}
        global LEAK_SETS
        if args.quick:
            LEAK_SETS = [(n, r, ["flat"], s) for n, r, _, s in LEAK_SETS if r >= 0.2 and s != "0:0"]
        sets = [("healthy", None, HEALTHY, None)] + [(n, (r, s), fams, None) for n, r, fams, s in LEAK_SETS]
        for k, (name, leak, families, _) in enumerate(sets):
            out = os.path.join(work, f"set{k}")
            seed = args.seed if leak is None else args.seed + 1 + k
            for file, family, leak_start in generate(args.scenarios, out, families,
                                                     args.healthy if leak is None else args.leaks, seed, leak):
                instance = f"set{k}/{file}"
                rows = write_series(lines, instance, os.path.join(out, file))
                series[instance] = (name, family, leak_start, rows)
        text = os.path.join(work, "suite.om")
        with open(text, "w", encoding="utf-8") as f:
            for kind, name in (("floor", "instance_kind:leakwatch_tasks_long_lived:min15m"),
                               ("start", "process_start_time_seconds")):
                f.write(f"# TYPE {name} gauge\n")
                f.write("\n".join(lines[kind]) + "\n")
            f.write("# EOF\n")
        lines = None
        storage = os.path.join(work, "data")
        print(f"(series written in {time.monotonic() - started:.0f} s)", flush=True)
        proc = subprocess.run([harness.find_tool("promtool"), "tsdb", "create-blocks-from", "openmetrics",
                               text, storage], capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            raise AssertionError(f"promtool create-blocks-from failed: {proc.stdout}{proc.stderr}")
        os.remove(text)
        print(f"(blocks created in {time.monotonic() - started:.0f} s)", flush=True)
        begin = min(s[3][0][0] for s in series.values())
        end = max(s[3][-1][0] for s in series.values())
        fired = {}  # instance -> (time, rule label)
        with harness.Prometheus([], storage=storage,
                                extra_args=["--storage.tsdb.retention.time=100y", "--query.timeout=10m"]) as prom:
            for rule in rules:
                which = "first day" if (rule.get("labels") or {}).get("history") else "yesterday"
                hold = parse_duration(rule.get("for"))
                # One query per generated set and half day keeps each query small.
                active = {}
                for k in range(len(sets)):
                    expr = rule["expr"].replace("min15m", f'min15m{{instance=~"set{k}/.*"}}').replace(
                        "process_start_time_seconds", f'process_start_time_seconds{{instance=~"set{k}/.*"}}')
                    for lo in range(begin, end + 1, 43200):
                        for instance, times in query_range(prom, expr, lo, min(end, lo + 43140)).items():
                            active.setdefault(instance, []).extend(times)
                for instance, times in active.items():
                    t = first_fire(sorted(set(times)), hold)
                    if t is not None and (instance not in fired or t < fired[instance][0]):
                        fired[instance] = (t, which)
        print(f"(evaluated in {time.monotonic() - started:.0f} s)")
        return report(series, fired, args.check)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(series, fired, check):
    problems = []
    print(f"{ALERT} on the trend suite ({DAYS} days a series, the first without yesterday)")
    print("\nhealthy family      series  false alarms (rule: hours after the first sample)")
    by_family = {}
    for instance, (name, family, leak_start, rows) in series.items():
        if name == "healthy":
            by_family.setdefault(family, []).append(instance)
    for family, instances in by_family.items():
        alarms = [f"{fired[i][1]}: {(fired[i][0] - series[i][3][0][0]) / 3600:.1f} h" for i in instances if i in fired]
        print(f"  {family:16s} {len(instances):7d}  {len(alarms)}  {', '.join(alarms)}")
        young = [a for a in alarms if a.startswith("first day")]
        if young:
            problems.append(f"{len(young)} false alarm(s) of the first-day rule on healthy {family}")
    print("\nleak set / family      series  eligible  early  caught <= 4 h  latency h (min/median/max)  later")
    for name, rate, families, _ in LEAK_SETS:
        for family in families:
            early = eligible = later = 0
            latencies = []
            for instance, (n, fam, leak_start, rows) in series.items():
                if n != name or fam != family:
                    continue
                at = next((k for k, r in enumerate(rows) if r[0] >= leak_start), 0)
                before = sorted(v for _, v, _ in rows[max(0, at - 60):at + 1])
                level = before[len(before) // 2]
                is_eligible = rate * max(level, 1) * 3 > 25
                eligible += is_eligible
                if instance in fired:
                    t = fired[instance][0]
                    if t < leak_start:
                        early += 1
                        problems.append(f"{instance}: the {fired[instance][1]} rule fired "
                                        f"{(leak_start - t) / 3600:.1f} h before its leak")
                    elif t - leak_start <= LATENCY_GOAL and is_eligible:
                        latencies.append((t - leak_start) / 3600)
                    elif is_eligible:
                        later += 1
            latencies.sort()
            lat = (f"{latencies[0]:.1f} / {latencies[len(latencies) // 2]:.1f} / {latencies[-1]:.1f}"
                   if latencies else "-")
            count = sum(1 for s in series.values() if s[0] == name and s[1] == family)
            print(f"  {name + ' / ' + family:36s} {count:3d}  {eligible:8d}  {early:5d}  {len(latencies):13d}  "
                  f"{lat:26s}  {later}")
            if check and family == "flat" and name == "leak 50%/h" and len(latencies) * 10 < eligible * 6:
                problems.append(f"{name} on flat: {len(latencies)} of {eligible} caught within 4 h (want 60 %)")
            if check and family == "flat" and name == "leak 20%/h" and len(latencies) * 10 < eligible * 3:
                problems.append(f"{name} on flat: {len(latencies)} of {eligible} caught within 4 h (want 30 %)")
    if problems:
        print("\n" + "\n".join(problems))
    return 1 if check and problems else 0


if __name__ == "__main__":
    sys.exit(main())
