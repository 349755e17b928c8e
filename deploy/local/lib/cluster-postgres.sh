# shellcheck shell=bash
# PostgreSQL standby of the cluster profile (cluster.sh): the primary is postgres.sh's cluster on
# PG_PORT; the standby is a copy made with `pg_basebackup -R` (streaming replication through a
# replication slot, so the primary keeps the WAL the standby has not received) on PG_STANDBY_PORT,
# read-only. Sourced after postgres.sh, never run.

PG_STANDBY_SLOT=standby1

pg_standby_data() { echo "$PG_DIR/standby"; }

pg_standby_pid() {
  local data pid
  data=$(pg_standby_data)
  pid=$(read_pid "$data/postmaster.pid")
  if is_alive "$pid" && [ "$(proc_cwd "$pid")" = "$(real_dir "$data")" ]; then echo "$pid"; fi
  return 0
}

pg_standby_ready() { as_pg_owner "$(pg_bin_dir)/pg_isready" -q -h 127.0.0.1 -p "$PG_STANDBY_PORT"; }

# Streaming: the standby's WAL receiver is connected to the primary.
pg_standby_streaming() {
  [ "$(PGPASSWORD=$(secret_for postgres) psql -X -h 127.0.0.1 -p "$PG_STANDBY_PORT" -U postgres -d postgres -tAc \
    "SELECT status FROM pg_stat_wal_receiver" 2>/dev/null)" = streaming ]
}

pg_standby_up() {
  local bin data
  bin=$(pg_bin_dir)
  data=$(pg_standby_data)
  if [ -n "$(pg_standby_pid)" ]; then
    log "postgres standby already running (pid $(pg_standby_pid))"
  else
    port_open "$PG_STANDBY_PORT" && die "port $PG_STANDBY_PORT is taken by another process; set PG_STANDBY_PORT"
    if [ ! -f "$data/PG_VERSION" ]; then
      log "copying the primary into $data (pg_basebackup -R, slot $PG_STANDBY_SLOT)"
      rm -rf "$data"
      # A slot left by a standby whose folder was deleted would make -C fail.
      pg_psql -d postgres >/dev/null <<<"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$PG_STANDBY_SLOT'"
      # The password goes in through the environment; -R writes primary_conninfo (with it) into
      # the standby's postgresql.auto.conf, 600 like the rest of the data folder.
      PGPASSWORD=$(secret_for postgres) as_pg_owner "$bin/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" -U postgres \
        -D "$data" -R -X stream -C -S "$PG_STANDBY_SLOT" -c fast >"$PG_DIR/basebackup.log" 2>&1 \
        || die "pg_basebackup failed; see $PG_DIR/basebackup.log"
    fi
    rm -f "$data/postmaster.pid"
    log "starting postgres standby on 127.0.0.1:$PG_STANDBY_PORT"
    as_pg_owner "$bin/pg_ctl" -D "$data" -l "$PG_DIR/standby.log" -w -t "$READY_TIMEOUT" \
      -o "-p $PG_STANDBY_PORT -k $PG_DIR/run -c listen_addresses=127.0.0.1 -c max_connections=300 -c hot_standby=on" start >&2 \
      || die "postgres standby did not start; see $PG_DIR/standby.log"
  fi
  wait_for "postgres standby" pg_standby_ready
  wait_for "postgres standby streaming" pg_standby_streaming
}

pg_standby_down() {
  local pid
  pid=$(pg_standby_pid)
  [ -n "$pid" ] || return 0
  log "stopping postgres standby"
  as_pg_owner "$(pg_bin_dir)/pg_ctl" -D "$(pg_standby_data)" -m fast -w stop >&2 || stop_pid "postgres standby" "$pid"
}

pg_standby_status() {
  local pid
  pid=$(pg_standby_pid)
  if [ -n "$pid" ] && pg_standby_ready; then
    if pg_standby_streaming; then echo "standby   running  pid $pid  127.0.0.1:$PG_STANDBY_PORT  streaming from $PG_PORT"
    else echo "standby   running  pid $pid  127.0.0.1:$PG_STANDBY_PORT  NOT streaming (see $PG_DIR/standby.log)"; return 1; fi
    return 0
  fi
  if [ -n "$pid" ]; then echo "standby   starting pid $pid"; return 1; fi
  echo "standby   stopped"
  return 1
}
