"""Days of a fleet's leakwatch metrics as OpenMetrics text, for backfilling a
real Prometheus with `promtool tsdb create-blocks-from openmetrics`.

Two jobs, one sample a minute per series:
  shop    3 instances restarted in place every 6 h (staggered by 2 h); at
          `leak_start` a rolling deploy replaces them by 3 new instances (new
          names, started 10 min apart) that carry a leak: the stuck tasks at
          LEAK_SITE grow by `leak_per_hour` per process from process start.
  search  2 instances restarted in place every 8 h, healthy throughout.
Healthy sites of both jobs: a pool warming up to a plateau within the first
hour of each process, a daily cycle, a flat noisy level. Long-lived task
kinds: a flat noisy "thread", a daily "rpc". Every series of an instance ends
when the instance does (the backfill has no staleness markers; the test's
Prometheus uses a short lookback delta instead).
Standard library only; deterministic for a given seed."""

import math
import random

LEAK_JOB = "shop"
LEAK_SITE = ("agent/tools/demo/handlers.cc:57", "chan_send")
HEALTHY_SITES = [("pool.cc:20", "mutex"), ("cache.cc:5", "condvar"), ("queue.cc:9", "chan_recv")]
KINDS = ["thread", "rpc"]
STEP = 60


def _lifetimes(first_start, end, period, stagger):
    """[(process_start, lifetime_end)] of one instance restarted every `period`."""
    out = []
    start = first_start
    restart = first_start + stagger if stagger else first_start + period
    while start < end:
        stop = min(restart, end)
        out.append((start, stop))
        start = stop
        restart = start + period
    return out


def _healthy_value(site_index, t, age, rng):
    if site_index == 0:  # a pool filling up after each start
        return round(30 * (1 - math.exp(-age / 1200)) + rng.gauss(0, 1.5))
    if site_index == 1:  # a daily cycle
        return round(6 + 4 * math.sin(2 * math.pi * t / 86400) + rng.gauss(0, 1))
    return round(3 + rng.gauss(0, 1))  # flat and noisy


def _instances(begin, end, leak_start):
    """[(job, instance, [(process_start, stop)], leaks)]."""
    out = []
    for i, name in enumerate("abc"):
        out.append(("shop", f"shop-{name}:9464",
                    _lifetimes(begin - 3600 * (i + 1), leak_start + 600 * i, 6 * 3600, 2 * 3600 * (i + 1)),
                    False))
    for i, name in enumerate("def"):
        out.append(("shop", f"shop-{name}:9464",
                    _lifetimes(leak_start + 600 * i, end, 6 * 3600, 0), True))
    for i, name in enumerate("ab"):
        out.append(("search", f"search-{name}:9464",
                    _lifetimes(begin - 7200 * (i + 1), end, 8 * 3600, 3 * 3600 * (i + 1)), False))
    return out


def generate(path, begin, end, leak_start, leak_per_hour, seed=1):
    """Writes the fleet's history over [begin, end) (Unix seconds, multiples of
    STEP) to `path`. Returns the number of samples written."""
    rng = random.Random(seed)
    families = {"process_start_time_seconds": [], "leakwatch_stuck_tasks": [],
                "leakwatch_tasks_long_lived": []}
    for job, instance, lifetimes, leaks in _instances(begin, end, leak_start):
        offset = 7 + sum(map(ord, instance)) % 20  # scrapes are not aligned to the minute
        target = f'job="{job}",instance="{instance}"'
        for process_start, stop in lifetimes:
            t = max(begin, math.ceil((process_start - offset) / STEP) * STEP + offset)
            while t < stop:
                age = t - process_start
                families["process_start_time_seconds"].append(f"{{{target}}} {process_start} {t}")
                for k, (site, op) in enumerate(HEALTHY_SITES):
                    v = max(0, _healthy_value(k, t, age, rng))
                    families["leakwatch_stuck_tasks"].append(
                        f'{{{target},site="{site}",op="{op}"}} {v} {t}')
                if job == LEAK_JOB:
                    v = math.floor(leak_per_hour * age / 3600) if leaks else 0
                    families["leakwatch_stuck_tasks"].append(
                        f'{{{target},site="{LEAK_SITE[0]}",op="{LEAK_SITE[1]}"}} {v} {t}')
                threads = max(0, round(20 + rng.gauss(0, 1)))
                rpc = max(0, round(10 + 5 * math.sin(2 * math.pi * t / 86400) + rng.gauss(0, 1)))
                families["leakwatch_tasks_long_lived"].append(f'{{{target},kind="thread"}} {threads} {t}')
                families["leakwatch_tasks_long_lived"].append(f'{{{target},kind="rpc"}} {rpc} {t}')
                t += STEP
    count = 0
    with open(path, "w") as f:
        for name, lines in families.items():
            f.write(f"# TYPE {name} gauge\n")
            for line in lines:
                f.write(name + line + "\n")
            count += len(lines)
        f.write("# EOF\n")
    return count
