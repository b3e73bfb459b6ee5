#!/usr/bin/env bash
# `make demo`: runs leakwatch-demo under load with config/demo.yaml, a local
# Prometheus scraping it (alert rules from alerts/ loaded) and Alertmanager, all
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
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)

am_config=alerts/alertmanager.yaml
[ -f "$am_config" ] || { printf 'route: {receiver: none}\nreceivers: [{name: none}]\n' >"$work/am.yml"; am_config="$work/am.yml"; }
prometheus-alertmanager --config.file="$am_config" --storage.path="$work/am" \
  --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= >"$work/alertmanager.log" 2>&1 &
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
Dashboards: import dashboards/*.json into Grafana with a Prometheus datasource at
http://127.0.0.1:$prom_port (see README). Logs: $work. Ctrl-C stops everything.
MSG
wait -n "${pids[@]}" || true
echo "a demo process exited; logs:" >&2
tail -n 20 "$work"/*.log >&2 || true
