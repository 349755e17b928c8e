# shellcheck shell=bash
# Prometheus for the local stack (STACK_PROMETHEUS=1 stack.sh up), from Debian's `prometheus`
# package (installed with apt-get as root when missing). It scrapes every scheduler service on
# 127.0.0.1 at the port of its line in deploy/monitoring/prometheus/prometheus.yml and loads the
# alert rules of deploy/monitoring/prometheus/rules; UI and API on 127.0.0.1:$PROMETHEUS_PORT.
# Sourced by stack.sh after common.sh; data under $STACK_DIR/prometheus.

PROMETHEUS_PORT=${PROMETHEUS_PORT:-19090}
PROMETHEUS_DIR=$STACK_DIR/prometheus
PROMETHEUS_CONFIG=$PROMETHEUS_DIR/prometheus.yml
PROMETHEUS_PID_FILE=$PROMETHEUS_DIR/prometheus.pid
PROMETHEUS_SOURCE_CONFIG=$ROOT/deploy/monitoring/prometheus/prometheus.yml

prometheus_wanted() { [ "${STACK_PROMETHEUS:-0}" = 1 ]; }

prometheus_pid() {
  local pid
  pid=$(read_pid "$PROMETHEUS_PID_FILE")
  if is_alive "$pid" && proc_has_arg "$pid" "--config.file=$PROMETHEUS_CONFIG"; then echo "$pid"; fi
}

# The compose scrape config with each `- { names: [<service>], type: A, port: <port> }` line as a
# static target 127.0.0.1:<port> labelled service=<service>, and the rules from this checkout.
prometheus_write_config() {
  local targets
  targets=$(sed -n 's/^ *- { *names: *\[\([a-z0-9-]*\)\], *type: *A, *port: *\([0-9]*\) *}.*$/\1 \2/p' "$PROMETHEUS_SOURCE_CONFIG")
  [ -n "$targets" ] || die "no service lines found in $PROMETHEUS_SOURCE_CONFIG"
  {
    echo "# Written by deploy/local/stack.sh from $PROMETHEUS_SOURCE_CONFIG; do not edit."
    echo "global: { scrape_interval: 15s, evaluation_interval: 15s, external_labels: { system: openpenpal-scheduler-local } }"
    echo "rule_files: ['$ROOT/deploy/monitoring/prometheus/rules/*.yml']"
    echo "scrape_configs:"
    echo "  - job_name: scheduler"
    echo "    honor_labels: true"
    echo "    static_configs:"
    while read -r service port; do
      echo "      - { targets: ['127.0.0.1:$port'], labels: { service: $service } }"
    done <<<"$targets"
    echo "  - job_name: prometheus"
    echo "    static_configs: [{ targets: ['127.0.0.1:$PROMETHEUS_PORT'] }]"
  } >"$PROMETHEUS_CONFIG.tmp"
  promtool check config "$PROMETHEUS_CONFIG.tmp" >/dev/null || die "the generated $PROMETHEUS_CONFIG is invalid (promtool check config)"
  mv "$PROMETHEUS_CONFIG.tmp" "$PROMETHEUS_CONFIG"
}

prometheus_ready() { curl -fsS "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" >/dev/null 2>&1; }

prometheus_up() {
  command -v prometheus >/dev/null && command -v promtool >/dev/null || install_packages prometheus
  mkdir -p "$PROMETHEUS_DIR/data"
  prometheus_write_config
  local pid
  pid=$(prometheus_pid)
  if [ -n "$pid" ]; then
    # Running already: load the regenerated config and rules.
    kill -HUP "$pid"
    log "prometheus running (pid $pid); configuration reloaded"
    return
  fi
  port_open "$PROMETHEUS_PORT" && die "port $PROMETHEUS_PORT is taken (set PROMETHEUS_PORT)"
  log "starting prometheus on 127.0.0.1:$PROMETHEUS_PORT"
  nohup prometheus --config.file="$PROMETHEUS_CONFIG" --storage.tsdb.path="$PROMETHEUS_DIR/data" \
    --storage.tsdb.retention.time=2d --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" \
    >"$PROMETHEUS_DIR/prometheus.log" 2>&1 </dev/null &
  echo $! >"$PROMETHEUS_PID_FILE"
  wait_for prometheus prometheus_ready
}

prometheus_down() {
  local pid
  pid=$(prometheus_pid)
  [ -n "$pid" ] || return 0
  stop_pid prometheus "$pid" 20
  rm -f "$PROMETHEUS_PID_FILE"
}

prometheus_status() {
  local pid
  pid=$(prometheus_pid)
  if [ -n "$pid" ] && prometheus_ready; then
    echo "prometheus running  pid $pid  http://127.0.0.1:$PROMETHEUS_PORT"
    return 0
  fi
  if [ -n "$pid" ]; then echo "prometheus starting pid $pid  (see $PROMETHEUS_DIR/prometheus.log)"; return 1; fi
  echo "prometheus stopped"
  prometheus_wanted && return 1
  return 0
}
