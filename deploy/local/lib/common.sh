# shellcheck shell=bash
# Helpers shared by the parts of deploy/local/stack.sh: logging, process checks, waiting,
# prerequisites and generated secrets. Sourced, never run.

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

# A server port inside the kernel's ephemeral range can be taken as the local end of an outgoing
# connection to itself while the server is down (TCP self-connect): a Kafka broker reconnecting to
# a stopped peer on such a port connected to itself, read its own request as the answer and exited
# (the cluster fault run lost a second broker that way). Warn, naming the ports.
warn_ephemeral_ports() {
  local range low high port bad=''
  range=$(cat /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) || return 0
  read -r low high <<<"$range"
  for port in "$@"; do
    if [ -n "$port" ] && [ "$port" -ge "$low" ] && [ "$port" -le "$high" ]; then bad+=" $port"; fi
  done
  if [ -n "$bad" ]; then
    log "warning: port(s)$bad inside the ephemeral range $low-$high: a client or broker reconnecting while the server is down can connect to itself; prefer ports below $low"
  fi
}

is_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
read_pid() { [ -f "$1" ] || return 0; head -n 1 "$1" 2>/dev/null | tr -dc '0-9'; return 0; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The folder a process runs in (Redis and PostgreSQL enter their data folder), resolved.
proc_cwd() { readlink "/proc/$1/cwd" 2>/dev/null || true; }
real_dir() { (cd "$1" 2>/dev/null && pwd -P) || printf '%s' "$1"; }

# True when process $1 has the exact argument $2: a pid file names a process of this stack only
# when that process still is one (after a crash its number may belong to anything else).
proc_has_arg() {
  local arg
  [ -r "/proc/$1/cmdline" ] || return 1
  while IFS= read -r -d '' arg; do [ "$arg" = "$2" ] && return 0; done <"/proc/$1/cmdline"
  return 1
}

# The pids of processes named $1 (comm) running in folder $2.
pids_in_dir() {
  local pid dir
  dir=$(real_dir "$2")
  for pid in $(pgrep -x "$1" || true); do
    [ "$(proc_cwd "$pid")" = "$dir" ] && echo "$pid"
  done
  return 0
}

# Waits until "$@" succeeds, or fails after READY_TIMEOUT seconds.
wait_for() {
  local what=$1; shift
  local deadline=$((SECONDS + READY_TIMEOUT))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || die "$what did not become ready within ${READY_TIMEOUT}s"
    sleep 0.3
  done
}

# Sends TERM, waits up to $3 seconds (default 30), then KILL.
stop_pid() {
  local name=$1 pid=$2 grace=${3:-30}
  is_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + grace))
  while is_alive "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  if is_alive "$pid"; then log "$name did not stop within ${grace}s; killing it"; kill -KILL "$pid" 2>/dev/null || true; fi
  while is_alive "$pid"; do sleep 0.1; done
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
  initdb=$(find /usr/lib/postgresql -maxdepth 3 -path '*/bin/initdb' 2>/dev/null | sort -V | tail -n 1)
  [ -n "$initdb" ] && dirname "$initdb"
  return 0
}

ensure_prerequisites() {
  local missing=()
  if want kafka; then
    command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
    command -v mvn >/dev/null || missing+=(maven)
  fi
  if want redis; then command -v redis-server >/dev/null || missing+=(redis-server); fi
  if want postgres && [ -z "${EXTERNAL_DATABASE_URL:-}" ] && [ -z "$(pg_bin_dir)" ]; then missing+=(postgresql); fi
  if [ ${#missing[@]} -gt 0 ]; then install_packages "${missing[@]}"; fi
  # With SCRAM, kafka/StackKafkaAuth.java runs from source: the JVM needs its compiler module.
  if want kafka && [ "$KAFKA_AUTH" = scram ] && ! java --list-modules 2>/dev/null | grep -q '^jdk\.compiler@'; then
    install_packages openjdk-17-jdk-headless
  fi
  if want kafka; then
    local major
    major=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
    [ "${major%%.*}" -ge 17 ] 2>/dev/null || die "Kafka $KAFKA_VERSION needs Java 17 or newer (found ${major:-none})"
  fi
}

# ---------------------------------------------------------------- secrets
# 144 random bits as hex: safe in URLs, JAAS lines and SQL literals without quoting.
random_secret() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# Secrets are made once per data folder, readable by their owner only, never in the repository.
secret_for() {
  local file=$STACK_DIR/secrets/$1
  if [ ! -s "$file" ]; then
    mkdir -p "$STACK_DIR/secrets"; chmod 700 "$STACK_DIR/secrets"
    (umask 077; random_secret >"$file")
  fi
  cat "$file"
}
