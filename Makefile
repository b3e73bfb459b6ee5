# The README's two commands:
#   make demo   installs what is missing, builds, runs the demo service with load,
#               a leaking demo restarted every 3 minutes, leakwatch-judge,
#               Prometheus and Alertmanager on loopback, and prints the URLs.
#   make test   installs what is missing, builds, and runs every test: the unit,
#               integration and end-to-end tests (ctest), promtool rule tests,
#               dashboard checks, the unit tests again under ASan+UBSan and TSan,
#               and the libFuzzer targets for 30 s each (make fuzz).
# Other targets: build, bench (the full benchmark suite), repeat (the
# concurrency suites 50 times each, not part of make test), format, clean, and
#   make validate   leakwatch on servers and suites it did not write (MariaDB with
#                   sysbench, memcached, GLib's and CPython's thread tests), with
#                   figures (about 30 minutes; not part of make test): tests/realworld.

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

# Everything the project needs from Debian 12, by package name.
DEBS := build-essential cmake pkg-config git ca-certificates python3 python3-yaml \
        libabsl-dev libdw-dev libelf-dev prometheus-cpp-dev libcivetweb-dev libmicrohttpd-dev zlib1g-dev libyaml-cpp-dev \
        libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc \
        libcpp-httplib-dev libssl-dev openssl nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev \
        prometheus prometheus-alertmanager curl procps mariadb-server memcached \
        xz-utils zstd pigz coreutils lld clang libclang-rt-14-dev \
        golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev python3-jsonschema

# What `make validate` (tests/realworld/validate.py, which reads this list) installs.
VALIDATE_DEBS := mariadb-server sysbench memcached libglib2.0-tests libpython3.11-testsuite

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps configure build test unit-test sanitizer-tests fuzz repeat demo bench validate format clean

deps:
	@missing=$$(for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
	  echo "== installing Debian packages:" $$missing; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Unit tests only, in a sanitizer build directory (address = ASan+UBSan, thread = TSan).
# gRPC (tests/rpc) only under ASan: Debian's gRPC is not built for TSan
# (checked on 1.51.1: libgrpc, libgrpc++, libgpr and libabsl_synchronization
# have no __tsan_* references). TSan needs every part of the process
# instrumented: the ordering gRPC creates inside those libraries when it hands
# a call between its threads (absl::Mutex on futexes, atomics) is invisible to
# it, so its reports on the service's data would be noise. A TSan run of
# tests/rpc needs gRPC and abseil built with -fsanitize=thread.
sanitizer-%: deps
	cmake -S . -B $(BUILD)-$* -DCMAKE_BUILD_TYPE=Debug -DLEAKWATCH_SANITIZE=$* \
	  -DLEAKWATCH_UNIT_TESTS_ONLY=ON -DLEAKWATCH_BUILD_BENCH=OFF \
	  -DLEAKWATCH_WITH_GRPC=$(if $(filter address,$*),ON,OFF) >/dev/null
	cmake --build $(BUILD)-$* -j $(JOBS)
	cd $(BUILD)-$* && ctest -j $(JOBS) --output-on-failure 2>&1 | tee ctest.log

# The libFuzzer targets (tests/fuzz) in a clang build of their own with
# ASan+UBSan, each run for FUZZ_SECONDS over its seed corpus (tests/fuzz/corpus).
FUZZ_SECONDS ?= 30
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(BUILD)-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DLEAKWATCH_SANITIZE=address -DLEAKWATCH_FUZZ=ON -DLEAKWATCH_FUZZ_SECONDS=$(FUZZ_SECONDS) \
	  -DLEAKWATCH_UNIT_TESTS_ONLY=ON -DLEAKWATCH_BUILD_BENCH=OFF -DLEAKWATCH_BUILD_TOOLS=OFF \
	  -DLEAKWATCH_WITH_GRPC=OFF >/dev/null
	cmake --build $(BUILD)-fuzz -j $(JOBS) --target http_request_fuzzer config_fuzzer
	cd $(BUILD)-fuzz && ctest -j $(JOBS) --output-on-failure 2>&1 | tee ctest.log

# Flaky tests are defects: the concurrency suites and every end-to-end test
# (tests/e2e: alerts_and_dashboards, alert_inhibition, fleet_alert,
# fleet_dashboard) plus judge.live, each test REPEAT times in a row (ctest
# --repeat until-fail), in the main build. Not part of make test (several
# hours on 2 cores at 50). REPEAT_DIRS are tests/ directories; REPEAT_NAMES
# adds ctest -R patterns from other directories.
REPEAT ?= 50
REPEAT_DIRS ?= core sync coro hostile signals intercept rpc e2e
REPEAT_NAMES ?= ^judge\.live$$
repeat: build
	@for d in $(REPEAT_DIRS); do \
	  echo "== tests/$$d: every test $(REPEAT) times"; \
	  (cd $(BUILD)/tests/$$d && ctest -j $(JOBS) --repeat until-fail:$(REPEAT) --output-on-failure) \
	    2>&1 | tee $(BUILD)/repeat-$$d.log | grep -E 'tests passed|Failed|\*\*\*' || exit 1; \
	done
	cd $(BUILD) && ctest -j $(JOBS) -R '$(REPEAT_NAMES)' --repeat until-fail:$(REPEAT) --output-on-failure \
	  2>&1 | tee repeat-names.log | grep -E 'tests passed|Failed|\*\*\*'

test: build
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure 2>&1 | tee ctest.log
	$(MAKE) --no-print-directory sanitizer-address
	$(MAKE) --no-print-directory sanitizer-thread
	$(MAKE) --no-print-directory fuzz
	@passed=0; failed=0; for d in $(BUILD) $(BUILD)-address $(BUILD)-thread $(BUILD)-fuzz; do \
	  line=$$(grep -E 'tests passed, [0-9]+ tests failed out of' $$d/ctest.log | tail -1); \
	  total=$$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$$line"); f=$$(sed -E 's/.*, ([0-9]+) tests failed.*/\1/' <<<"$$line"); \
	  passed=$$((passed + total - f)); failed=$$((failed + f)); \
	done; echo "make test: $$passed passed, $$failed failed"; [ $$failed = 0 ]

demo: build
	agent/tools/demo/run-demo.sh $(BUILD)

bench: configure
	cmake --build $(BUILD) -j $(JOBS) --target leakwatch_bench leakwatch_macro_bench intercept_bench leakwatch_rpc_bench leakwatch_preload_cost_bench
	$(BUILD)/tests/bench/leakwatch_bench --benchmark_counters_tabular=true
	$(BUILD)/tests/intercept/intercept_bench --benchmark_counters_tabular=true
	$(BUILD)/tests/rpc/leakwatch_rpc_bench
	$(BUILD)/tests/bench/macro/leakwatch_macro_bench
	$(BUILD)/tests/bench/leakwatch_preload_cost_bench --benchmark_counters_tabular=true

validate: configure
	/usr/bin/python3 tests/realworld/validate.py --build $(BUILD) $(VALIDATE_ARGS)

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(BUILD)-address $(BUILD)-thread $(BUILD)-fuzz
