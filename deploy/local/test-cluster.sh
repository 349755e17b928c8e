#!/usr/bin/env bash
# pnpm test:cluster — starts the local stack's cluster profile, runs the tests written for it
# (*cluster-profile.int.test.ts, skipped elsewhere), and stops the profile again, also when a test
# fails or the run is interrupted. A profile that was already running is left running.
# Extra arguments go to vitest.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export STACK_PROFILE=cluster

was_running=0
bash deploy/local/stack.sh status >/dev/null 2>&1 && was_running=1
stop() {
  if [ $was_running = 0 ]; then bash deploy/local/stack.sh down; fi
}
trap stop EXIT
started=$SECONDS
bash deploy/local/stack.sh up
echo "[test:cluster] cluster profile ready in $((SECONDS - started))s"
pnpm exec vitest run --project integration cluster-profile "$@"
