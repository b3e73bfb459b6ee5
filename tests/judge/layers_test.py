"""agent/judge is a layer above agent/trend and agent/config and beside
agent/export (README, Architecture): its files include only the standard
library, abseil, the libraries it reads and serves with (cpp-httplib,
nlohmann-json, prometheus-cpp) and judge/, trend/ and config/ headers, never
export/, core/, intercept/, rpc/ or the public leakwatch/ headers. The build
cannot catch a wrong-way include (agent/ is on the include path), so this does."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration"))
import harness  # noqa: E402

JUDGE_DIR = os.path.join(harness.SOURCE_DIR, "agent", "judge")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
ALLOWED_QUOTED = ("absl/", "judge/", "trend/", "config/")
ALLOWED_ANGLED = ("prometheus/", "nlohmann/", "httplib.h")


def wrong_way_includes(directory):
    found = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith((".h", ".cc")):
            continue
        with open(os.path.join(directory, name)) as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                kind, path = m.groups()
                if kind == '"' and not path.startswith(ALLOWED_QUOTED):
                    found.append(f"agent/judge/{name}:{number}: #include \"{path}\"")
                if kind == "<" and "/" in path and not path.startswith(ALLOWED_ANGLED + ("sys/",)):
                    found.append(f"agent/judge/{name}:{number}: #include <{path}>")
    return found


class LayersTest(unittest.TestCase):
    def test_judge_includes_only_lower_layers(self):
        self.assertEqual(wrong_way_includes(JUDGE_DIR), [])

    def test_a_wrong_way_include_is_found(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "x.cc"), "w") as f:
                f.write('#include "judge/fleet.h"\n#include "export/metrics.h"\n#include <leakwatch/agent.h>\n')
            self.assertEqual(wrong_way_includes(d), ['agent/judge/x.cc:2: #include "export/metrics.h"',
                                                     "agent/judge/x.cc:3: #include <leakwatch/agent.h>"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
