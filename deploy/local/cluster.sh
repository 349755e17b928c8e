#!/usr/bin/env bash
# The cluster profile of the local stack (STACK_PROFILE=cluster stack.sh …, which runs this): three
# Kafka brokers (KRaft; replication factor 3, min.insync.replicas 2, no unclean leader election), a
# Redis Cluster of three primaries with one replica each, and PostgreSQL with a streaming standby,
# all on loopback ports of their own and in a data folder of their own (.stack/cluster), so it runs
# next to the default profile. The default profile's lib files do the single-node work (prerequisites,
# secrets, the Kafka jars, Redis ACL users, the PostgreSQL primary and its roles).
#
#   cluster.sh up|down|status|reset      (no parts: the profile starts and stops as a whole)
#
# See deploy/local/README.md ("Cluster profile") for ports, memory and settings.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
umask 077

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LIB=$ROOT/deploy/local/lib
STACK_DIR=$(realpath -m "${STACK_DIR:-$ROOT/.stack/cluster}")
CACHE_DIR=${CACHE_DIR:-$ROOT/.cache}
ENV_FILE=${STACK_ENV_FILE:-$STACK_DIR/env}

KAFKA_VERSION=${KAFKA_VERSION:-4.4.0}
# First ports: brokers KAFKA_PORT..+2, controllers KAFKA_CONTROLLER_PORT..+2, Redis REDIS_PORT..+5.
KAFKA_PORT=${KAFKA_PORT:-29092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-29095}
KAFKA_PARTITIONS=${KAFKA_PARTITIONS:-3}
# Three brokers on a small machine: small heaps, serial GC.
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m -XX:+UseSerialGC}
KAFKA_AUTH=none
# Each node's cluster bus listens on its port + 10000: 17001-17006 keep the bus (27001-27006) below the
# ephemeral range too (a bus port inside it failed to bind in CI, taken by an outgoing connection).
REDIS_PORT=${REDIS_PORT:-17001}
REDIS_APPENDFSYNC=${REDIS_APPENDFSYNC:-everysec}
PG_PORT=${PG_PORT:-25432}
PG_STANDBY_PORT=${PG_STANDBY_PORT:-25433}
PG_DATABASE=${PG_DATABASE:-openpenpal}
PG_DOMAIN_SCHEMA=${PG_DOMAIN_SCHEMA:-openpenpal}
READY_TIMEOUT=${STACK_READY_TIMEOUT:-120}
EXTERNAL_DATABASE_URL=

# The single-node libs read these; the cluster libs keep one folder per node instead.
KAFKA_DIR=$STACK_DIR/kafka-1
REDIS_DIR=$STACK_DIR/redis-1
PG_DIR=$STACK_DIR/postgres
KAFKA_LIBS=$CACHE_DIR/kafka-$KAFKA_VERSION/libs

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
# shellcheck source=lib/cluster-kafka.sh
. "$LIB/cluster-kafka.sh"
# shellcheck source=lib/cluster-redis.sh
. "$LIB/cluster-redis.sh"
# shellcheck source=lib/cluster-postgres.sh
. "$LIB/cluster-postgres.sh"

want() { return 0; }
env_prefix() { printf '%s' "$1" | tr '[:lower:]-' '[:upper:]_'; }

# The same variable names as the default profile's env file: KAFKA_BROKERS lists the three seeds,
# REDIS_URL (and each service's) names every Redis node (several hosts: a cluster), plus the
# replication settings topic provisioning reads, and the standby for reads.
write_env() {
  local user role redis_hosts
  redis_hosts=$(redis_cluster_hosts)
  {
    echo "# Connection settings of the local stack's cluster profile, written by deploy/local/cluster.sh up. Secrets: keep it 600."
    echo "STACK_SOURCE=local"
    echo "STACK_PROFILE=cluster"
    echo "KAFKA_BROKERS=$(kafka_cluster_brokers)"
    echo "KAFKA_REPLICATION_FACTOR=3"
    echo "KAFKA_MIN_INSYNC_REPLICAS=2"
    echo "REDIS_URL=redis://:$(secret_for redis)@$redis_hosts"
    for user in $(redis_acl_users); do
      echo "$(env_prefix "$user")_REDIS_URL=redis://$user:$(secret_for "redis-$user")@$redis_hosts"
    done
    echo "DATABASE_URL=postgres://postgres:$(secret_for postgres)@127.0.0.1:$PG_PORT/$PG_DATABASE"
    echo "DATABASE_STANDBY_URL=postgres://postgres:$(secret_for postgres)@127.0.0.1:$PG_STANDBY_PORT/$PG_DATABASE"
    for role in $PG_SERVICE_ROLES; do
      echo "$(env_prefix "${role#scheduler_}")_DATABASE_URL=postgres://$role:$(secret_for "pg-$role")@127.0.0.1:$PG_PORT/$PG_DATABASE"
    done
    echo "API_JWT_SECRET=$(secret_for api-jwt)"
    echo "API_EVENT_SIGNING_SECRET=$(secret_for api-event-signing)"
  } >"$ENV_FILE.tmp"
  chmod 600 "$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
  log "connection settings written to $ENV_FILE"
}

protect() {
  # As root the postgres user passes through to its cluster (traverse only).
  if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then chmod 711 "$STACK_DIR"; else chmod 700 "$STACK_DIR"; fi
  [ -d "$STACK_DIR/secrets" ] && chmod -R go-rwx "$STACK_DIR/secrets"
  [ -f "$ENV_FILE" ] && chmod 600 "$ENV_FILE"
  pg_protect
}

status() {
  local ok=0
  kafka_cluster_status || ok=1
  redis_cluster_status || ok=1
  pg_status || ok=1
  pg_standby_status || ok=1
  [ -f "$ENV_FILE" ] && echo "env file  $ENV_FILE"
  return $ok
}

up() {
  local started=$SECONDS
  ensure_prerequisites
  # shellcheck disable=SC2046 # one port per word
  warn_ephemeral_ports $(seq "$KAFKA_PORT" $((KAFKA_PORT + 2))) $(seq "$KAFKA_CONTROLLER_PORT" $((KAFKA_CONTROLLER_PORT + 2))) \
    $(seq "$REDIS_PORT" $((REDIS_PORT + 5))) $(seq $((REDIS_PORT + 10000)) $((REDIS_PORT + 10005))) \
    "$PG_PORT" "$PG_STANDBY_PORT"
  mkdir -p "$STACK_DIR"
  protect
  resolve_pg_dir create
  # Kafka's JVMs start in the background while Redis and PostgreSQL come up.
  kafka_cluster_up_start
  redis_cluster_up
  pg_up
  pg_standby_up
  wait_for "kafka cluster" kafka_cluster_ready
  write_env
  protect
  log "cluster profile up in $((SECONDS - started))s"
  status
}

down() {
  pg_standby_down
  pg_down
  redis_cluster_down
  kafka_cluster_down
  # Tests on the profile run while its env file exists: after a down they are skipped, not failed.
  rm -f "$ENV_FILE"
  log "stopped: kafka-1..3, redis-1..6, postgres, standby (env file removed)"
}

command=${1:-}
[ $# -gt 1 ] && { echo "the cluster profile starts and stops as a whole: $0 up|down|status|reset" >&2; exit 2; }

if [[ "$command" =~ ^(up|down|reset)$ ]] && [ -z "${STACK_LOCKED:-}" ] && command -v flock >/dev/null; then
  mkdir -p "$STACK_DIR"
  STACK_LOCKED=1 exec flock -o "$STACK_DIR/.lock" bash "${BASH_SOURCE[0]}" "$command"
fi

case "$command" in
  up) up ;;
  down) resolve_pg_dir; down ;;
  status) resolve_pg_dir; status ;;
  reset)
    resolve_pg_dir
    down
    rm -rf "$STACK_DIR"
    case "$PG_DIR" in /var/tmp/openpenpal-stack-*) rm -rf "$(dirname "$PG_DIR")" ;; esac
    log "removed $STACK_DIR"
    ;;
  *) echo "usage: STACK_PROFILE=cluster $0 up|down|status|reset" >&2; exit 2 ;;
esac
