#!/usr/bin/env bash
# The local, Docker-free infrastructure: Apache Kafka (KRaft, from Maven Central), Redis (AOF)
# and PostgreSQL, each in a project-local data folder on its own loopback port.
#
#   stack.sh up       start what is not running, wait until every part is ready, write the env file
#   stack.sh down     stop every part this stack started (data is kept)
#   stack.sh status   print each part's state; exit 0 only when all run
#   stack.sh reset    down, then delete the data folder
#
# Every setting has a default and can be overridden from the environment; see
# deploy/local/README.md for the table.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STACK_DIR=${STACK_DIR:-$ROOT/.stack}
CACHE_DIR=${CACHE_DIR:-$ROOT/.cache}
ENV_FILE=${STACK_ENV_FILE:-$STACK_DIR/env}

KAFKA_VERSION=${KAFKA_VERSION:-4.4.0}
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-19093}
KAFKA_PARTITIONS=${KAFKA_PARTITIONS:-3}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}
REDIS_PORT=${REDIS_PORT:-16379}
REDIS_APPENDFSYNC=${REDIS_APPENDFSYNC:-everysec}
PG_PORT=${PG_PORT:-15432}
PG_DATABASE=${PG_DATABASE:-openpenpal}
READY_TIMEOUT=${STACK_READY_TIMEOUT:-90}

KAFKA_DIR=$STACK_DIR/kafka
REDIS_DIR=$STACK_DIR/redis
PG_DIR=$STACK_DIR/postgres
KAFKA_LIBS=$CACHE_DIR/kafka-$KAFKA_VERSION/libs

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

is_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
read_pid() { [ -f "$1" ] && tr -dc '0-9' <"$1" || true; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Waits until "$@" succeeds, or fails after READY_TIMEOUT seconds.
wait_for() {
  local what=$1; shift
  local deadline=$((SECONDS + READY_TIMEOUT))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || die "$what did not become ready within ${READY_TIMEOUT}s"
    sleep 0.3
  done
}

# ---------------------------------------------------------------- prerequisites
APT_UPDATED=0
install_packages() {
  # Installs Debian packages when that is safe (root on a Debian-like machine); otherwise names
  # the exact command, so the user can run it with the rights they have.
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing $* (apt-get)"
    if [ $APT_UPDATED = 0 ]; then apt-get update -qq >&2; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2 || die "apt-get install $* failed"
  else
    die "missing prerequisite: $*. Install it with: sudo apt-get install -y $*"
  fi
}

# The newest PostgreSQL version whose *server* binaries are installed: the client package alone
# (psql, which many machines have) puts a bin folder there too, without initdb.
pg_bin_dir() {
  local initdb
  initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
  [ -n "$initdb" ] && dirname "$initdb"
  return 0
}

ensure_prerequisites() {
  local missing=()
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  command -v redis-server >/dev/null || missing+=(redis-server)
  if [ -z "${EXTERNAL_DATABASE_URL:-}" ] && [ -z "$(pg_bin_dir)" ]; then missing+=(postgresql); fi
  if [ ${#missing[@]} -gt 0 ]; then install_packages "${missing[@]}"; fi
  local major
  major=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
  [ "${major%%.*}" -ge 17 ] 2>/dev/null || die "Kafka $KAFKA_VERSION needs Java 17 or newer (found ${major:-none})"
}

random_secret() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# Secrets are made once per data folder, never stored in the repository.
secret_for() {
  local file=$STACK_DIR/secrets/$1
  if [ ! -s "$file" ]; then
    mkdir -p "$STACK_DIR/secrets"; chmod 700 "$STACK_DIR/secrets"
    (umask 077; random_secret >"$file")
  fi
  cat "$file"
}

# ---------------------------------------------------------------- kafka
kafka_fetch() {
  [ -f "$KAFKA_LIBS/.complete" ] && return 0
  log "fetching Apache Kafka $KAFKA_VERSION and its runtime dependencies from Maven Central"
  local tmp=$KAFKA_LIBS.tmp
  rm -rf "$tmp"; mkdir -p "$tmp"
  mvn -q -B -f "$ROOT/deploy/local/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" >&2 \
    || die "mvn could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION"
  touch "$tmp/.complete"
  rm -rf "$KAFKA_LIBS"; mv "$tmp" "$KAFKA_LIBS"
}

kafka_java() { java $KAFKA_HEAP_OPTS -Dlog4j2.configurationFile="$ROOT/deploy/local/log4j2.properties" -cp "$KAFKA_LIBS/*" "$@"; }

kafka_config() {
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Written by deploy/local/stack.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=$KAFKA_PARTITIONS
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests create topics explicitly (provisioning is part of the product) and join groups often.
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
delete.topic.enable=true
log.retention.hours=168
log.segment.bytes=67108864
EOF
}

kafka_ready() {
  is_alive "$(read_pid "$KAFKA_DIR/kafka.pid")" || die "Kafka exited during start; see $KAFKA_DIR/kafka.log"
  port_open "$KAFKA_PORT" && grep -q 'Kafka Server started' "$KAFKA_DIR/kafka.log"
}

kafka_up() {
  mkdir -p "$KAFKA_DIR"
  if is_alive "$(read_pid "$KAFKA_DIR/kafka.pid")"; then log "kafka already running (pid $(read_pid "$KAFKA_DIR/kafka.pid"))"; return 0; fi
  port_open "$KAFKA_PORT" && die "port $KAFKA_PORT is taken by another process; set KAFKA_PORT"
  kafka_fetch
  kafka_config
  if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
    local cluster_id
    cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    log "formatting kafka storage (cluster $cluster_id)"
    kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/format.log" 2>&1 \
      || die "kafka storage format failed; see $KAFKA_DIR/format.log"
  fi
  log "starting kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT"
  : >"$KAFKA_DIR/kafka.log"
  setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$KAFKA_DIR/kafka.pid" \
    java $KAFKA_HEAP_OPTS -Dlog4j2.configurationFile="$ROOT/deploy/local/log4j2.properties" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_DIR/server.properties" >>"$KAFKA_DIR/kafka.log" 2>&1 </dev/null &
  local tries=0
  until [ -s "$KAFKA_DIR/kafka.pid" ] || [ $tries -gt 50 ]; do sleep 0.1; tries=$((tries + 1)); done
  wait_for kafka kafka_ready
}

# ---------------------------------------------------------------- redis
redis_cli() { REDISCLI_AUTH=$(secret_for redis) redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
redis_ready() { [ "$(redis_cli ping 2>/dev/null)" = PONG ]; }

redis_up() {
  mkdir -p "$REDIS_DIR"
  if is_alive "$(read_pid "$REDIS_DIR/redis.pid")"; then log "redis already running (pid $(read_pid "$REDIS_DIR/redis.pid"))"; return 0; fi
  port_open "$REDIS_PORT" && die "port $REDIS_PORT is taken by another process; set REDIS_PORT"
  log "starting redis on 127.0.0.1:$REDIS_PORT (appendonly, appendfsync $REDIS_APPENDFSYNC)"
  local conf=$REDIS_DIR/redis.conf
  (umask 077; cat >"$conf" <<EOF
bind 127.0.0.1
port $REDIS_PORT
dir $REDIS_DIR
daemonize yes
pidfile $REDIS_DIR/redis.pid
logfile $REDIS_DIR/redis.log
appendonly yes
appendfsync $REDIS_APPENDFSYNC
requirepass $(secret_for redis)
maxmemory-policy noeviction
EOF
)
  redis-server "$conf" >&2
  wait_for redis redis_ready
}

# ---------------------------------------------------------------- postgres
# As root the cluster belongs to the postgres user, which must be able to reach its folder. A
# project under a private home (/root/...) is out of its reach: the cluster then lives in a folder
# of its own under /var/tmp, named after the stack folder so up, down and status agree on it.
resolve_pg_dir() {
  [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 || return 0
  mkdir -p "$PG_DIR"
  chown postgres: "$PG_DIR"
  if ! runuser -u postgres -- test -w "$PG_DIR"; then
    PG_DIR=/var/tmp/openpenpal-stack-$(printf '%s' "$STACK_DIR" | cksum | cut -d' ' -f1)/postgres
    mkdir -p "$PG_DIR"
    chmod 755 "$(dirname "$PG_DIR")"
    chown postgres: "$PG_DIR"
  fi
}

# initdb refuses to run as root, so as root the cluster belongs to the postgres system user.
as_pg_owner() {
  # From / so the postgres user is not left in a working folder it may not enter.
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

pg_ready() { as_pg_owner "$(pg_bin_dir)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }

pg_up() {
  if [ -n "${EXTERNAL_DATABASE_URL:-}" ]; then log "postgres: using DATABASE_URL from the environment"; return 0; fi
  local bin data=$PG_DIR/data
  bin=$(pg_bin_dir)
  mkdir -p "$PG_DIR/run"
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$PG_DIR" "$PG_DIR/run"
    runuser -u postgres -- test -w "$PG_DIR" \
      || die "the postgres user cannot reach $PG_DIR; set STACK_DIR to a folder it can traverse, or set DATABASE_URL"
  fi
  if [ -f "$data/postmaster.pid" ] && pg_ready; then log "postgres already running"; return 0; fi
  port_open "$PG_PORT" && die "port $PG_PORT is taken by another process; set PG_PORT"
  if [ ! -f "$data/PG_VERSION" ]; then
    log "creating postgres cluster in $data"
    local pwfile=$PG_DIR/pwfile
    (umask 077; secret_for postgres >"$pwfile")
    [ "$(id -u)" = 0 ] && chown postgres: "$pwfile"
    as_pg_owner "$bin/initdb" -D "$data" -U postgres --auth=scram-sha-256 --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
      || die "initdb failed; see $PG_DIR/initdb.log"
    rm -f "$pwfile"
  fi
  log "starting postgres on 127.0.0.1:$PG_PORT"
  as_pg_owner "$bin/pg_ctl" -D "$data" -l "$PG_DIR/postgres.log" -w -t "$READY_TIMEOUT" \
    -o "-p $PG_PORT -k $PG_DIR/run -c listen_addresses=127.0.0.1 -c max_connections=300" start >&2 \
    || die "postgres did not start; see $PG_DIR/postgres.log"
  wait_for postgres pg_ready
  local exists
  exists=$(PGPASSWORD=$(secret_for postgres) psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'openpenpal'")
  if [ "$exists" != 1 ]; then
    PGPASSWORD=$(secret_for postgres) "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$PG_DATABASE"
  fi
}

# ---------------------------------------------------------------- env file
write_env() {
  local db_url=${EXTERNAL_DATABASE_URL:-postgres://postgres:$(secret_for postgres)@127.0.0.1:$PG_PORT/$PG_DATABASE}
  mkdir -p "$(dirname "$ENV_FILE")"
  (umask 077; cat >"$ENV_FILE" <<EOF
# Connection settings of the local stack, written by deploy/local/stack.sh up.
STACK_SOURCE=local
KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
REDIS_URL=redis://:$(secret_for redis)@127.0.0.1:$REDIS_PORT
DATABASE_URL=$db_url
EOF
)
  log "connection settings written to $ENV_FILE"
}

# ---------------------------------------------------------------- stop
stop_pid() {
  local name=$1 pid=$2 grace=${3:-30}
  is_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + grace))
  while is_alive "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  if is_alive "$pid"; then log "$name did not stop within ${grace}s; killing it"; kill -KILL "$pid" 2>/dev/null || true; fi
  while is_alive "$pid"; do sleep 0.1; done
}

down() {
  if [ -z "${EXTERNAL_DATABASE_URL:-}" ] && [ -f "$PG_DIR/data/postmaster.pid" ]; then
    log "stopping postgres"
    as_pg_owner "$(pg_bin_dir)/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >&2 || \
      stop_pid postgres "$(head -n 1 "$PG_DIR/data/postmaster.pid")"
  fi
  if is_alive "$(read_pid "$REDIS_DIR/redis.pid")"; then
    log "stopping redis"
    stop_pid redis "$(read_pid "$REDIS_DIR/redis.pid")"
  fi
  if is_alive "$(read_pid "$KAFKA_DIR/kafka.pid")"; then
    log "stopping kafka"
    stop_pid kafka "$(read_pid "$KAFKA_DIR/kafka.pid")" 60
  fi
  rm -f "$KAFKA_DIR/kafka.pid"
  # Anything still running from this data folder was started by this stack: say so and end it.
  local left
  left=$(pgrep -f -- "$STACK_DIR/" || true)
  if [ -n "$left" ]; then
    log "ending leftover stack processes: $left"
    for pid in $left; do stop_pid leftover "$pid" 10; done
  fi
  log "stack is down"
}

status() {
  local ok=0 pid
  pid=$(read_pid "$KAFKA_DIR/kafka.pid")
  if is_alive "$pid" && port_open "$KAFKA_PORT"; then echo "kafka     running  pid $pid  127.0.0.1:$KAFKA_PORT"; else echo "kafka     stopped"; ok=1; fi
  pid=$(read_pid "$REDIS_DIR/redis.pid")
  if is_alive "$pid" && redis_ready; then echo "redis     running  pid $pid  127.0.0.1:$REDIS_PORT"; else echo "redis     stopped"; ok=1; fi
  if [ -n "${EXTERNAL_DATABASE_URL:-}" ]; then echo "postgres  external (DATABASE_URL)"
  elif [ -f "$PG_DIR/data/postmaster.pid" ] && pg_ready; then echo "postgres  running  pid $(head -n 1 "$PG_DIR/data/postmaster.pid")  127.0.0.1:$PG_PORT"
  else echo "postgres  stopped"; ok=1; fi
  [ -f "$ENV_FILE" ] && echo "env file  $ENV_FILE"
  return $ok
}

# A DATABASE_URL given by the caller means "use that database"; remember it apart from the
# value this script writes, so a re-run does not mistake its own output for the caller's.
if [ -n "${DATABASE_URL:-}" ] && [ "${STACK_SOURCE:-}" != local ]; then EXTERNAL_DATABASE_URL=$DATABASE_URL; fi

case "${1:-}" in
  up)
    ensure_prerequisites
    mkdir -p "$STACK_DIR"
    resolve_pg_dir
    kafka_up
    redis_up
    pg_up
    write_env
    status
    ;;
  down) resolve_pg_dir; down ;;
  status) resolve_pg_dir; status ;;
  reset)
    resolve_pg_dir
    down
    rm -rf "$STACK_DIR"
    case "$PG_DIR" in /var/tmp/openpenpal-stack-*) rm -rf "$(dirname "$PG_DIR")" ;; esac
    log "removed $STACK_DIR"
    ;;
  *) echo "usage: $0 up|down|status|reset" >&2; exit 2 ;;
esac
