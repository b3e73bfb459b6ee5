"""agent/judge is a layer above agent/trend, agent/config and agent/prom and
beside agent/export (README, Architecture): its files include only the standard
library, abseil, the libraries it reads and serves with (cpp-httplib,
nlohmann-json, prometheus-cpp) and judge/, trend/, config/, prom/ and http/
headers, never export/, core/, intercept/, rpc/ or the public leakwatch/ headers;
its main.cc also includes the tools' shared flags (common/flags.h).
agent/prom (the metric builders export and judge share) is header-only and
includes the standard library and prometheus-cpp alone. agent/http (the HTTP
server export and judge share) includes abseil, libmicrohttpd, zlib and
config/ and http/ headers alone: a layer below both, never above. The build cannot catch
a wrong-way include (agent/ is on the judge's include path, and a header-only
layer is compiled only inside the layers that include it), so this does."""

import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration"))
import harness  # noqa: E402

JUDGE_DIR = os.path.join(harness.SOURCE_DIR, "agent", "judge")
PROM_DIR = os.path.join(harness.SOURCE_DIR, "agent", "prom")
HTTP_DIR = os.path.join(harness.SOURCE_DIR, "agent", "http")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
ALLOWED_QUOTED = ("absl/", "judge/", "trend/", "config/", "prom/", "http/")
MAIN_ALLOWED_QUOTED = ("common/flags.h",)  # the binary's command line, like every tool's
ALLOWED_ANGLED = ("prometheus/", "nlohmann/", "httplib.h")
PROM_ALLOWED_QUOTED = ("prom/",)
PROM_ALLOWED_ANGLED = ("prometheus/",)
HTTP_ALLOWED_QUOTED = ("absl/", "config/", "http/")
HTTP_ALLOWED_ANGLED = ("arpa/",)  # and libmicrohttpd's, zlib's, the system's


def wrong_way_includes(directory, allowed_quoted=ALLOWED_QUOTED, allowed_angled=ALLOWED_ANGLED,
                       layer="judge"):
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
                allowed = allowed_quoted + (MAIN_ALLOWED_QUOTED if layer == "judge" and name == "main.cc" else ())
                if kind == '"' and not path.startswith(allowed):
                    found.append(f"agent/{layer}/{name}:{number}: #include \"{path}\"")
                if kind == "<" and "/" in path and not path.startswith(allowed_angled + ("sys/",)):
                    found.append(f"agent/{layer}/{name}:{number}: #include <{path}>")
    return found


def findings_in(name, text, *args):
    """wrong_way_includes over a directory holding one file `name` with `text`."""
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
        return wrong_way_includes(d, *args)


class LayersTest(unittest.TestCase):
    def test_judge_includes_only_lower_layers(self):
        self.assertEqual(wrong_way_includes(JUDGE_DIR), [])

    def test_prom_includes_only_prometheus_cpp(self):
        self.assertEqual(wrong_way_includes(PROM_DIR, PROM_ALLOWED_QUOTED, PROM_ALLOWED_ANGLED, "prom"), [])

    def test_http_includes_only_config_and_itself(self):
        self.assertEqual(wrong_way_includes(HTTP_DIR, HTTP_ALLOWED_QUOTED, HTTP_ALLOWED_ANGLED, "http"), [])

    def test_an_http_file_that_includes_core_or_export_is_found(self):
        self.assertEqual(
            findings_in("x.cc", '#include "http/gzip.h"\n#include "config/listen_address.h"\n'
                        '#include "core/adopted_threads.h"\n#include "export/metrics.h"\n'
                        '#include <microhttpd.h>\n#include <leakwatch/config.h>\n',
                        HTTP_ALLOWED_QUOTED, HTTP_ALLOWED_ANGLED, "http"),
            ['agent/http/x.cc:3: #include "core/adopted_threads.h"',
             'agent/http/x.cc:4: #include "export/metrics.h"',
             "agent/http/x.cc:6: #include <leakwatch/config.h>"])

    def test_a_wrong_way_include_is_found(self):
        self.assertEqual(
            findings_in("x.cc", '#include "judge/fleet.h"\n#include "export/metrics.h"\n'
                        '#include <leakwatch/agent.h>\n#include "common/flags.h"\n'),
            ['agent/judge/x.cc:2: #include "export/metrics.h"',
             "agent/judge/x.cc:3: #include <leakwatch/agent.h>",
             'agent/judge/x.cc:4: #include "common/flags.h"'])

    def test_a_prom_header_that_includes_another_layer_is_found(self):
        self.assertEqual(
            findings_in("x.h", '#include <prometheus/metric_family.h>\n#include "absl/strings/str_cat.h"\n'
                        '#include "trend/params.h"\n#include <vector>\n',
                        PROM_ALLOWED_QUOTED, PROM_ALLOWED_ANGLED, "prom"),
            ['agent/prom/x.h:2: #include "absl/strings/str_cat.h"',
             'agent/prom/x.h:3: #include "trend/params.h"'])


if __name__ == "__main__":
    unittest.main(verbosity=2)
