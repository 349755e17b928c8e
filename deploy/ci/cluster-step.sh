#!/usr/bin/env bash
# CI's short run on the cluster profile (three Kafka brokers, a Redis Cluster of three primaries
# with a replica each, PostgreSQL with a standby): the integration tests written for it
# (*cluster-profile.int.test.ts, skipped elsewhere) and the quick scale-out fault run
# (`pnpm fault:cluster --quick`: two ticker and two delay-queue instances under load while a broker,
# a Redis primary and one instance of each are SIGKILLed; packages/cluster-proof). The full run,
# every service twice, is `pnpm fault:cluster`. The profile is stopped at the end, also on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
export STACK_PROFILE=cluster
# The caller's port settings are the default profile's (CI may move that stack): the cluster
# profile keeps its own ports (deploy/local/README.md, "Cluster profile").
unset KAFKA_PORT KAFKA_CONTROLLER_PORT REDIS_PORT PG_PORT PG_STANDBY_PORT STACK_DIR STACK_ENV_FILE
started=$SECONDS
trap 'bash deploy/local/stack.sh down >/dev/null 2>&1 || true; echo "[ci:cluster] finished in $((SECONDS - started))s"' EXIT
bash deploy/local/stack.sh up
echo "[ci:cluster] cluster profile ready in $((SECONDS - started))s"
pnpm exec vitest run --project integration cluster-profile
pnpm fault:cluster --quick
