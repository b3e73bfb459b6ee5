#!/usr/bin/env python3
"""MariaDB shuts down under LD_PRELOAD=libleakwatch_preload.so as without it.

mariadbd blocks SIGTERM, SIGINT, SIGHUP and SIGQUIT in all of its threads and
waits for them with sigwait() in one; an agent thread that left them unblocked
took the signal and mariadbd never shut down (issue 20). Starts Debian's
mariadbd on a private data directory (no network, a socket in the directory),
plain and preloaded, and shuts each down twice: `kill -TERM` (what systemd,
docker stop and Kubernetes send) and `mariadb-admin shutdown`. Each must exit
cleanly ("Shutdown complete" in its log); the seconds each took are printed.

Usage: mariadb_shutdown_test.py PRELOAD_SO CONFIG_YAML
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HANG = 120  # seconds: a shutdown that takes longer is a hang


def tool(*names):
    for name in names:
        path = shutil.which(name) or (os.path.exists("/usr/sbin/" + name) and "/usr/sbin/" + name)
        if path:
            return path
    raise SystemExit("FAIL: none of %s is installed (make test installs mariadb-server)" % (names,))


# mariadbd's temporary tables go to a directory of the test's own, not the
# shared /tmp: there, under load with other test runs, a bootstrap's temporary
# table file vanished under it ("Could not remove temporary table:
# '/tmp/#sql-temptable-faa-1-4', error: 2", then "Unknown table
# 'mysql.tmp_user_sys'") and mariadb-install-db failed: 4 runs in 80 before this.
def install_db(datadir, tmpdir):
    done = subprocess.run([tool("mariadb-install-db", "mysql_install_db"), "--no-defaults",
                           "--datadir=" + datadir, "--tmpdir=" + tmpdir, "--user=root",
                           "--skip-test-db",
                           "--auth-root-authentication-method=normal"],
                          capture_output=True, timeout=HANG)
    if done.returncode != 0:
        raise AssertionError("mariadb-install-db exited %d (leakwatch not loaded yet):\n%s%s" % (
            done.returncode, done.stdout.decode(errors="replace")[-3000:],
            done.stderr.decode(errors="replace")[-3000:]))


def start(datadir, tmpdir, env):
    sock = os.path.join(datadir, "mysqld.sock")
    log = os.path.join(datadir, "error.log")
    if os.path.exists(log):
        os.remove(log)
    proc = subprocess.Popen([tool("mariadbd", "mysqld"), "--no-defaults", "--datadir=" + datadir,
                             "--socket=" + sock, "--tmpdir=" + tmpdir, "--skip-networking",
                             "--user=root",
                             "--pid-file=" + os.path.join(datadir, "mysqld.pid"),
                             "--log-error=" + log, "--innodb-buffer-pool-size=16M"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    admin = tool("mariadb-admin", "mysqladmin")
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("mariadbd exited at start-up: %s" % open(log).read()[-2000:])
        ping = subprocess.run([admin, "--no-defaults", "--socket=" + sock, "-uroot", "ping"],
                              capture_output=True, timeout=HANG)
        if ping.returncode == 0:
            return proc, sock, log
        time.sleep(0.2)  # polling for readiness, not waiting for a state
    proc.kill()
    raise AssertionError("mariadbd did not answer within %d s" % HANG)


def shut_down(proc, sock, how):
    began = time.monotonic()
    if how == "SIGTERM":
        os.kill(proc.pid, signal.SIGTERM)
    else:
        try:
            # mariadb-admin waits for the server to go; a hang shows below.
            subprocess.run([tool("mariadb-admin", "mysqladmin"), "--no-defaults",
                            "--socket=" + sock, "-uroot", "shutdown"],
                           capture_output=True, timeout=HANG)
        except subprocess.TimeoutExpired:
            pass
    try:
        proc.wait(timeout=HANG)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("mariadbd still running %d s after %s (killed)" % (HANG, how))
    return time.monotonic() - began


def main():
    preload, config = sys.argv[1], sys.argv[2]
    base = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "LEAKWATCH_CONFIG")}
    runs = [("plain", base), ("preload", dict(base, LD_PRELOAD=preload, LEAKWATCH_CONFIG=config))]
    failures = []
    with tempfile.TemporaryDirectory(prefix="leakwatch-mariadb-") as datadir, \
            tempfile.TemporaryDirectory(prefix="leakwatch-mariadb-tmp-") as tmpdir:
        install_db(datadir, tmpdir)
        for how in ("SIGTERM", "mariadb-admin shutdown"):
            for name, env in runs:
                proc = None
                try:
                    proc, sock, log = start(datadir, tmpdir, env)
                    seconds = shut_down(proc, sock, how)
                    text = open(log).read()
                    if "Shutdown complete" not in text:
                        raise AssertionError("no clean shutdown in the log: %s" % text[-2000:])
                    print("%-8s %-24s exited %d after %.2f s" % (name, how, proc.returncode, seconds))
                    if proc.returncode != 0:
                        raise AssertionError("exit status %d" % proc.returncode)
                except AssertionError as e:
                    failures.append("%s, %s: %s" % (name, how, e))
                finally:
                    if proc is not None and proc.poll() is None:
                        proc.kill()  # never leave a server behind
                        proc.wait()
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
