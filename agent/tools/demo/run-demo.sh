#!/usr/bin/env bash
# `make demo`: runs leakwatch-demo under load with config/demo.yaml, a second
# leaking leakwatch-demo restarted every few minutes (its own job), a local
# Prometheus scraping both (alert rules from alerts/ loaded), leakwatch-judge
# judging them from that Prometheus with the same config, and Alertmanager, all
# on loopback. Prints the URLs; Ctrl-C stops everything.
set -euo pipefail
build=${1:-build}
top=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$top"
demo_port=${DEMO_PORT:-8080}
metrics_port=${METRICS_PORT:-9464}
prom_port=${PROMETHEUS_PORT:-9090}
am_port=${ALERTMANAGER_PORT:-9093}
introspection_port=${INTROSPECTION_PORT:-9465}
judge_port=${JUDGE_PORT:-9466}
restarting_port=${RESTARTING_PORT:-8081}
restarting_metrics_port=${RESTARTING_METRICS_PORT:-9467}
restart_every=${DEMO_RESTART_SECONDS:-180}
rate=${DEMO_LOAD:-20}
work=$(mktemp -d /tmp/leakwatch-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
# Ctrl-C or a kill is the normal way to stop: clean up and exit quietly.
stop() {
  trap - EXIT
  cleanup
  exit 0
}
trap cleanup EXIT
trap stop INT TERM

"$build/agent/tools/demo/leakwatch-demo" --listen "127.0.0.1:$demo_port" \
  --metrics_listen "127.0.0.1:$metrics_port" --introspection_listen "127.0.0.1:$introspection_port" \
  --config config/demo.yaml --load "$rate" >"$work/demo.log" 2>&1 &
pids+=($!)

# The restarting leak: every lifetime leaks about a task a second at the
# timeout site (4 requests a second, a third of them leaky), and is replaced by
# a new process every $restart_every seconds on the same ports. Each process's
# own verdict starts from nothing at each restart; the judge's does not.
restarting() {
  local pid= sleeper=
  trap 'kill $pid $sleeper 2>/dev/null; exit 0' TERM INT
  while :; do
    "$build/agent/tools/demo/leakwatch-demo" --listen "127.0.0.1:$restarting_port" \
      --metrics_listen "127.0.0.1:$restarting_metrics_port" --introspection_listen 127.0.0.1:0 \
      --config config/demo.yaml --load 4 --leak_ratio 0.35 >>"$work/restarting.log" 2>&1 &
    pid=$!
    sleep "$restart_every" &
    sleeper=$!
    wait "$sleeper" || true
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "restarting leakwatch-demo (every ${restart_every}s)" >>"$work/restarting.log"
  done
}
restarting &
pids+=($!)

# The shipped rules hold alerts for 15m and more; the demo caps every `for:` at
# 1m so alerts show within minutes (the rules themselves are unchanged).
/usr/bin/python3 tests/alerts/shorten_for.py --max-for 1m alerts/leakwatch-rules.yaml \
  >"$work/rules.yaml" 2>/dev/null || cp alerts/leakwatch-rules.yaml "$work/rules.yaml"
rules="rule_files: ['$work/rules.yaml']"
cat >"$work/prometheus.yml" <<YAML
global: {scrape_interval: 5s, evaluation_interval: 5s}
$rules
alerting:
  alertmanagers: [{static_configs: [{targets: ['127.0.0.1:$am_port']}]}]
scrape_configs:
  - job_name: leakwatch-demo
    static_configs: [{targets: ['127.0.0.1:$metrics_port']}]
  - job_name: leakwatch-demo-restarting
    static_configs: [{targets: ['127.0.0.1:$restarting_metrics_port']}]
  # The judge's verdicts carry the judged job: keep it (README, judge section).
  - job_name: leakwatch-judge
    honor_labels: true
    static_configs: [{targets: ['127.0.0.1:$judge_port']}]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)

am_config=alerts/alertmanager.yaml
[ -f "$am_config" ] || { printf 'route: {receiver: none}\nreceivers: [{name: none}]\n' >"$work/am.yml"; am_config="$work/am.yml"; }
prometheus-alertmanager --config.file="$am_config" --storage.path="$work/am" \
  --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= >"$work/alertmanager.log" 2>&1 &
pids+=($!)

# The judge reads the demo's Prometheus with the demo's windows (minutes, not
# a day: config/demo.yaml) on the 5 s grid of its scrapes.
"$build/agent/judge/leakwatch-judge" --prometheus="http://127.0.0.1:$prom_port" \
  --config=config/demo.yaml --scrape-interval=5s --interval=10s \
  --listen="127.0.0.1:$judge_port" >"$work/judge.log" 2>&1 &
pids+=($!)

for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$metrics_port/metrics" >/dev/null 2>&1 && break
  sleep 0.1
done
cat <<MSG

leakwatch demo is running (load: $rate requests/s, about 15% of them leak):
  demo service     http://127.0.0.1:$demo_port/
  metrics          http://127.0.0.1:$metrics_port/metrics
  task dump        http://127.0.0.1:$metrics_port/debug/tasks?debug=1   (debug=2: every task)
  Prometheus       http://127.0.0.1:$prom_port/graph?g0.expr=topk(5,leakwatch_stuck_tasks)
  alerts           http://127.0.0.1:$prom_port/alerts
  Alertmanager     http://127.0.0.1:$am_port/
  live console     $build/agent/tools/console/leakwatch-console --target 127.0.0.1:$introspection_port

A second leaking demo, restarted every ${restart_every}s (job leakwatch-demo-restarting):
  metrics          http://127.0.0.1:$restarting_metrics_port/metrics
  its own verdict  http://127.0.0.1:$prom_port/graph?g0.expr=leakwatch_site_leak_suspected%7Bjob%3D%22leakwatch-demo-restarting%22%7D&g0.range_input=30m
                   (starts over at every restart)
leakwatch-judge, judging every job across restarts with config/demo.yaml's windows:
  judge metrics    http://127.0.0.1:$judge_port/metrics
  fleet verdicts   http://127.0.0.1:$prom_port/graph?g0.expr=leakwatch_judge_site_leak_suspected%3D%3D1&g1.expr=leakwatch_judge_task_leak_suspected%3D%3D1
                   (within ten minutes; then LeakwatchFleetSiteLeakSuspected in alerts)
Dashboards: import dashboards/*.json into Grafana with a Prometheus datasource at
http://127.0.0.1:$prom_port (see README). Logs: $work. Ctrl-C stops everything.
MSG
wait -n "${pids[@]}" || true
echo "a demo process exited; logs:" >&2
tail -n 20 "$work"/*.log >&2 || true
