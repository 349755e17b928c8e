#!/usr/bin/env bash
# A real Jaeger (v2, from the Go module proxy, no Docker) on loopback with in-memory storage.
#
#   jaeger.sh up       build it once (github.com/jaegertracing/jaeger/cmd/jaeger@JAEGER_VERSION into
#                      .tools/jaeger/bin with the user-level Go caches: a cold build takes 10+ minutes,
#                      later ones reuse the caches), start it in the background and write
#                      .stack/jaeger.env (OTEL_EXPORTER_OTLP_ENDPOINT), which dev.sh up passes to the
#                      services
#   jaeger.sh down     stop it and remove .stack/jaeger.env (the services stop exporting on restart)
#   jaeger.sh status   exit 0 when it runs
#
# OTLP/HTTP on 127.0.0.1:4318, OTLP/gRPC on 4317, the UI and query API (/api/traces) on 16686.
set -euo pipefail
umask 077
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
JAEGER_VERSION=${JAEGER_VERSION:-v1.76.0}
TOOLS=$ROOT/.tools/jaeger
BIN=$TOOLS/bin/jaeger-$JAEGER_VERSION
STACK_DIR=$(realpath -m "${STACK_DIR:-$ROOT/.stack}")
RUN_DIR=$STACK_DIR/jaeger
PID_FILE=$RUN_DIR/jaeger.pid
ENV_OUT=$STACK_DIR/jaeger.env

running() {
  [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

build() {
  [ -x "$BIN" ] && return 0
  command -v go >/dev/null || { echo "jaeger: Go is needed to build Jaeger" >&2; exit 1; }
  # The jaeger module has replace directives, so `go install pkg@version` refuses it; a small module
  # of our own that requires it as a tool builds it (with the module's requirements, not its replaces).
  mkdir -p "$TOOLS/mod" "$TOOLS/bin"
  (
    cd "$TOOLS/mod"
    [ -f go.mod ] || go mod init openpenpal.local/jaeger-tool >/dev/null 2>&1
    echo "jaeger: building $JAEGER_VERSION (a cold build takes 10+ minutes)" >&2
    go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION"
    go build -o "$BIN.tmp" github.com/jaegertracing/jaeger/cmd/jaeger
    mv "$BIN.tmp" "$BIN"
  )
}

up() {
  build
  mkdir -p "$RUN_DIR"
  if ! running; then
    # The built-in all-in-one configuration: memory storage, every listener on JAEGER_LISTEN_HOST.
    JAEGER_LISTEN_HOST=127.0.0.1 nohup "$BIN" >"$RUN_DIR/jaeger.log" 2>&1 &
    echo $! >"$PID_FILE"
  fi
  for _ in $(seq 1 60); do
    if curl -fsS http://127.0.0.1:16686/api/services >/dev/null 2>&1; then
      printf 'OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318\nOTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf\n' >"$ENV_OUT"
      echo "jaeger: up (UI http://127.0.0.1:16686, OTLP http://127.0.0.1:4318); settings in $ENV_OUT"
      return 0
    fi
    running || { echo "jaeger: exited; see $RUN_DIR/jaeger.log" >&2; exit 1; }
    sleep 1
  done
  echo "jaeger: not ready after 60 s; see $RUN_DIR/jaeger.log" >&2
  exit 1
}

down() {
  rm -f "$ENV_OUT"
  if running; then
    pid=$(cat "$PID_FILE")
    kill "$pid"
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f "$PID_FILE"
  echo "jaeger: down"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) if running; then echo "jaeger: running (pid $(cat "$PID_FILE"))"; else echo "jaeger: stopped"; exit 1; fi ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
