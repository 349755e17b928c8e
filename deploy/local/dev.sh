#!/usr/bin/env bash
# The two commands of the README's quick start.
#
#   deploy/local/dev.sh up     set everything up (Node 24, pnpm, dependencies, the local stack)
#                              and run every service in the foreground, each with its own logins
#                              (service-env.sh); Ctrl-C stops the services (the stack keeps
#                              running: `pnpm stack:down` stops it)
#   deploy/local/dev.sh test   set everything up and run the whole test suite against the stack
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=deploy/local/bootstrap.sh
. deploy/local/bootstrap.sh
bash deploy/local/stack.sh up
# Every catalogued topic exists before any service starts (each topic's owner would create it, but
# some owners — handlers, the notifier — may not run yet). Idempotent.
(
  set -a
  # shellcheck source=/dev/null # written by stack.sh up
  . "${STACK_ENV_FILE:-.stack/env}"
  set +a
  LOG_LEVEL=warn pnpm -s topics:provision
  # OpenPenPal's tables (only what is missing), as the superuser of the local stack.
  DOMAIN_DB_SCHEMA=${PG_DOMAIN_SCHEMA:-openpenpal} LOG_LEVEL=warn pnpm -s domain:migrate
)

case "${1:-}" in
  up)
    if compgen -G 'services/*/package.json' >/dev/null; then
      set -a
      # shellcheck source=/dev/null # written by stack.sh up
      . "${STACK_ENV_FILE:-.stack/env}"
      # The OTLP endpoint of the local Jaeger, while `pnpm jaeger:up` has it running.
      # shellcheck source=/dev/null # written by jaeger.sh up
      if [ -f .stack/jaeger.env ]; then . .stack/jaeger.env; fi
      set +a
      # The demo's users, letters (future ones due in the next minutes), couriers and the default
      # tasks; idempotent. DEMO_SEED=0 skips it. The event store is written with the recorder's login.
      if [ "${DEMO_SEED:-1}" != 0 ]; then
        env ${RECORDER_DATABASE_URL:+"SEED_EVENT_STORE_DATABASE_URL=$RECORDER_DATABASE_URL"} \
          DOMAIN_DB_SCHEMA="${PG_DOMAIN_SCHEMA:-openpenpal}" LOG_LEVEL=warn pnpm -s seed:demo
      fi
      # The operator console the API serves at /console/ (services/api/console, built into its dist/).
      pnpm -s console:build
      # The AI pen-pal replies' provider: the one AI_PROVIDER_BASE_URL names (with AI_PROVIDER_MODEL
      # and AI_PROVIDER_API_KEY), else the fake chat API on loopback (services/handler-ai-replies).
      if [ -z "${AI_PROVIDER_BASE_URL:-}" ]; then
        FAKE_CHAT_PORT=${FAKE_CHAT_PORT:-8191} pnpm -s --filter @openpenpal/handler-ai-replies fake-chat-api &
        AI_PROVIDER_BASE_URL=http://127.0.0.1:${FAKE_CHAT_PORT:-8191}/v1
      fi
      export HANDLER_AI_PENPAL_REPLY_PROVIDER_BASE_URL=$AI_PROVIDER_BASE_URL
      export HANDLER_AI_PENPAL_REPLY_PROVIDER_MODEL=${AI_PROVIDER_MODEL:-gpt-4o-mini}
      export HANDLER_AI_PENPAL_REPLY_PROVIDER_API_KEY=${AI_PROVIDER_API_KEY:-}
      # Each service gets its own Redis user, PostgreSQL role and Kafka user, never the shared ones.
      exec pnpm --recursive --parallel --stream --filter './services/*' \
        exec bash "$PWD/deploy/local/service-env.sh" pnpm run start
    fi
    echo "The stack is up; no service exists yet. Connection settings: .stack/env"
    ;;
  test)
    pnpm test
    ;;
  *)
    echo "usage: $0 up|test" >&2
    exit 2
    ;;
esac
