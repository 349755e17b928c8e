# shellcheck shell=bash
# PostgreSQL part of deploy/local/stack.sh: a cluster made with the machine's binaries, the
# database, and one login role per service with only the grants it needs (pg-roles.sql.sh).
# Sourced, never run.

# As root the cluster belongs to the postgres user, which must be able to reach its folder. A
# project under a private home (/root/...) is out of its reach: the cluster then lives in a folder
# of its own under /var/tmp, named after the stack folder so up, down and status agree on it.
# Only `resolve_pg_dir create` (up) makes folders; otherwise it finds the cluster that exists.
resolve_pg_dir() {
  [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 || return 0
  local fallback
  fallback=/var/tmp/openpenpal-stack-$(printf '%s' "$STACK_DIR" | cksum | cut -d' ' -f1)/postgres
  if [ "${1:-}" != create ]; then
    if [ ! -d "$PG_DIR/data" ] && [ -d "$fallback/data" ]; then PG_DIR=$fallback; fi
    return 0
  fi
  mkdir -p "$PG_DIR"
  chown postgres: "$PG_DIR"
  if ! runuser -u postgres -- test -w "$PG_DIR"; then
    PG_DIR=$fallback
    mkdir -p "$PG_DIR"
    # Only traversal: the postgres user must pass through to its own folder.
    chmod 711 "$(dirname "$PG_DIR")"
    chown postgres: "$PG_DIR"
  fi
}

# initdb refuses to run as root, so as root the cluster belongs to the postgres system user.
as_pg_owner() {
  # From / so the postgres user is not left in a working folder it may not enter.
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

pg_ready() { as_pg_owner "$(pg_bin_dir)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }

# Superuser SQL from stdin: no password or statement on a command line.
pg_psql() {
  PGOPTIONS="-c client_min_messages=warning" PGPASSWORD=$(secret_for postgres) psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"
}

# The postmaster of this data folder: the number in postmaster.pid, when that process runs in the
# folder (after a crash the number may belong to anything else).
pg_postmaster_pid() {
  local pid
  pid=$(read_pid "$PG_DIR/data/postmaster.pid")
  if is_alive "$pid" && [ "$(proc_cwd "$pid")" = "$(real_dir "$PG_DIR/data")" ]; then echo "$pid"; fi
  return 0
}

# The port of the cluster's last start (postmaster.opts keeps its command line).
pg_configured_port() { sed -n 's/.*"-p" "\([0-9]*\)".*/\1/p' "$PG_DIR/data/postmaster.opts" 2>/dev/null; }

# A postmaster killed with SIGKILL leaves postmaster.pid and the socket lock, and its backends
# run on until they notice: a new postmaster refuses shared memory still attached. Wait for them
# (they exit by themselves within moments), end what stays, and remove the stale locks.
pg_clean_stale() {
  local data=$PG_DIR/data
  [ -f "$data/postmaster.pid" ] || return 0
  log "postgres: stale postmaster.pid (process $(read_pid "$data/postmaster.pid") is not this cluster's postmaster)"
  local deadline=$((SECONDS + 10)) left
  left=$(pids_in_dir postgres "$data")
  while [ -n "$left" ] && [ $SECONDS -lt $deadline ]; do sleep 0.3; left=$(pids_in_dir postgres "$data"); done
  for pid in $left; do log "ending leftover postgres process $pid of $data"; stop_pid postgres "$pid" 5; done
  rm -f "$data/postmaster.pid" "$PG_DIR/run/.s.PGSQL.$PG_PORT" "$PG_DIR/run/.s.PGSQL.$PG_PORT.lock"
}

pg_up() {
  if [ -n "${EXTERNAL_DATABASE_URL:-}" ]; then log "postgres: using DATABASE_URL from the environment"; return 0; fi
  local bin data=$PG_DIR/data
  bin=$(pg_bin_dir)
  mkdir -p "$PG_DIR/run"
  chmod 700 "$PG_DIR"
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$PG_DIR" "$PG_DIR/run"
    runuser -u postgres -- test -w "$PG_DIR" \
      || die "the postgres user cannot reach $PG_DIR; set STACK_DIR to a folder it can traverse, or set DATABASE_URL"
  fi
  if [ -n "$(pg_postmaster_pid)" ]; then
    log "postgres already running (pid $(pg_postmaster_pid))"
    if [ "$(pg_configured_port)" != "$PG_PORT" ]; then
      log "postgres runs on port $(pg_configured_port), not PG_PORT=$PG_PORT; keeping it"
      PG_PORT=$(pg_configured_port)
    fi
    wait_for postgres pg_ready
  else
    pg_clean_stale
    port_open "$PG_PORT" && die "port $PG_PORT is taken by another process; set PG_PORT"
    if [ ! -f "$data/PG_VERSION" ]; then
      log "creating postgres cluster in $data"
      local pwfile=$PG_DIR/pwfile
      secret_for postgres >"$pwfile"
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
  fi
  if [ "$(pg_psql -d postgres -tA <<<"SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" != 1 ]; then
    pg_psql -d postgres <<<"CREATE DATABASE \"$PG_DATABASE\""
  fi
  pg_apply_roles
}

# The per-service roles, their schemas and grants (lib/pg-roles.sql.sh); safe to repeat.
pg_apply_roles() {
  local role
  for role in $PG_SERVICE_ROLES; do secret_for "pg-$role" >/dev/null; done
  pg_roles_sql | pg_psql -d "$PG_DATABASE" >/dev/null || die "the service roles could not be set up (see the SQL in lib/pg-roles.sql.sh)"
  log "postgres service roles set: $PG_SERVICE_ROLES"
}

pg_down() {
  [ -n "${EXTERNAL_DATABASE_URL:-}" ] && return 0
  local pid
  pid=$(pg_postmaster_pid)
  [ -n "$pid" ] || return 0
  log "stopping postgres"
  as_pg_owner "$(pg_bin_dir)/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >&2 || stop_pid postgres "$pid"
}

pg_status() {
  if [ -n "${EXTERNAL_DATABASE_URL:-}" ]; then echo "postgres  external (DATABASE_URL)"; return 0; fi
  local pid stale
  pid=$(pg_postmaster_pid)
  [ -n "$pid" ] && PG_PORT=$(pg_configured_port)
  if [ -n "$pid" ] && pg_ready; then echo "postgres  running  pid $pid  127.0.0.1:$PG_PORT"; return 0; fi
  if [ -n "$pid" ]; then echo "postgres  starting pid $pid  (not accepting connections yet; see $PG_DIR/postgres.log)"; return 1; fi
  stale=$(read_pid "$PG_DIR/data/postmaster.pid")
  if [ -n "$stale" ]; then echo "postgres  stopped  (stale postmaster.pid: $stale is not this cluster's postmaster; up cleans it)"
  else echo "postgres  stopped"; fi
  port_open "$PG_PORT" && echo "          port $PG_PORT answers, but not from this stack's cluster"
  return 1
}

# initdb makes the data folder 0700; the folder around it holds the log and the socket lock.
pg_protect() {
  [ -z "${EXTERNAL_DATABASE_URL:-}" ] && [ -d "$PG_DIR" ] || return 0
  chmod 700 "$PG_DIR"
  [ -d "$PG_DIR/run" ] && chmod 700 "$PG_DIR/run"
  find "$PG_DIR" -maxdepth 1 -type f -exec chmod go-rwx {} +
}
