"""leakwatch-console against the demo's gRPC introspection service: one frame
(--once), the live stream, the task dump, and its errors."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

CONSOLE = os.path.join(harness.BUILD_DIR, "agent", "tools", "console", "leakwatch-console")
LEAKS = 12


def console(*args, timeout=30):
    return subprocess.run([CONSOLE, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "160"})


class ConsoleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.demo = harness.Demo()
        cls.target = f"127.0.0.1:{cls.demo.introspection_port}"
        assert cls.demo.introspection_port != 0, "the demo serves no introspection API"
        for _ in range(LEAKS):
            status, _ = cls.demo.get("/leak/timeout")
            assert status == 504, status
        cls.site = harness.demo_site("timeout-send")

    @classmethod
    def tearDownClass(cls):
        cls.demo.close()

    def frame_row(self, text):
        for line in text.splitlines():
            if line.startswith(self.site + " "):
                return line.split()
        return None

    def test_once_shows_the_leaking_site_with_its_count(self):
        def row():
            r = console("--target", self.target, "--once")
            self.assertEqual(r.returncode, 0, r.stderr)
            fields = self.frame_row(r.stdout)
            return fields if fields and fields[2] == str(LEAKS) else None
        fields = harness.wait_until(f"{LEAKS} blocked at {self.site} in the console", row, 30)
        self.assertEqual(fields[1], "chan_send")

    def test_the_live_view_streams_frames(self):
        # Not a terminal: frames follow one another; stopped by the timeout.
        try:
            out = subprocess.run([CONSOLE, "--target", self.target, "--interval", "200ms"],
                                 capture_output=True, text=True, timeout=2).stdout
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        self.assertGreaterEqual(out.count("\nleakwatch "), 3, out)

    def test_dump_prints_every_task(self):
        r = console("--target", self.target, "--dump", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(self.site, r.stdout)
        self.assertIn("[chan_send", r.stdout)

    def test_errors_name_the_problem(self):
        port = harness.free_port()  # nothing listens there
        r = console("--target", f"127.0.0.1:{port}", "--once", "--timeout", "1s")
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot reach", r.stderr)
        r = console("--target", self.target, "--dump", "3")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--dump needs 1 or 2", r.stderr)
        r = console("--once")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--target", r.stderr)


if __name__ == "__main__":
    unittest.main()
