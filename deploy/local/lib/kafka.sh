# shellcheck shell=bash
# Kafka part of deploy/local/stack.sh: one KRaft node (broker and controller) from Maven Central
# jars, PLAINTEXT by default or SASL/SCRAM with ACLs (STACK_KAFKA_AUTH=scram). Sourced, never run.

KAFKA_PID_FILE=$KAFKA_DIR/kafka.pid
# The auth mode the running broker was started with (the pid file's companion).
KAFKA_AUTH_FILE=$KAFKA_DIR/auth
KAFKA_ACL_FILE=$ROOT/deploy/local/kafka/acls.conf
KAFKA_LOG4J=$ROOT/deploy/local/log4j2.properties

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

# shellcheck disable=SC2086 # KAFKA_HEAP_OPTS holds several JVM options
kafka_java() { java $KAFKA_HEAP_OPTS -Dlog4j2.configurationFile="$KAFKA_LOG4J" -cp "$KAFKA_LIBS/*" "$@"; }
# StackKafkaAuth.java runs from source (Java's source launcher): SCRAM users and ACLs, passwords read from files.
kafka_auth_tool() {
  java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dlog4j2.configurationFile="$KAFKA_LOG4J" -cp "$KAFKA_LIBS/*" \
    "$ROOT/deploy/local/kafka/StackKafkaAuth.java" "$@"
}

# The service users of acls.conf (its first column), one per line.
kafka_service_users() { awk '!/^[[:space:]]*(#|$)/ { print $1 }' "$KAFKA_ACL_FILE" | sort -u; }

# The broker started from this data folder: the pid file's process when it still is that broker,
# else any broker running with this folder's server.properties (a lost or overwritten pid file).
kafka_pid() {
  local pid config=$KAFKA_DIR/server.properties
  pid=$(read_pid "$KAFKA_PID_FILE")
  if is_alive "$pid" && proc_has_arg "$pid" "$config"; then echo "$pid"; return 0; fi
  for pid in $(pgrep -f -- 'kafka[.]Kafka' || true); do
    if proc_has_arg "$pid" "$config"; then echo "$pid"; return 0; fi
  done
  return 0
}

# The ports of the broker's last start (its server.properties): the running broker's, which a later
# KAFKA_PORT does not change, and the ones a restart reuses.
kafka_configured_port() {
  sed -n 's/^advertised\.listeners=[A-Z_]*:\/\/[^:]*:\([0-9]*\)$/\1/p' "$KAFKA_DIR/server.properties" 2>/dev/null | head -n 1
}
kafka_configured_controller_port() {
  sed -n 's/^controller\.quorum\.voters=.*:\([0-9]*\)$/\1/p' "$KAFKA_DIR/server.properties" 2>/dev/null | head -n 1
}

kafka_running_auth() { if [ -s "$KAFKA_AUTH_FILE" ]; then cat "$KAFKA_AUTH_FILE"; else echo none; fi; }

kafka_config() {
  local listener=PLAINTEXT
  [ "$KAFKA_AUTH" = scram ] && listener=SASL_PLAINTEXT
  # Mode 600 (umask 077): with SCRAM it holds the broker's own passwords.
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Written by deploy/local/stack.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=$listener://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=$listener://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=$listener
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
  if [ "$KAFKA_AUTH" = scram ]; then
    local admin controller
    admin=$(secret_for kafka-admin)
    controller=$(secret_for kafka-controller)
    cat >>"$KAFKA_DIR/server.properties" <<EOF
# STACK_KAFKA_AUTH=scram: clients log in with SCRAM-SHA-512 (users made at format time and by
# StackKafkaAuth.java); the controller listener takes PLAIN with one static user, because SCRAM
# credentials live in the metadata log the controller serves. What acls.conf does not grant is refused.
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_plaintext.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="$controller" user_controller="$controller";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:controller
EOF
  else
    echo "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT" >>"$KAFKA_DIR/server.properties"
  fi
}

kafka_format() {
  local cluster_id
  cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
  log "formatting kafka storage (cluster $cluster_id, auth $KAFKA_AUTH)"
  if [ "$KAFKA_AUTH" = scram ]; then
    local user
    # shellcheck disable=SC2046 # one user name per word
    for user in admin $(kafka_service_users); do secret_for "kafka-$user" >/dev/null; done
    # shellcheck disable=SC2046
    kafka_auth_tool format "$cluster_id" "$KAFKA_DIR/server.properties" "$STACK_DIR/secrets" \
      admin $(kafka_service_users) >"$KAFKA_DIR/format.log" 2>&1
  else
    kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/format.log" 2>&1
  fi || die "kafka storage format failed; see $KAFKA_DIR/format.log"
}

# SCRAM users and ACLs, as the admin super user: after every start, so a change of acls.conf (a new
# user, a new grant) takes effect. Creating what exists changes nothing; nothing is removed.
kafka_apply_auth() {
  local user
  # shellcheck disable=SC2046
  for user in admin $(kafka_service_users); do secret_for "kafka-$user" >/dev/null; done
  log "applying kafka SCRAM users and ACLs ($KAFKA_ACL_FILE)"
  # shellcheck disable=SC2046
  kafka_auth_tool apply "127.0.0.1:$KAFKA_PORT" "$STACK_DIR/secrets" "$KAFKA_ACL_FILE" \
    admin $(kafka_service_users) >"$KAFKA_DIR/auth.log" 2>&1 \
    || die "kafka SCRAM users and ACLs could not be applied (see $KAFKA_DIR/auth.log)$(grep -h '^\[kafka-auth\]' "$KAFKA_DIR/auth.log" | sed 's/^/: /')"
}

kafka_ready_now() { port_open "$KAFKA_PORT" && grep -q 'Kafka Server started' "$KAFKA_DIR/kafka.log" 2>/dev/null; }

kafka_ready() {
  [ -n "$(kafka_pid)" ] || die "Kafka exited during start; see $KAFKA_DIR/kafka.log"
  kafka_ready_now
}

kafka_up() {
  mkdir -p "$KAFKA_DIR"
  local pid
  pid=$(kafka_pid)
  if [ -n "$pid" ]; then
    local running
    running=$(kafka_running_auth)
    [ "$running" = "$KAFKA_AUTH" ] \
      || die "kafka runs with STACK_KAFKA_AUTH=$running, asked for $KAFKA_AUTH: stop it first (stack.sh down kafka)"
    echo "$pid" >"$KAFKA_PID_FILE"
    if [ "$(kafka_configured_port)" != "$KAFKA_PORT" ]; then
      log "kafka runs on port $(kafka_configured_port), not KAFKA_PORT=$KAFKA_PORT; keeping it"
      KAFKA_PORT=$(kafka_configured_port)
    fi
    if kafka_ready_now; then
      log "kafka already running (pid $pid)"
    else
      log "kafka (pid $pid) is starting; waiting until it is ready"
      wait_for kafka kafka_ready
    fi
    [ "$KAFKA_AUTH" = scram ] && kafka_apply_auth
    return 0
  fi
  # A broker killed without a chance to clean up leaves its pid file: a fresh start must not read it.
  if [ -f "$KAFKA_PID_FILE" ]; then
    log "kafka: removing stale pid file (process $(read_pid "$KAFKA_PID_FILE") is not this stack's broker)"
    rm -f "$KAFKA_PID_FILE"
  fi
  port_open "$KAFKA_PORT" && die "port $KAFKA_PORT is taken by another process; set KAFKA_PORT"
  port_open "$KAFKA_CONTROLLER_PORT" && die "port $KAFKA_CONTROLLER_PORT is taken by another process; set KAFKA_CONTROLLER_PORT"
  kafka_fetch
  kafka_config
  [ -f "$KAFKA_DIR/data/meta.properties" ] || kafka_format
  log "starting kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT (auth $KAFKA_AUTH)"
  rm -f "$KAFKA_AUTH_FILE"
  : >"$KAFKA_DIR/kafka.log"
  # shellcheck disable=SC2016,SC2086 # $$ and $1 belong to the inner shell; heap options split on purpose
  setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$KAFKA_PID_FILE" \
    java $KAFKA_HEAP_OPTS -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_DIR/server.properties" >>"$KAFKA_DIR/kafka.log" 2>&1 </dev/null &
  local tries=0
  until [ -s "$KAFKA_PID_FILE" ] || [ $tries -gt 50 ]; do sleep 0.1; tries=$((tries + 1)); done
  echo "$KAFKA_AUTH" >"$KAFKA_AUTH_FILE"
  wait_for kafka kafka_ready
  [ "$KAFKA_AUTH" = scram ] && kafka_apply_auth
  return 0
}

kafka_down() {
  local pid
  pid=$(kafka_pid)
  if [ -n "$pid" ]; then
    log "stopping kafka"
    stop_pid kafka "$pid" 60
  fi
  rm -f "$KAFKA_PID_FILE" "$KAFKA_AUTH_FILE"
}

kafka_status() {
  local pid stale
  pid=$(kafka_pid)
  [ -n "$pid" ] && KAFKA_PORT=$(kafka_configured_port)
  if [ -n "$pid" ] && kafka_ready_now; then
    echo "kafka     running  pid $pid  127.0.0.1:$KAFKA_PORT  auth $(kafka_running_auth)"
    return 0
  fi
  if [ -n "$pid" ]; then
    echo "kafka     starting pid $pid  (not ready yet; see $KAFKA_DIR/kafka.log)"
    return 1
  fi
  stale=$(read_pid "$KAFKA_PID_FILE")
  if [ -n "$stale" ]; then echo "kafka     stopped  (stale pid file: $stale is not this stack's broker; up cleans it)"
  else echo "kafka     stopped"; fi
  port_open "$KAFKA_PORT" && echo "          port $KAFKA_PORT answers, but not from this stack's broker"
  return 1
}

# Owner-only data: folders and files made before the umask was set, or by an older stack.sh.
kafka_protect() {
  [ -d "$KAFKA_DIR" ] && chmod -R go-rwx "$KAFKA_DIR"
  return 0
}
