#!/usr/bin/python3
"""leakwatch on servers and test suites this project did not write (issue 21, part 3).

Installs what it needs from Debian (the Makefile's VALIDATE_DEBS: mariadb-server,
sysbench, memcached, libglib2.0-tests, libpython3.11-testsuite), builds the
preload library if needed, and reports:

  mariadb    sysbench oltp_read_write, 8 threads, plain and preloaded runs in
             turns: tps of each run and the preloaded/plain ratio (goal >= 0.95).
  pileup     a row-lock pile-up in a preloaded mariadbd: one transaction holds
             SELECT ... FOR UPDATE, 20 clients UPDATE the same row (one every
             --ramp/20 s, innodb_lock_wait_timeout 3600): when leakwatch sees the
             20 blocked and then stuck at one site, the site's label, the idle waits
             beside it, the in-process leak verdict (config/demo.yaml's fast
             detector) and LeakwatchTasksStuck in a real Prometheus evaluating
             alerts/leakwatch-rules.yaml with every `for:` capped at 30s.
  memcached  memcached -t 4 preloaded, bursts of load from a memcache text
             protocol client and idle pauses: the sites and stuck counts seen;
             the in-process leak verdicts must stay 0.
  glib       GLib's installed thread tests (TAP), plain and preloaded: the same
             result for every test case, and the time ratio.
  python     CPython's threading tests (Debian's python3.11 -m test -v), plain and
             preloaded: the same result for every test, and the time ratio.

Every server runs on loopback (free ports) or a Unix socket in a temporary
directory and is killed on exit. Throughput and time ratios on a shared machine
are noisy: each figure is printed with the load average at the time.

Exit status: 0 when every functional check holds (a throughput ratio below the
goal is reported, not failed); 1 otherwise. Run it as `make validate`.

Usage: validate.py [--build DIR] [--only mariadb,pileup,memcached,glib,python]
                   [--runs N] [--seconds S] [--ramp S] [--suite-runs N] [--python-runs N]
"""
import argparse
import atexit
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HANG = 300  # seconds: a step that takes longer is a hang
STEPS = ("mariadb", "pileup", "memcached", "glib", "python")
GLIB_TESTS = ("thread", "thread-deprecated", "threadtests", "mutex", "rec-mutex", "rwlock",
              "1bit-mutex", "bitlock", "cond", "once", "onceinit", "thread-pool", "asyncqueue",
              "spawn-multithreaded")
PYTHON_TESTS = ("test_threading", "test_thread", "test_queue", "test_threading_local",
                "test_threadsignals", "test_threadedtempfile", "test_concurrent_futures")
PYTHON = "/usr/bin/python3.11"  # Debian's: the one libpython3.11-testsuite is for

FAILURES = []
REPORT = []
PROCS = []  # every process started, killed at exit


def say(line=""):
    print(line, flush=True)
    REPORT.append(line)


def fail(what):
    FAILURES.append(what)
    say("FAIL: " + what)


def load_average():
    with open("/proc/loadavg") as f:
        return "load %s" % " ".join(f.read().split()[:3])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(argv, **kw):
    proc = subprocess.Popen(argv, start_new_session=True, **kw)
    PROCS.append(proc)
    return proc


def stop(proc, sig=signal.SIGTERM, timeout=60):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


@atexit.register
def _kill_everything():
    for proc in PROCS:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metrics(port):
    """{(name, frozenset(labels.items())): value} of the agent's /metrics."""
    return parse_metrics(http_get("http://127.0.0.1:%d/metrics" % port))


def parse_metrics(text):
    """{(name, frozenset(labels.items())): value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if not m or line.startswith("#"):
            continue
        labels = {k: v.replace('\\"', '"').replace("\\\\", "\\") for k, v in _LABEL.findall(m.group(3) or "")}
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
    return out


def by_site(sample, name):
    """{(site, op): value} of one per-site family."""
    return {(dict(k[1])["site"], dict(k[1])["op"]): v for k, v in sample.items() if k[0] == name}


def family_max(sample, name):
    values = [v for k, v in sample.items() if k[0] == name]
    return max(values) if values else 0.0


_TASK = re.compile(r'^task \d+ \[([^\]]*)\]: kind (\S+), age \S+, thread (\d+)(?: "([^"]*)")?\n(?:    blocked at (.*))?', re.M)


def tasks(port):
    """[(thread name, state, site or '')] of every task in /debug/tasks?debug=2;
    state is 'running' or the op and wait, e.g. 'condvar, 1m04s'."""
    return parse_tasks(http_get("http://127.0.0.1:%d/debug/tasks?debug=2" % port))


def parse_tasks(text):
    """[(thread name, state, site or '')] of a /debug/tasks?debug=2 page."""
    return [(m.group(4) or "?", m.group(1), m.group(5) or "") for m in _TASK.finditer(text)]


def say_threads(port, indent="  "):
    """One line per thread name and state: how many threads, where they wait."""
    groups = {}
    for name, state, site in tasks(port):
        waiting = "running" if state == "running" else "waiting at %s [%s]" % (site, state.split(",")[0])
        groups[(name, waiting)] = groups.get((name, waiting), 0) + 1
    for (name, waiting), n in sorted(groups.items()):
        say("%s%2d x %-16s %s" % (indent, n, '"%s"' % name, waiting))


def wait_for(what, predicate, timeout, interval=0.5):
    """Polls predicate() until it returns a true value; None after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except (OSError, ValueError):
            value = None
        if value:
            return value
        time.sleep(interval)
    fail("%s: not within %d s" % (what, timeout))
    return None


# ---------------------------------------------------------------- setup ----

def validate_debs():
    """VALIDATE_DEBS from the Makefile: the one list of what this script installs."""
    text = open(os.path.join(ROOT, "Makefile")).read().replace("\\\n", " ")
    m = re.search(r"^VALIDATE_DEBS\s*:?=(.*)$", text, re.M)
    if not m:
        raise SystemExit("validate: no VALIDATE_DEBS in %s/Makefile" % ROOT)
    return m.group(1).split()


def install_debs():
    missing = [p for p in validate_debs()
               if subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True,
                                 text=True).stdout != "install ok installed"]
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print("== installing Debian packages: " + " ".join(missing), flush=True)
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing,
                   check=True, env=env)


def build(build_dir):
    if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
        subprocess.run(["cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=RelWithDebInfo"],
                       check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", build_dir, "-j", str(os.cpu_count() or 2), "--target",
                    "leakwatch_preload", "leakwatch_preload_agent"], check=True,
                   stdout=subprocess.DEVNULL)
    preload = os.path.join(build_dir, "agent", "intercept", "libleakwatch_preload.so")
    if not os.path.exists(preload):
        raise SystemExit("validate: %s was not built" % preload)
    return preload


def agent_config(path, port, fast):
    """A config file: the exporter on 127.0.0.1:port; config/demo.yaml's fast
    windows and detector preset when `fast`, the defaults otherwise."""
    config = {"exporter": {"listen": "127.0.0.1:%d" % port}}
    if fast:
        with open(os.path.join(ROOT, "config", "demo.yaml")) as f:
            demo = yaml.safe_load(f)
        config.update({k: demo[k] for k in ("sampler", "tasks", "detector")})
    with open(path, "w") as f:
        yaml.safe_dump(config, f)
    return path


def preload_env(preload, config, processes=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAKWATCH_") and k != "LD_PRELOAD"}
    env.update(LD_PRELOAD=preload, LEAKWATCH_CONFIG=config)
    if processes:
        env["LEAKWATCH_PROCESSES"] = processes
    return env


def plain_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("LEAKWATCH_") and k != "LD_PRELOAD"}


# -------------------------------------------------------------- mariadb ----

def tool(name, *more):
    for n in (name,) + more:
        path = shutil.which(n) or ("/usr/sbin/" + n if os.path.exists("/usr/sbin/" + n) else None)
        if path:
            return path
    raise SystemExit("validate: %s is not installed" % name)


class MariaDB:
    """Debian's mariadbd on a private data directory, reachable on a Unix socket only."""

    def __init__(self, workdir, name):
        self.datadir = os.path.join(workdir, name)
        os.mkdir(self.datadir)
        self.sock = os.path.join(self.datadir, "mysqld.sock")
        self.log = os.path.join(self.datadir, "error.log")
        self.proc = None
        subprocess.run([tool("mariadb-install-db"), "--no-defaults", "--datadir=" + self.datadir,
                        "--user=root", "--skip-test-db", "--auth-root-authentication-method=normal"],
                       check=True, capture_output=True, timeout=HANG)

    def start(self, env):
        self.proc = spawn([tool("mariadbd"), "--no-defaults", "--datadir=" + self.datadir,
                           "--socket=" + self.sock, "--skip-networking", "--user=root",
                           "--pid-file=" + os.path.join(self.datadir, "mysqld.pid"),
                           "--log-error=" + self.log, "--innodb-buffer-pool-size=256M",
                           "--max-connections=200"],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up():
            if self.proc.poll() is not None:
                raise SystemExit("validate: mariadbd exited at start-up: " + open(self.log).read()[-2000:])
            return self.sql("SELECT 1", check=False).returncode == 0
        if not wait_for("mariadbd answers", up, HANG, 0.2):
            raise SystemExit("validate: mariadbd did not start")

    def sql(self, statements, check=True, timeout=HANG):
        return subprocess.run([tool("mariadb"), "--no-defaults", "--socket=" + self.sock, "-uroot",
                               "-N", "-B", "-e", statements],
                              capture_output=True, text=True, check=check, timeout=timeout)

    def client(self, statements):
        """A mariadb client running `statements` and then reading more from its stdin."""
        proc = spawn([tool("mariadb"), "--no-defaults", "--socket=" + self.sock, "-uroot", "-N", "-B"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        proc.stdin.write(statements + "\n")
        proc.stdin.flush()
        return proc

    def stop(self):
        rc = stop(self.proc, signal.SIGTERM, HANG)
        if rc != 0:
            fail("mariadbd exited with status %s: %s" % (rc, open(self.log).read()[-1500:]))
        self.proc = None


def sysbench(db, args, seconds):
    out = subprocess.run(["sysbench", "oltp_read_write", "--db-driver=mysql", "--mysql-socket=" + db.sock,
                          "--mysql-user=root", "--mysql-db=sbtest", "--tables=4", "--table-size=10000",
                          "--threads=8", "--time=%d" % seconds] + args + ["run"],
                         capture_output=True, text=True, timeout=seconds + HANG)
    if out.returncode != 0:
        fail("sysbench %s exited %d: %s" % (" ".join(args), out.returncode, (out.stdout + out.stderr)[-1500:]))
        return None
    m = re.search(r"transactions:\s+\d+\s+\(([\d.]+) per sec", out.stdout)
    return float(m.group(1)) if m else None


def step_mariadb(workdir, preload, runs, seconds):
    say("## MariaDB: sysbench oltp_read_write, 8 threads, %d s per run, plain and preloaded in turns" % seconds)
    db = MariaDB(workdir, "sysbench")
    port = free_port()
    config = agent_config(os.path.join(workdir, "mariadb-agent.yaml"), port, fast=False)
    db.start(plain_env())
    db.sql("CREATE DATABASE sbtest")
    subprocess.run(["sysbench", "oltp_read_write", "--db-driver=mysql", "--mysql-socket=" + db.sock,
                    "--mysql-user=root", "--mysql-db=sbtest", "--tables=4", "--table-size=10000", "prepare"],
                   check=True, capture_output=True, timeout=HANG)
    db.stop()
    tps = {"plain": [], "preloaded": []}
    for i in range(runs):
        for name, env in (("plain", plain_env()), ("preloaded", preload_env(preload, config, "mariadbd"))):
            db.start(env)
            if name == "preloaded":  # the agent is really there
                wait_for("preloaded mariadbd's /metrics", lambda: metrics(port), 60)
            sysbench(db, [], 5)  # warm-up: the buffer pool is cold after a start
            value = sysbench(db, [], seconds)
            load = load_average()
            db.stop()
            if value is not None:
                tps[name].append(value)
                say("run %d %-9s %8.1f tps   (%s)" % (i + 1, name, value, load))
    if tps["plain"] and tps["preloaded"]:
        ratio = statistics.median(tps["preloaded"]) / statistics.median(tps["plain"])
        pairs = ", ".join("%.3f" % (b / a) for a, b in zip(tps["plain"], tps["preloaded"]))
        say("median preloaded/plain: %.3f (goal >= 0.95%s); per pair: %s"
            % (ratio, "" if ratio >= 0.95 else ", MISSED on this run", pairs))
    say()


# --------------------------------------------------------------- pileup ----

def prometheus(workdir, metrics_port):
    """A real Prometheus scraping the agent every second, evaluating the shipped
    rules with every `for:` capped at 30s."""
    rules = os.path.join(workdir, "rules.yaml")
    with open(rules, "w") as f:
        subprocess.run([sys.executable, os.path.join(ROOT, "tests", "alerts", "shorten_for.py"),
                        "--max-for", "30s", os.path.join(ROOT, "alerts", "leakwatch-rules.yaml")],
                       stdout=f, stderr=subprocess.DEVNULL, check=True)
    conf = os.path.join(workdir, "prometheus.yml")
    with open(conf, "w") as f:
        f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                "rule_files: ['%s']\n"
                "scrape_configs:\n  - job_name: mariadb\n"
                "    static_configs: [{targets: ['127.0.0.1:%d']}]\n" % (rules, metrics_port))
    port = free_port()
    proc = spawn(["prometheus", "--config.file=" + conf, "--storage.tsdb.path=" + os.path.join(workdir, "prom"),
                  "--web.listen-address=127.0.0.1:%d" % port],
                 stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, "prometheus.log"), "w"))
    wait_for("Prometheus ready", lambda: http_get("http://127.0.0.1:%d/-/ready" % port), 60)
    return proc, port


def firing(prom_port, alertname):
    import json
    alerts = json.loads(http_get("http://127.0.0.1:%d/api/v1/alerts" % prom_port))["data"]["alerts"]
    return [a for a in alerts if a["labels"].get("alertname") == alertname]


def step_pileup(workdir, preload, ramp):
    clients = 20
    say("## MariaDB: a row-lock pile-up (%d clients, one every %.1f s), preloaded, config/demo.yaml's fast windows"
        % (clients, ramp / clients))
    db = MariaDB(workdir, "pileup")
    port = free_port()
    config = agent_config(os.path.join(workdir, "pileup-agent.yaml"), port, fast=True)
    db.start(preload_env(preload, config, "mariadbd"))
    wait_for("mariadbd's /metrics", lambda: metrics(port), 60)
    prom, prom_port = prometheus(workdir, port)
    db.sql("CREATE DATABASE pile; CREATE TABLE pile.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;"
           " INSERT INTO pile.t VALUES (1, 0)")
    stuck_after = 5
    time.sleep(stuck_after + 3)  # let the idle server's waits pass tasks.stuck_after
    idle = metrics(port)
    idle_stuck = {k: v for k, v in by_site(idle, "leakwatch_stuck_tasks").items() if v > 0}
    say("idle server, before the pile-up (%s): %d stuck tasks at %d sites:"
        % (load_average(), sum(idle_stuck.values()), len(idle_stuck)))
    for (site, op), v in sorted(idle_stuck.items(), key=lambda kv: -kv[1]):
        say("  %2d stuck @ %s [%s]" % (v, site, op))
    say("threads by name (/debug/tasks?debug=2):")
    say_threads(port)

    holder = db.client("BEGIN; SELECT v FROM pile.t WHERE id=1 FOR UPDATE;")
    lock_waits = lambda: int(db.sql("SELECT COUNT(*) FROM information_schema.INNODB_TRX"
                                    " WHERE trx_state='LOCK WAIT'").stdout.strip())
    wait_for("the holder's transaction", lambda: int(db.sql(
        "SELECT COUNT(*) FROM information_schema.INNODB_TRX").stdout.strip()) >= 1, 60)
    began = time.monotonic()
    updaters = []
    first = {}
    verdict_at = alert_at = None
    timeline = []
    deadline = began + ramp + 300
    peak_site = None
    while time.monotonic() < deadline:
        now = time.monotonic() - began
        while len(updaters) < clients and now >= len(updaters) * ramp / clients:
            updaters.append(spawn([tool("mariadb"), "--no-defaults", "--socket=" + db.sock, "-uroot", "-N",
                                   "-B", "-e", "SET SESSION innodb_lock_wait_timeout=3600;"
                                   " UPDATE pile.t SET v=v+1 WHERE id=1; SELECT 'updated'"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True))
        sample = metrics(port)
        blocked = by_site(sample, "leakwatch_blocked_tasks")
        stuck = by_site(sample, "leakwatch_stuck_tasks")
        suspected = by_site(sample, "leakwatch_site_leak_suspected")
        if blocked:
            top = max(blocked, key=lambda k: blocked[k] - idle_stuck.get(k, 0))
            if blocked[top] - idle_stuck.get(top, 0) >= clients // 2:
                peak_site = top
        if peak_site:
            b, s = blocked.get(peak_site, 0), stuck.get(peak_site, 0)
            for what, v, at in (("stuck", s, clients // 2), ("blocked", b, clients), ("stuck", s, clients)):
                if v >= at and (what, at) not in first:
                    first[(what, at)] = now
                    waits = lock_waits()
                    say("t=%5.1f s: %d %s at one site, %d clients started (InnoDB: %d transactions in LOCK WAIT)  (%s)"
                        % (now, v, what, len(updaters), waits, load_average()))
            if suspected.get(peak_site) and verdict_at is None:
                verdict_at = now
                say("t=%5.1f s: leakwatch_site_leak_suspected=1 at the site (in-process verdict)" % now)
            if len(timeline) == 0 or now - timeline[-1][0] >= 10:
                timeline.append((now, len(updaters), b, s, suspected.get(peak_site, 0)))
        if alert_at is None and peak_site:
            alerts = [a for a in firing(prom_port, "LeakwatchTasksStuck")
                      if a["state"] == "firing" and a["labels"].get("site") == peak_site[0]]
            if alerts:
                alert_at = now
                say("t=%5.1f s: LeakwatchTasksStuck firing in Prometheus (value %s, site=%s)"
                    % (now, alerts[0]["value"], peak_site[0]))
        if ("stuck", clients) in first and verdict_at is not None and alert_at is not None:
            break
        time.sleep(1)
    if peak_site is None or ("blocked", clients) not in first:
        fail("pile-up: the %d clients were never seen blocked at one site" % clients)
    if ("stuck", clients) not in first:
        fail("pile-up: the %d clients were never seen stuck at one site" % clients)
    if alert_at is None:
        fail("pile-up: LeakwatchTasksStuck did not fire within %d s" % (ramp + 300))
    if verdict_at is None:
        say("pile-up: no in-process leak verdict within %d s of the first client" % (ramp + 300))
    say("timeline (t s, clients, blocked, stuck, verdict): " +
        "; ".join("%.0f %d %d %d %d" % t for t in timeline))
    if peak_site:
        say("site: %s [%s]" % peak_site)
    dump = http_get("http://127.0.0.1:%d/debug/tasks?debug=1" % port)
    say("/debug/tasks?debug=1 with the 20 stuck:")
    for line in dump.splitlines():
        if " blocked @ " in line or "LEAK" in line or line.startswith("leakwatch task profile"):
            say("  " + line)
    full = http_get("http://127.0.0.1:%d/debug/tasks?debug=2" % port)
    if peak_site:
        for block in full.split("\n\n"):
            if "blocked at " + peak_site[0] in block:
                say("one of them in /debug/tasks?debug=2:")
                for line in block.splitlines()[:20]:
                    say("    " + line)
                break
    # Release the row: every client must finish its UPDATE and the site empties.
    holder.stdin.write("ROLLBACK;\n")
    holder.stdin.close()
    holder.stdin = None  # communicate() below must not flush it
    done = 0
    for p in updaters:
        try:
            out, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            fail("pile-up: a client did not finish after the lock was released")
            continue
        if p.returncode == 0 and "updated" in out:
            done += 1
        else:
            fail("pile-up: a client failed: %s" % err.strip())
    holder.communicate(timeout=60)
    value = db.sql("SELECT v FROM pile.t WHERE id=1").stdout.strip()
    cleared = wait_for("the site empties after the release",
                       lambda: by_site(metrics(port), "leakwatch_blocked_tasks").get(peak_site, 0) == 0,
                       60) if peak_site else None
    say("released: %d of %d UPDATEs done (v=%s); the site's blocked count back to 0: %s"
        % (done, clients, value, "yes" if cleared else "no"))
    stop(prom)
    db.stop()
    say()


# ------------------------------------------------------------- memcached ----

def memcache_load(port, stop_at, counts, errors, conn):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            f = s.makefile("rwb")
            i = 0
            while time.monotonic() < stop_at:
                key = b"c%d-k%d" % (conn, i % 500)
                value = b"v%d" % i
                f.write(b"set %s 0 0 %d\r\n%s\r\n" % (key, len(value), value))
                f.write(b"get %s\r\n" % key)
                f.flush()
                if f.readline() != b"STORED\r\n":
                    errors.append("set not STORED")
                    return
                header = f.readline()
                body = f.readline()
                end = f.readline()
                if not header.startswith(b"VALUE " + key) or body != value + b"\r\n" or end != b"END\r\n":
                    errors.append("get %r: %r %r %r" % (key, header, body, end))
                    return
                i += 1
            counts.append(i)
    except OSError as e:
        errors.append(str(e))


def step_memcached(workdir, preload):
    say("## memcached -t 4, preloaded, config/demo.yaml's fast windows: bursts of load and idle pauses")
    port, mport = free_port(), free_port()
    config = agent_config(os.path.join(workdir, "memcached-agent.yaml"), mport, fast=True)
    proc = spawn(["memcached", "-u", "root", "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-t", "4",
                  "-c", "256"], env=preload_env(preload, config, "memcached"),
                 stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, "memcached.log"), "w"))
    wait_for("memcached's /metrics", lambda: metrics(mport), 60)
    max_stuck, max_blocked, max_site_verdict, max_task_verdict = {}, {}, 0.0, 0.0
    ops, errors = 0, []
    began = time.monotonic()
    phases = [("load", 30), ("idle", 30)] * 3 + [("load", 30), ("idle", 40)]  # 220 s: past trend_window 3m
    for phase, seconds in phases:
        end = time.monotonic() + seconds
        workers = []
        if phase == "load":
            counts = []
            workers = [threading.Thread(target=memcache_load, args=(port, end, counts, errors, c)) for c in range(8)]
            for w in workers:
                w.start()
        while time.monotonic() < end:
            sample = metrics(mport)
            for k, v in by_site(sample, "leakwatch_stuck_tasks").items():
                max_stuck[k] = max(max_stuck.get(k, 0), v)
            for k, v in by_site(sample, "leakwatch_blocked_tasks").items():
                max_blocked[k] = max(max_blocked.get(k, 0), v)
            max_site_verdict = max(max_site_verdict, family_max(sample, "leakwatch_site_leak_suspected"))
            max_task_verdict = max(max_task_verdict, family_max(sample, "leakwatch_task_leak_suspected"))
            time.sleep(1)
        for w in workers:
            w.join()
        if phase == "load":
            ops += sum(counts)
            say("t=%3.0f s: %d s of load, %d set+get pairs (%.0f/s) on 8 connections  (%s)"
                % (time.monotonic() - began, seconds, sum(counts), sum(counts) / seconds, load_average()))
    if errors:
        fail("memcached load client: %s" % errors[:3])
    if proc.poll() is not None:
        fail("memcached exited with status %s" % proc.returncode)
    say("sites seen over %.0f s: %d; with a task blocked at a sample (largest blocked / stuck count):"
        % (time.monotonic() - began, len(max_blocked)))
    for (site, op) in sorted(max_blocked, key=lambda k: (-max_stuck.get(k, 0), -max_blocked[k])):
        if max_blocked[(site, op)]:
            say("  blocked %2d, stuck %2d @ %s [%s]"
                % (max_blocked[(site, op)], max_stuck.get((site, op), 0), site, op))
    say("the other %d sites (ops: %s) only had short waits between samples"
        % (sum(1 for v in max_blocked.values() if not v),
           ", ".join(sorted({op for (_, op), v in max_blocked.items() if not v}))))
    say("largest leakwatch_site_leak_suspected: %d, leakwatch_task_leak_suspected: %d"
        % (max_site_verdict, max_task_verdict))
    if max_site_verdict or max_task_verdict:
        fail("memcached: idle workers reported as a leak")
    dump = http_get("http://127.0.0.1:%d/debug/tasks?debug=1" % mport)
    say("/debug/tasks?debug=1 at the end (idle):")
    for line in dump.splitlines():
        if " blocked @ " in line or line.startswith("leakwatch task profile") or line.startswith("  thread"):
            say("  " + line)
    say("threads by name (/debug/tasks?debug=2):")
    say_threads(mport)
    rc = stop(proc)
    if rc not in (0, -signal.SIGTERM):
        fail("memcached exited with status %s on SIGTERM" % rc)
    say()


# ---------------------------------------------------------------- suites ----

def run_timed(argv, env, timeout):
    began = time.monotonic()
    proc = spawn(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc, signal.SIGKILL)
        return None, "", time.monotonic() - began
    return proc.returncode, out, time.monotonic() - began


_TAP = re.compile(r"^(ok|not ok) \d+ (\S+)(.*)$")


def tap_results(out):
    results = {}
    for line in out.splitlines():
        m = _TAP.match(line)
        if m:
            skip = "# SKIP" in m.group(3) or "# skip" in m.group(3)
            results[m.group(2)] = "skip" if skip else m.group(1)
    return results


def junit_results(path):
    """{test id: ok|failure|error|skipped} from regrtest's --junit-xml file."""
    import xml.etree.ElementTree as ET
    results = {}
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return results
    for case in root.iter("testcase"):
        tags = [c.tag for c in case if c.tag in ("failure", "error", "skipped")]
        status = case.get("status", "run")
        results[case.get("name")] = tags[0] if tags else ("ok" if status == "run" else status)
    return results


def compare_suite(title, cases, preload, workdir, runs, parse, timeout, retries=3):
    """Runs each (name, argv) plain and preloaded in turns. A test whose outcome
    differs gets up to `retries` more pairs of runs; it fails when a preloaded
    run shows an outcome (or exit status) no plain run showed. An outcome seen
    only plain (the suite's own flake under load) is reported, not failed."""
    say("## " + title)
    config = agent_config(os.path.join(workdir, "suite-agent.yaml"), 0, fast=False)
    total = {"plain": 0.0, "preloaded": 0.0}
    modes = (("plain", plain_env()), ("preloaded", preload_env(preload, config)))
    for name, argv in cases:
        seen = {"plain": {}, "preloaded": {}}  # test id -> set of outcomes
        codes = {"plain": set(), "preloaded": set()}
        times = {"plain": [], "preloaded": []}
        crashes = {"plain": [], "preloaded": []}

        def one_pair():
            for mode, env in modes:
                if "--junit-xml" in argv and os.path.exists(argv[argv.index("--junit-xml") + 1]):
                    os.remove(argv[argv.index("--junit-xml") + 1])  # never read a previous run's
                code, out, seconds = run_timed(argv, env, timeout)
                if code is None:
                    fail("%s %s: hung (killed after %d s)" % (name, mode, timeout))
                    continue
                times[mode].append(seconds)
                for test, outcome in parse(out, argv).items():
                    seen[mode].setdefault(test, set()).add(outcome)
                codes[mode].add(code)
                if code < 0:
                    crashes[mode].append("killed by signal %d: %s" % (-code, out[-600:]))
                if mode == "preloaded" and re.search(r"leakwatch", out, re.I):
                    fail("%s: the preloaded run printed a leakwatch line: %s"
                         % (name, [l for l in out.splitlines() if "leakwatch" in l.lower()][:3]))

        def differs():
            tests = set(seen["plain"]) | set(seen["preloaded"])
            return (any(seen["plain"].get(t, {None}) != seen["preloaded"].get(t, {None}) for t in tests)
                    or codes["plain"] != codes["preloaded"])

        for _ in range(runs):
            one_pair()
        extra = 0
        while differs() and extra < retries:
            one_pair()
            extra += 1
        if not seen["plain"]:
            fail("%s: no results parsed from the plain runs" % name)
        tests = sorted(set(seen["plain"]) | set(seen["preloaded"]))
        only_pre = [(t, seen["preloaded"].get(t, {None}) - seen["plain"].get(t, {None})) for t in tests]
        only_pre = [(t, o) for t, o in only_pre if o]
        only_plain = [(t, seen["plain"].get(t, {None}) - seen["preloaded"].get(t, {None})) for t in tests]
        only_plain = [(t, o) for t, o in only_plain if o and t not in dict(only_pre)]
        for t, o in only_pre[:10]:
            fail("%s: %s was %s preloaded, never plain (plain: %s)"
                 % (name, t, sorted(map(str, o)), sorted(map(str, seen["plain"].get(t, {None})))))
        if codes["preloaded"] - codes["plain"]:
            fail("%s: exit status %s preloaded, %s plain" % (name, sorted(codes["preloaded"]), sorted(codes["plain"])))
        for c in crashes["preloaded"]:
            fail("%s preloaded: %s" % (name, c))
        for t, o in only_plain[:10]:
            say("  %s: %s was %s in a plain run, never preloaded: the suite's own flake (not counted)"
                % (name, t, sorted(map(str, o))))
        for c in crashes["plain"]:
            say("  %s plain (no preload): %s" % (name, c.replace("\n", " | ")[:400]))
        counts = {}
        for outcomes in seen["plain"].values():
            key = "/".join(sorted(map(str, outcomes)))
            counts[key] = counts.get(key, 0) + 1
        tp = statistics.median(times["plain"]) if times["plain"] else float("nan")
        tq = statistics.median(times["preloaded"]) if times["preloaded"] else float("nan")
        total["plain"] += tp
        total["preloaded"] += tq
        verdict = "DIFFERENT" if only_pre or not seen["plain"] else ("same" if not only_plain else "same*")
        say("%-22s %-32s %-9s plain %6.2f s, preloaded %6.2f s, ratio %.2f, %d runs  (%s)"
            % (name, ", ".join("%d %s" % (n, r) for r, n in sorted(counts.items())), verdict, tp, tq,
               tq / tp if tp else float("nan"), len(times["plain"]), load_average()))
    if total["plain"]:
        say("all: plain %.1f s, preloaded %.1f s, ratio %.2f (same* = a flake seen only without the preload)" %
            (total["plain"], total["preloaded"], total["preloaded"] / total["plain"]))
    say()


def step_glib(workdir, preload, runs):
    base = "/usr/libexec/installed-tests/glib"
    cases = [(t, [os.path.join(base, t), "--tap"]) for t in GLIB_TESTS if os.path.exists(os.path.join(base, t))]
    compare_suite("GLib installed tests (%s), TAP, %d runs each" % (base, runs), cases, preload, workdir, runs,
                  lambda out, argv: tap_results(out), HANG)


def step_python(workdir, preload, runs):
    xml = os.path.join(workdir, "junit.xml")
    cases = [(t, [PYTHON, "-m", "test", "--junit-xml", xml, t]) for t in PYTHON_TESTS]
    compare_suite("CPython %s threading tests (python3.11 -m test --junit-xml), %d runs each"
                  % (subprocess.run([PYTHON, "-V"], capture_output=True, text=True).stdout.split()[-1], runs),
                  cases, preload, workdir, runs, lambda out, argv: junit_results(argv[argv.index("--junit-xml") + 1]), 900)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"), help="the build directory")
    parser.add_argument("--only", default=",".join(STEPS), help="comma-separated steps: " + ",".join(STEPS))
    parser.add_argument("--runs", type=int, default=3, help="sysbench runs per mode")
    parser.add_argument("--seconds", type=int, default=20, help="seconds per sysbench run")
    parser.add_argument("--ramp", type=float, default=100, help="seconds over which the 20 clients arrive")
    parser.add_argument("--suite-runs", type=int, default=2, help="runs of each GLib test per mode")
    parser.add_argument("--python-runs", type=int, default=1,
                        help="runs of each CPython test per mode (test_concurrent_futures takes minutes)")
    parser.add_argument("--no-install", action="store_true", help="do not run apt-get")
    args = parser.parse_args()
    steps = args.only.split(",")
    for s in steps:
        if s not in STEPS:
            parser.error("unknown step %r (steps: %s)" % (s, ", ".join(STEPS)))
    if not args.no_install:
        install_debs()
    preload = build(os.path.abspath(args.build))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="leakwatch-validate-") as workdir:
        say("leakwatch validate.py at %s, %s, %d cores, %s" % (
            subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                           text=True).stdout.strip(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            os.cpu_count(), load_average()))
        say()
        if "mariadb" in steps:
            step_mariadb(workdir, preload, args.runs, args.seconds)
        if "pileup" in steps:
            step_pileup(workdir, preload, args.ramp)
        if "memcached" in steps:
            step_memcached(workdir, preload)
        if "glib" in steps:
            step_glib(workdir, preload, args.suite_runs)
        if "python" in steps:
            step_python(workdir, preload, args.python_runs)
        _kill_everything()
    say("validate: %s" % ("%d failures" % len(FAILURES) if FAILURES else "every check held"))
    for f in FAILURES:
        print("  " + f)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
