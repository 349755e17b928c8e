# shellcheck shell=bash
# Kafka part of the cluster profile (cluster.sh): three KRaft nodes, each broker and controller, from
# the same Maven Central jars as the default profile (kafka.sh's kafka_fetch). Topics get three
# replicas and need two in sync for an acks=all write; no unclean leader election. Sourced, never run.

# Node n (1..3): its folder, broker port and controller port.
kafka_node_dir() { echo "$STACK_DIR/kafka-$1"; }
kafka_node_port() { echo $((KAFKA_PORT + $1 - 1)); }
kafka_node_controller_port() { echo $((KAFKA_CONTROLLER_PORT + $1 - 1)); }
KAFKA_NODES="1 2 3"

# The broker of node n: the pid file's process when it still runs with this node's
# server.properties, else any broker that does.
kafka_node_pid() {
  local pid dir config
  dir=$(kafka_node_dir "$1")
  config=$dir/server.properties
  pid=$(read_pid "$dir/kafka.pid")
  if is_alive "$pid" && proc_has_arg "$pid" "$config"; then echo "$pid"; return 0; fi
  for pid in $(pgrep -f -- 'kafka[.]Kafka' || true); do
    if proc_has_arg "$pid" "$config"; then echo "$pid"; return 0; fi
  done
  return 0
}

kafka_node_ready() {
  local dir
  dir=$(kafka_node_dir "$1")
  port_open "$(kafka_node_port "$1")" && grep -q 'Kafka Server started' "$dir/kafka.log" 2>/dev/null
}

kafka_node_config() {
  local n=$1 dir voters='' i
  dir=$(kafka_node_dir "$n")
  for i in $KAFKA_NODES; do voters+="${voters:+,}$i@127.0.0.1:$(kafka_node_controller_port "$i")"; done
  cat >"$dir/server.properties" <<EOF
# Written by deploy/local/cluster.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$(kafka_node_port "$n"),CONTROLLER://127.0.0.1:$(kafka_node_controller_port "$n")
advertised.listeners=PLAINTEXT://127.0.0.1:$(kafka_node_port "$n")
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=$KAFKA_PARTITIONS
# Every topic, the internal ones included, has three replicas; an acks=all write needs two of them.
default.replication.factor=3
min.insync.replicas=2
unclean.leader.election.enable=false
offsets.topic.replication.factor=3
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
delete.topic.enable=true
log.retention.hours=168
log.segment.bytes=67108864
# Two cores for three brokers (and everything else): few threads each.
num.network.threads=2
num.io.threads=2
num.replica.fetchers=1
background.threads=2
# down stops all three at once: a controlled shutdown would wait for a controller quorum that is
# stopping too (and be killed after the grace period), so a broker just closes its logs and exits.
controlled.shutdown.enable=false
# A killed broker's partitions move to the others within seconds.
broker.session.timeout.ms=6000
broker.heartbeat.interval.ms=1000
EOF
}

kafka_cluster_format() {
  local n dir cluster_id
  cluster_id=$(cat "$STACK_DIR/kafka-cluster-id" 2>/dev/null || true)
  if [ -z "$cluster_id" ]; then
    cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    echo "$cluster_id" >"$STACK_DIR/kafka-cluster-id"
  fi
  for n in $KAFKA_NODES; do
    dir=$(kafka_node_dir "$n")
    [ -f "$dir/data/meta.properties" ] && continue
    log "formatting kafka node $n (cluster $cluster_id)"
    kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
      || die "kafka storage format of node $n failed; see $dir/format.log"
  done
}

kafka_node_start() {
  local n=$1 dir
  dir=$(kafka_node_dir "$n")
  rm -f "$dir/kafka.pid"
  port_open "$(kafka_node_port "$n")" && die "port $(kafka_node_port "$n") is taken by another process; set KAFKA_PORT"
  port_open "$(kafka_node_controller_port "$n")" && die "port $(kafka_node_controller_port "$n") is taken; set KAFKA_CONTROLLER_PORT"
  log "starting kafka node $n on 127.0.0.1:$(kafka_node_port "$n") (controller $(kafka_node_controller_port "$n"))"
  : >"$dir/kafka.log"
  # shellcheck disable=SC2016,SC2086 # $$ and $1 belong to the inner shell; heap options split on purpose
  setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$dir/kafka.pid" \
    java $KAFKA_HEAP_OPTS -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties" >>"$dir/kafka.log" 2>&1 </dev/null &
}

kafka_cluster_ready() {
  local n
  for n in $KAFKA_NODES; do
    [ -n "$(kafka_node_pid "$n")" ] || die "kafka node $n exited during start; see $(kafka_node_dir "$n")/kafka.log"
    kafka_node_ready "$n" || return 1
  done
}

# Starts the nodes that do not run (all at once: a controller quorum needs two of three to elect),
# without waiting for them (kafka_cluster_ready).
kafka_cluster_up_start() {
  local n
  kafka_fetch
  for n in $KAFKA_NODES; do
    mkdir -p "$(kafka_node_dir "$n")"
    if [ -n "$(kafka_node_pid "$n")" ]; then log "kafka node $n already running (pid $(kafka_node_pid "$n"))"; continue; fi
    kafka_node_config "$n"
  done
  kafka_cluster_format
  for n in $KAFKA_NODES; do
    [ -n "$(kafka_node_pid "$n")" ] && continue
    kafka_node_start "$n"
  done
  # Each start writes its pid file at once; a node without one did not get going.
  sleep 0.5
}

kafka_cluster_down() {
  local n pid
  for n in $KAFKA_NODES; do
    pid=$(kafka_node_pid "$n")
    [ -n "$pid" ] || continue
    log "stopping kafka node $n"
    # TERM to all first, so no broker waits for a controlled shutdown the others no longer serve.
    kill -TERM "$pid" 2>/dev/null || true
  done
  for n in $KAFKA_NODES; do
    pid=$(kafka_node_pid "$n")
    [ -n "$pid" ] && stop_pid "kafka node $n" "$pid" 60
    rm -f "$(kafka_node_dir "$n")/kafka.pid"
  done
  return 0
}

kafka_cluster_status() {
  local n pid ok=0
  for n in $KAFKA_NODES; do
    pid=$(kafka_node_pid "$n")
    if [ -n "$pid" ] && kafka_node_ready "$n"; then
      echo "kafka-$n   running  pid $pid  127.0.0.1:$(kafka_node_port "$n")"
    elif [ -n "$pid" ]; then
      echo "kafka-$n   starting pid $pid  (see $(kafka_node_dir "$n")/kafka.log)"; ok=1
    else
      echo "kafka-$n   stopped"; ok=1
    fi
  done
  return $ok
}

kafka_cluster_brokers() {
  local n list=''
  for n in $KAFKA_NODES; do list+="${list:+,}127.0.0.1:$(kafka_node_port "$n")"; done
  echo "$list"
}
