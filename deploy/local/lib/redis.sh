# shellcheck shell=bash
# Redis part of deploy/local/stack.sh: append-only file on, a password for the default user and
# one ACL user per service (redis/acl-users.conf). Sourced, never run.

REDIS_PID_FILE=$REDIS_DIR/redis.pid
REDIS_ACL_FILE=$ROOT/deploy/local/redis/acl-users.conf

# Commands go in on stdin, so no password is ever a command-line argument.
redis_cli() { REDISCLI_AUTH=$(secret_for redis) redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
redis_ready() { [ "$(redis_cli ping 2>/dev/null)" = PONG ]; }

# The users of acl-users.conf, one per line.
redis_acl_users() { awk '!/^[[:space:]]*(#|$)/ { print $1 }' "$REDIS_ACL_FILE" | sort -u; }

# The server started from this data folder: Redis runs in its `dir`, so a pid file naming any other
# process (a number reused after a crash) is stale.
redis_pid() {
  local pid
  pid=$(read_pid "$REDIS_PID_FILE")
  if is_alive "$pid" && [ "$(proc_cwd "$pid")" = "$(real_dir "$REDIS_DIR")" ]; then echo "$pid"; return 0; fi
  pids_in_dir redis-server "$REDIS_DIR" | head -n 1
}

# The port of the server's last start (its redis.conf).
redis_configured_port() { awk '$1 == "port" { print $2; exit }' "$REDIS_DIR/redis.conf" 2>/dev/null; }

# One ACL SETUSER per user: reset, then all its lines' rules, so the rights are exactly the file's
# (also after an edit) and change at once — a running service never meets the user half set.
redis_acl_rules() { awk -v u="$1" '$1 == u { $1 = ""; printf "%s", $0 }' "$REDIS_ACL_FILE"; }

redis_apply_acl() {
  local user commands=''
  for user in $(redis_acl_users); do
    commands+="ACL SETUSER $user reset on >$(secret_for "redis-$user")$(redis_acl_rules "$user")"$'\n'
  done
  local out
  out=$(printf '%s' "$commands" | redis_cli 2>&1) || die "redis ACL users could not be set: $out"
  if printf '%s\n' "$out" | grep -qv '^OK$'; then die "redis refused an ACL rule of $REDIS_ACL_FILE: $out"; fi
  log "redis ACL users set: $(redis_acl_users | tr '\n' ' ')"
}

redis_up() {
  mkdir -p "$REDIS_DIR"
  local pid
  pid=$(redis_pid)
  if [ -n "$pid" ]; then
    log "redis already running (pid $pid)"
    echo "$pid" >"$REDIS_PID_FILE"
    if [ "$(redis_configured_port)" != "$REDIS_PORT" ]; then
      log "redis runs on port $(redis_configured_port), not REDIS_PORT=$REDIS_PORT; keeping it"
      REDIS_PORT=$(redis_configured_port)
    fi
    wait_for redis redis_ready
    redis_apply_acl
    return 0
  fi
  if [ -f "$REDIS_PID_FILE" ]; then
    log "redis: removing stale pid file (process $(read_pid "$REDIS_PID_FILE") is not this stack's server)"
    rm -f "$REDIS_PID_FILE"
  fi
  port_open "$REDIS_PORT" && die "port $REDIS_PORT is taken by another process; set REDIS_PORT"
  log "starting redis on 127.0.0.1:$REDIS_PORT (appendonly, appendfsync $REDIS_APPENDFSYNC)"
  local conf=$REDIS_DIR/redis.conf
  cat >"$conf" <<EOF
bind 127.0.0.1
port $REDIS_PORT
dir $REDIS_DIR
daemonize yes
pidfile $REDIS_PID_FILE
logfile $REDIS_DIR/redis.log
appendonly yes
appendfsync $REDIS_APPENDFSYNC
requirepass $(secret_for redis)
maxmemory-policy noeviction
EOF
  redis-server "$conf" >&2
  wait_for redis redis_ready
  redis_apply_acl
}

redis_down() {
  local pid
  pid=$(redis_pid)
  if [ -n "$pid" ]; then
    log "stopping redis"
    stop_pid redis "$pid"
  fi
  rm -f "$REDIS_PID_FILE"
}

redis_status() {
  local pid stale
  pid=$(redis_pid)
  [ -n "$pid" ] && REDIS_PORT=$(redis_configured_port)
  if [ -n "$pid" ] && redis_ready; then
    echo "redis     running  pid $pid  127.0.0.1:$REDIS_PORT  users: $(redis_cli acl users 2>/dev/null | tr '\n' ' ')"
    return 0
  fi
  if [ -n "$pid" ]; then echo "redis     starting pid $pid  (not answering yet; see $REDIS_DIR/redis.log)"; return 1; fi
  stale=$(read_pid "$REDIS_PID_FILE")
  if [ -n "$stale" ]; then echo "redis     stopped  (stale pid file: $stale is not this stack's server; up cleans it)"
  else echo "redis     stopped"; fi
  port_open "$REDIS_PORT" && echo "          port $REDIS_PORT answers, but not from this stack's server"
  return 1
}

redis_protect() {
  [ -d "$REDIS_DIR" ] && chmod -R go-rwx "$REDIS_DIR"
  return 0
}
