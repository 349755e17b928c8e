#!/usr/bin/env bash
# The local, Docker-free infrastructure: Apache Kafka (KRaft, from Maven Central), Redis (AOF)
# and PostgreSQL, each in a project-local data folder on its own loopback port.
#
#   stack.sh up [part...]      start what is not running (cleaning what a killed part left behind),
#                              wait until every part is ready, write the env file
#   stack.sh down [part...]    stop every part this stack started (data is kept)
#   stack.sh status [part...]  print each part's state; exit 0 only when all run
#   stack.sh reset             down, then delete the data folder
#
# Parts: kafka, redis, postgres (default: all three). STACK_PROMETHEUS=1 also starts Prometheus
# scraping the services (lib/prometheus.sh); a full `down` stops it. Every setting has a default and can be
# overridden from the environment; see deploy/local/README.md for the table.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# Data, logs, configuration and secrets are the owner's only: every file this script or a part it
# starts creates is 600, every folder 700 (see *_protect for what existed before).
umask 077

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LIB=$ROOT/deploy/local/lib
# STACK_PROFILE=cluster: three brokers, a Redis Cluster and a PostgreSQL standby (cluster.sh).
case "${STACK_PROFILE:-default}" in
  default) ;;
  cluster) exec bash "$ROOT/deploy/local/cluster.sh" "$@" ;;
  *) echo "STACK_PROFILE must be default or cluster, got $STACK_PROFILE" >&2; exit 2 ;;
esac
# Absolute and normalised: processes are told apart by the paths in their arguments.
STACK_DIR=$(realpath -m "${STACK_DIR:-$ROOT/.stack}")
CACHE_DIR=${CACHE_DIR:-$ROOT/.cache}
ENV_FILE=${STACK_ENV_FILE:-$STACK_DIR/env}

KAFKA_VERSION=${KAFKA_VERSION:-4.4.0}
# Ports left empty here are settled by settle_ports: the ones a data folder last ran on, else defaults.
KAFKA_PORT=${KAFKA_PORT:-}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-}
KAFKA_PARTITIONS=${KAFKA_PARTITIONS:-3}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}
KAFKA_AUTH=${STACK_KAFKA_AUTH:-none}
REDIS_PORT=${REDIS_PORT:-}
REDIS_APPENDFSYNC=${REDIS_APPENDFSYNC:-everysec}
PG_PORT=${PG_PORT:-}
PG_DATABASE=${PG_DATABASE:-openpenpal}
PG_DOMAIN_SCHEMA=${PG_DOMAIN_SCHEMA:-openpenpal}
READY_TIMEOUT=${STACK_READY_TIMEOUT:-90}

KAFKA_DIR=$STACK_DIR/kafka
REDIS_DIR=$STACK_DIR/redis
PG_DIR=$STACK_DIR/postgres
KAFKA_LIBS=$CACHE_DIR/kafka-$KAFKA_VERSION/libs

case "$KAFKA_AUTH" in none | scram) ;; *) echo "STACK_KAFKA_AUTH must be none or scram, got $KAFKA_AUTH" >&2; exit 2 ;; esac
[[ "$PG_DATABASE" =~ ^[a-z_][a-z0-9_]*$ && "$PG_DOMAIN_SCHEMA" =~ ^[a-z_][a-z0-9_]*$ ]] \
  || { echo "PG_DATABASE and PG_DOMAIN_SCHEMA must be lower-case identifiers" >&2; exit 2; }

# shellcheck source=lib/common.sh
. "$LIB/common.sh"
# shellcheck source=lib/kafka.sh
. "$LIB/kafka.sh"
# shellcheck source=lib/redis.sh
. "$LIB/redis.sh"
# shellcheck source=lib/pg-roles.sql.sh
. "$LIB/pg-roles.sql.sh"
# shellcheck source=lib/postgres.sh
. "$LIB/postgres.sh"
# shellcheck source=lib/prometheus.sh
. "$LIB/prometheus.sh"

ALL_PARTS=(kafka redis postgres)
PARTS=()
want() { [[ " ${PARTS[*]} " == *" $1 "* ]]; }

# FOO-BAR → FOO_BAR: the prefix of a service's variables in the env file.
env_prefix() { printf '%s' "$1" | tr '[:lower:]-' '[:upper:]_'; }

# ---------------------------------------------------------------- env file
# Connection settings of every part that runs: the superuser / default user for tests and tools,
# then one login per service (<SERVICE>_REDIS_URL, <SERVICE>_DATABASE_URL, <SERVICE>_KAFKA_SASL_*).
write_env() {
  local user role
  # The ports the parts run on, also when they were started with other settings than this run's.
  [ -n "$(kafka_pid)" ] && KAFKA_PORT=$(kafka_configured_port)
  [ -n "$(redis_pid)" ] && REDIS_PORT=$(redis_configured_port)
  [ -n "$(pg_postmaster_pid)" ] && PG_PORT=$(pg_configured_port)
  {
    echo "# Connection settings of the local stack, written by deploy/local/stack.sh up. Secrets: keep it 600."
    echo "STACK_SOURCE=local"
    if [ -n "$(kafka_pid)" ]; then
      echo "KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
      if [ "$(kafka_running_auth)" = scram ]; then
        echo "KAFKA_SASL_MECHANISM=scram-sha-512"
        echo "KAFKA_SASL_USERNAME=admin"
        echo "KAFKA_SASL_PASSWORD=$(secret_for kafka-admin)"
        for user in $(kafka_service_users); do
          echo "$(env_prefix "$user")_KAFKA_SASL_USERNAME=$user"
          echo "$(env_prefix "$user")_KAFKA_SASL_PASSWORD=$(secret_for "kafka-$user")"
        done
      fi
    fi
    if [ -n "$(redis_pid)" ]; then
      echo "REDIS_URL=redis://:$(secret_for redis)@127.0.0.1:$REDIS_PORT"
      for user in $(redis_acl_users); do
        echo "$(env_prefix "$user")_REDIS_URL=redis://$user:$(secret_for "redis-$user")@127.0.0.1:$REDIS_PORT"
      done
    fi
    if [ -n "${EXTERNAL_DATABASE_URL:-}" ]; then
      echo "DATABASE_URL=$EXTERNAL_DATABASE_URL"
    elif [ -n "$(pg_postmaster_pid)" ]; then
      echo "DATABASE_URL=postgres://postgres:$(secret_for postgres)@127.0.0.1:$PG_PORT/$PG_DATABASE"
      for role in $PG_SERVICE_ROLES; do
        echo "$(env_prefix "${role#scheduler_}")_DATABASE_URL=postgres://$role:$(secret_for "pg-$role")@127.0.0.1:$PG_PORT/$PG_DATABASE"
      done
    fi
    # The admin API's secrets (dev.sh up): tokens it accepts are HS256 with the first; signed events
    # are HMAC-SHA256 with the second.
    echo "API_JWT_SECRET=$(secret_for api-jwt)"
    echo "API_EVENT_SIGNING_SECRET=$(secret_for api-event-signing)"
  } >"$ENV_FILE.tmp"
  chmod 600 "$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
  log "connection settings written to $ENV_FILE"
}

# A data folder restarts on the ports it last ran on (after a crash too), unless they are given.
settle_ports() {
  : "${KAFKA_PORT:=$(kafka_configured_port)}" "${KAFKA_PORT:=19092}"
  : "${KAFKA_CONTROLLER_PORT:=$(kafka_configured_controller_port)}" "${KAFKA_CONTROLLER_PORT:=19093}"
  : "${REDIS_PORT:=$(redis_configured_port)}" "${REDIS_PORT:=16379}"
  : "${PG_PORT:=$(pg_configured_port)}" "${PG_PORT:=15432}"
}

# ---------------------------------------------------------------- permissions
# The umask covers what is made from now on; this covers what an older stack.sh made. As root the
# postgres user must pass through the stack folder to reach its cluster (traverse only: 711).
pg_inside_stack_dir() {
  [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 && [[ "$PG_DIR" == "$STACK_DIR"/* ]] \
    && { want postgres || [ -d "$PG_DIR" ]; }
}

protect() {
  if pg_inside_stack_dir; then chmod 711 "$STACK_DIR"; else chmod 700 "$STACK_DIR"; fi
  [ -d "$STACK_DIR/secrets" ] && chmod -R go-rwx "$STACK_DIR/secrets"
  [ -f "$ENV_FILE" ] && chmod 600 "$ENV_FILE"
  kafka_protect
  redis_protect
  pg_protect
}

# ---------------------------------------------------------------- commands
status() {
  local ok=0
  want kafka && { kafka_status || ok=1; }
  want redis && { redis_status || ok=1; }
  want postgres && { pg_status || ok=1; }
  prometheus_status || ok=1
  [ -f "$ENV_FILE" ] && echo "env file  $ENV_FILE"
  return $ok
}

up() {
  ensure_prerequisites
  mkdir -p "$STACK_DIR"
  if pg_inside_stack_dir; then chmod 711 "$STACK_DIR"; fi
  if want postgres; then resolve_pg_dir create; else resolve_pg_dir; fi
  settle_ports
  warn_ephemeral_ports "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$REDIS_PORT" "$PG_PORT"
  protect
  want kafka && kafka_up
  want redis && redis_up
  want postgres && pg_up
  write_env
  prometheus_wanted && prometheus_up
  protect
  status
}

# Processes with an argument inside this data folder (a server started from it): never one whose
# argument merely mentions the path (a shell running a script that names it), never this script or
# its callers (flock's command line names the lock file).
leftover_pids() {
  local pid arg ours=" " up=$$
  while [ -n "$up" ] && [ "$up" -gt 1 ]; do ours+="$up "; up=$(sed 's/^.*) //' "/proc/$up/stat" 2>/dev/null | cut -d' ' -f2); done
  for pid in $(pgrep -f -- "$STACK_DIR/" || true); do
    [[ "$ours" == *" $pid "* ]] && continue
    while IFS= read -r -d '' arg; do
      # The cluster profile's folder sits inside the default one: its servers are not this stack's.
      [[ "$arg" == "$STACK_DIR/cluster/"* ]] && break
      if [[ "$arg" == "$STACK_DIR/"* ]]; then echo "$pid"; break; fi
    done 2>/dev/null <"/proc/$pid/cmdline" || true
  done
}

down() {
  want postgres && pg_down
  want redis && redis_down
  want kafka && kafka_down
  if [ ${#PARTS[@]} = ${#ALL_PARTS[@]} ]; then
    prometheus_down
    # Anything still running from this data folder was started by this stack: say so and end it.
    local left pid
    left=$(leftover_pids)
    if [ -n "$left" ]; then
      log "ending leftover stack processes: $left"
      for pid in $left; do stop_pid leftover "$pid" 10; done
    fi
  fi
  log "stopped: ${PARTS[*]}"
}

# A DATABASE_URL given by the caller means "use that database"; remember it apart from the
# value this script writes, so a re-run does not mistake its own output for the caller's.
if [ -n "${DATABASE_URL:-}" ] && [ "${STACK_SOURCE:-}" != local ]; then EXTERNAL_DATABASE_URL=$DATABASE_URL; fi

command=${1:-}
[ $# -gt 0 ] && shift
for part in "$@"; do
  [[ " ${ALL_PARTS[*]} " == *" $part "* ]] || { echo "unknown part $part (kafka, redis, postgres)" >&2; exit 2; }
  PARTS+=("$part")
done
[ ${#PARTS[@]} -gt 0 ] || PARTS=("${ALL_PARTS[@]}")

# One up, down or reset at a time per data folder; flock -o keeps the lock out of the servers started.
if [[ "$command" =~ ^(up|down|reset)$ ]] && [ -z "${STACK_LOCKED:-}" ] && command -v flock >/dev/null; then
  mkdir -p "$STACK_DIR"
  STACK_LOCKED=1 exec flock -o "$STACK_DIR/.lock" bash "${BASH_SOURCE[0]}" "$command" "$@"
fi

case "$command" in
  up) up ;;
  down) resolve_pg_dir; settle_ports; down ;;
  status) resolve_pg_dir; settle_ports; status ;;
  reset)
    PARTS=("${ALL_PARTS[@]}")
    # The cluster profile's folder is inside this one: stop its servers before the folder goes.
    if [ -d "$STACK_DIR/cluster" ]; then STACK_DIR=$STACK_DIR/cluster bash "$ROOT/deploy/local/cluster.sh" down; fi
    resolve_pg_dir
    settle_ports
    down
    rm -rf "$STACK_DIR"
    case "$PG_DIR" in /var/tmp/openpenpal-stack-*) rm -rf "$(dirname "$PG_DIR")" ;; esac
    log "removed $STACK_DIR"
    ;;
  *) echo "usage: $0 up|down|status [kafka|redis|postgres...] | reset" >&2; exit 2 ;;
esac
