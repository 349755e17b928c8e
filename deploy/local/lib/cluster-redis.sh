# shellcheck shell=bash
# Redis part of the cluster profile (cluster.sh): six `redis-server --cluster-enabled yes` nodes,
# joined once with `redis-cli --cluster create --cluster-replicas 1` (three primaries, one replica
# each), append-only files on, the default user's password on every node (replicas use it to
# follow their primary) and the ACL users of redis/acl-users.conf on every node (ACLs are per node,
# not replicated). Uses redis_acl_users from redis.sh. Sourced, never run.

REDIS_NODES="1 2 3 4 5 6"
redis_node_dir() { echo "$STACK_DIR/redis-$1"; }
redis_node_port() { echo $((REDIS_PORT + $1 - 1)); }
# Commands go in on stdin or through REDISCLI_AUTH: no password on a command line.
redis_node_cli() { local n=$1; shift; REDISCLI_AUTH=$(secret_for redis) redis-cli -h 127.0.0.1 -p "$(redis_node_port "$n")" "$@"; }

redis_node_pid() {
  local dir pid
  dir=$(redis_node_dir "$1")
  pid=$(read_pid "$dir/redis.pid")
  if is_alive "$pid" && [ "$(proc_cwd "$pid")" = "$(real_dir "$dir")" ]; then echo "$pid"; return 0; fi
  pids_in_dir redis-server "$dir" | head -n 1
}

redis_node_ready() { [ "$(redis_node_cli "$1" ping 2>/dev/null)" = PONG ]; }
# The cluster's view from the first node that answers (any node may be the one a test killed).
redis_cluster_ok() {
  local n
  for n in $REDIS_NODES; do
    redis_node_ready "$n" || continue
    redis_node_cli "$n" cluster info 2>/dev/null | grep -q '^cluster_state:ok'
    return
  done
  return 1
}

redis_node_start() {
  local n=$1 dir conf
  dir=$(redis_node_dir "$n")
  conf=$dir/redis.conf
  rm -f "$dir/redis.pid"
  port_open "$(redis_node_port "$n")" && die "port $(redis_node_port "$n") is taken by another process; set REDIS_PORT"
  cat >"$conf" <<EOF
bind 127.0.0.1
port $(redis_node_port "$n")
dir $dir
daemonize yes
pidfile $dir/redis.pid
logfile $dir/redis.log
appendonly yes
appendfsync $REDIS_APPENDFSYNC
requirepass $(secret_for redis)
masterauth $(secret_for redis)
maxmemory-policy noeviction
cluster-enabled yes
cluster-config-file $dir/nodes.conf
# A primary silent for 3 s is failed over to its replica.
cluster-node-timeout 3000
# The cluster keeps serving the slots it has when a primary and its replica are both away.
cluster-require-full-coverage no
EOF
  log "starting redis node $n on 127.0.0.1:$(redis_node_port "$n")"
  redis-server "$conf" >&2
}

# ACL SETUSER on one node, one per user (atomic, see redis_apply_acl): reset, its lines of acl-users.conf, plus what a
# cluster client needs on top (ioredis reads the slot map with CLUSTER SLOTS and waits for CLUSTER INFO to say ok).
redis_node_apply_acl() {
  local n=$1 user commands='' out
  for user in $(redis_acl_users); do
    commands+="ACL SETUSER $user reset on >$(secret_for "redis-$user")$(redis_acl_rules "$user")"
    commands+=" +cluster|slots +cluster|shards +cluster|info +readonly"$'\n'
  done
  out=$(printf '%s' "$commands" | redis_node_cli "$n" 2>&1) || die "redis node $n: ACL users could not be set: $out"
  if printf '%s\n' "$out" | grep -qv '^OK$'; then die "redis node $n refused an ACL rule: $out"; fi
}

redis_cluster_up() {
  local n hosts=''
  for n in $REDIS_NODES; do
    mkdir -p "$(redis_node_dir "$n")"
    if [ -n "$(redis_node_pid "$n")" ]; then log "redis node $n already running (pid $(redis_node_pid "$n"))"; continue; fi
    redis_node_start "$n"
  done
  for n in $REDIS_NODES; do wait_for "redis node $n" redis_node_ready "$n"; done
  # The cluster is created once; afterwards each node rejoins it from its nodes.conf.
  if [ ! -f "$STACK_DIR/redis-cluster-created" ]; then
    for n in $REDIS_NODES; do hosts+=" 127.0.0.1:$(redis_node_port "$n")"; done
    log "creating the redis cluster (three primaries, one replica each)"
    # shellcheck disable=SC2086 # one node per word
    REDISCLI_AUTH=$(secret_for redis) redis-cli --cluster create $hosts --cluster-replicas 1 --cluster-yes \
      >"$STACK_DIR/redis-cluster-create.log" 2>&1 || die "redis-cli --cluster create failed; see $STACK_DIR/redis-cluster-create.log"
    touch "$STACK_DIR/redis-cluster-created"
  fi
  wait_for "redis cluster" redis_cluster_ok
  for n in $REDIS_NODES; do redis_node_apply_acl "$n"; done
  log "redis ACL users set on every node: $(redis_acl_users | tr '\n' ' ')"
}

redis_cluster_down() {
  local n pid
  for n in $REDIS_NODES; do
    pid=$(redis_node_pid "$n")
    [ -n "$pid" ] || continue
    log "stopping redis node $n"
    stop_pid "redis node $n" "$pid"
    rm -f "$(redis_node_dir "$n")/redis.pid"
  done
  return 0
}

redis_cluster_status() {
  local n pid ok=0 role
  for n in $REDIS_NODES; do
    pid=$(redis_node_pid "$n")
    if [ -n "$pid" ] && redis_node_ready "$n"; then
      role=$(redis_node_cli "$n" role 2>/dev/null | head -n 1)
      echo "redis-$n   running  pid $pid  127.0.0.1:$(redis_node_port "$n")  $role"
    elif [ -n "$pid" ]; then
      echo "redis-$n   starting pid $pid"; ok=1
    else
      echo "redis-$n   stopped"; ok=1
    fi
  done
  if redis_cluster_ok; then echo "redis     cluster_state:ok"; else echo "redis     cluster not ok"; ok=1; fi
  return $ok
}

# host:port of every node, comma-separated: the seeds of REDIS_URL.
redis_cluster_hosts() {
  local n list=''
  for n in $REDIS_NODES; do list+="${list:+,}127.0.0.1:$(redis_node_port "$n")"; done
  echo "$list"
}
