#!/usr/bin/env bash
# Checks of everything under deploy/ and docker-compose.yml, with the real tools, offline:
#
#   monitoring  promtool check config / check rules / test rules (Debian's `prometheus` package);
#               the Helm chart's copy of the rules equals the source; every metric the rules name
#               is emitted by a service (read from the source code) or listed as pending
#   dashboard   the Grafana dashboard: uid, every PromQL expression parses (promtool), names only
#               emitted or pending metrics
#   compose     docker-compose.yml against the compose-spec JSON schema (check-jsonschema's vendored
#               copy), every service in the file, the scrape config and the Helm values
#   helm        helm lint and helm template (default values and values-production.yaml), every
#               rendered manifest against the Kubernetes schemas (kubernetes-validate) and the
#               prometheus-operator resources against their models (@kubernetes-models/prometheus-operator)
#
#   deploy/ci/check-deploy.sh [monitoring|dashboard|compose|helm]...   (default: all)
#
# Tools come from the registries the first time and are reused afterwards: promtool with apt-get
# (as root), the Python tools into .tools/deploy-venv (deploy/ci/requirements.txt), helm built from
# the Go module proxy into .tools/helm (Go's own caches keep the build), the prometheus-operator
# models into .tools/deploy-node. Exits non-zero on the first failing check.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# Node 24 of deploy/local/bootstrap.sh when it is there.
export PATH="$ROOT/.tools/bin:$PATH"

HELM_VERSION=v3.22.0
PROMETHEUS_OPERATOR_MODELS=@kubernetes-models/prometheus-operator@6.0.0
TOOLS=$ROOT/.tools
VENV=$TOOLS/deploy-venv
CHART=deploy/helm/openpenpal-scheduler
RULES=deploy/monitoring/prometheus/rules/scheduler.rules.yml
DASHBOARD=deploy/monitoring/grafana/dashboards/openpenpal-scheduler.json
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

log() { printf '[check-deploy] %s\n' "$*" >&2; }
fail() { printf '[check-deploy] FAILED: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- tools
ensure_promtool() {
  command -v promtool >/dev/null && return
  [ "$(id -u)" = 0 ] || fail "promtool is missing: run as root, or apt-get install -y prometheus"
  log "installing Debian's prometheus package (promtool)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
}

ensure_venv() {
  local stamp=$VENV/.requirements
  if [ -x "$VENV/bin/python" ] && cmp -s deploy/ci/requirements.txt "$stamp"; then return; fi
  log "installing the Python tools into .tools/deploy-venv"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r deploy/ci/requirements.txt
  cp deploy/ci/requirements.txt "$stamp"
}

HELM=$TOOLS/helm/helm
ensure_helm() {
  if [ -x "$HELM" ] && "$HELM" version --template '{{.Version}}' 2>/dev/null | grep -qx "${HELM_VERSION%.*}\(\.0\)\?"; then return; fi
  command -v go >/dev/null || fail "go is needed to build helm $HELM_VERSION"
  log "building helm $HELM_VERSION from the Go module proxy (several minutes the first time)"
  GOFLAGS=-mod=mod GOBIN=$TOOLS/helm go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
}

ensure_operator_models() {
  local stamp=$TOOLS/deploy-node/.version
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$PROMETHEUS_OPERATOR_MODELS" ]; then return; fi
  log "installing $PROMETHEUS_OPERATOR_MODELS into .tools/deploy-node"
  mkdir -p "$TOOLS/deploy-node"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS/deploy-node" "$PROMETHEUS_OPERATOR_MODELS" >&2
  echo "$PROMETHEUS_OPERATOR_MODELS" >"$stamp"
}

py() { "$VENV/bin/python" "$@"; }

# ---------------------------------------------------------------- checks
check_monitoring() {
  ensure_promtool
  ensure_venv
  log "monitoring: promtool $(promtool --version 2>&1 | head -1 | awk '{print $3}')"
  # The config as compose mounts it, with the rule files where this checkout has them, so that
  # check config also loads and checks the rules it names.
  sed "s#/etc/prometheus/rules/\*.yml#$ROOT/deploy/monitoring/prometheus/rules/*.yml#" \
    deploy/monitoring/prometheus/prometheus.yml >"$WORK/prometheus.yml"
  grep -q "$ROOT/deploy/monitoring/prometheus/rules" "$WORK/prometheus.yml" || fail "prometheus.yml no longer loads /etc/prometheus/rules/*.yml"
  promtool check config "$WORK/prometheus.yml"
  promtool check rules deploy/monitoring/prometheus/rules/*.yml
  promtool test rules deploy/monitoring/prometheus/tests/*.test.yml
  # Every alert has a unit test.
  local alert
  for alert in $(sed -n 's/^ *- alert: *//p' "$RULES"); do
    grep -q "alertname: $alert\$" deploy/monitoring/prometheus/tests/*.test.yml || fail "alert $alert has no promtool unit test"
  done
  if [ -d "$CHART" ]; then
    cmp -s "$RULES" "$CHART/files/scheduler.rules.yml" \
      || fail "$CHART/files/scheduler.rules.yml differs from $RULES: cp $RULES $CHART/files/scheduler.rules.yml"
  fi
  py deploy/ci/metric_names.py check deploy/monitoring/prometheus/rules/*.yml
}

check_dashboard() {
  ensure_promtool
  ensure_venv
  local uid
  uid=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["uid"])' "$DASHBOARD")
  [ "$uid" = openpenpal-scheduler ] || fail "$DASHBOARD has uid $uid, not openpenpal-scheduler"
  # Every query of every panel as a recording rule: promtool parses each one.
  py deploy/ci/metric_names.py dashboard-rules "$DASHBOARD" >"$WORK/dashboard.rules.yml"
  promtool check rules "$WORK/dashboard.rules.yml"
  py deploy/ci/metric_names.py check "$DASHBOARD"
  if [ -d "$CHART" ]; then
    cmp -s "$DASHBOARD" "$CHART/files/openpenpal-scheduler.json" \
      || fail "$CHART/files/openpenpal-scheduler.json differs from $DASHBOARD: cp $DASHBOARD $CHART/files/"
  fi
}

check_compose() {
  ensure_venv
  log "compose: against check-jsonschema $("$VENV/bin/check-jsonschema" --version | awk '{print $NF}')'s vendored compose-spec schema"
  "$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml
  # Once more after interpolation with the values of .env.example, as docker compose sees it.
  py deploy/ci/deploy_checks.py compose "$WORK/compose.json"
  "$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$WORK/compose.json"
  py deploy/ci/deploy_checks.py services
}

# The Kubernetes version the chart is rendered and validated for (kubernetes-validate has its schemas).
KUBE_VERSION=1.33.0
check_helm() {
  ensure_venv
  ensure_helm
  ensure_operator_models
  log "helm: $("$HELM" version --template '{{.Version}}'), Kubernetes $KUBE_VERSION schemas of kubernetes-validate $("$VENV/bin/kubernetes-validate" --version | awk '{print $NF}')"
  local values name
  # The Helm chart runs the same services as compose and Prometheus scrapes.
  py deploy/ci/deploy_checks.py services
  for values in "" values-production.yaml; do
    name=${values:-default values}
    local args=(--kube-version "$KUBE_VERSION")
    [ -n "$values" ] && args+=(-f "$CHART/$values")
    "$HELM" lint --strict "$CHART" "${args[@]:2}"
    # Every optional part on in one of the two runs: ingress, monitoring, autoscaling come from
    # values-production.yaml; the chart-made Secret and the defaults from values.yaml.
    "$HELM" template scheduler "$CHART" --namespace openpenpal "${args[@]}" >"$WORK/rendered.yaml"
    log "helm template ($name): $(grep -c '^kind:' "$WORK/rendered.yaml") manifests"
    py deploy/ci/deploy_checks.py manifests "$WORK/rendered.yaml" "$KUBE_VERSION" "$WORK/monitoring.json"
    node deploy/ci/validate-monitoring-resources.js "$TOOLS/deploy-node" <"$WORK/monitoring.json"
  done
  # The PrometheusRule carries the rules file unchanged.
  "$HELM" template scheduler "$CHART" --kube-version "$KUBE_VERSION" --set monitoring.prometheusRule.enabled=true \
    --show-only templates/prometheusrule.yaml >"$WORK/prometheusrule.yaml"
  py -c '
import sys, yaml
rule = yaml.safe_load(open(sys.argv[1]))
source = yaml.safe_load(open(sys.argv[2]))
sys.exit(0 if rule["spec"]["groups"] == source["groups"] else "the PrometheusRule differs from " + sys.argv[2])
' "$WORK/prometheusrule.yaml" "$RULES"
}

case_args=("$@")
[ ${#case_args[@]} -gt 0 ] || case_args=(monitoring dashboard compose helm)
for part in "${case_args[@]}"; do
  case "$part" in
    monitoring) check_monitoring ;;
    dashboard) check_dashboard ;;
    compose) check_compose ;;
    helm) check_helm ;;
    *) fail "unknown part $part (monitoring, dashboard, compose, helm)" ;;
  esac
done
log "all passed: ${case_args[*]}"
