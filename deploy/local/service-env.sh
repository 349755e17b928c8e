#!/usr/bin/env bash
# Runs a command with one service's own logins from the local stack's env file: its Redis ACL user,
# its PostgreSQL role and (STACK_KAFKA_AUTH=scram) its Kafka SCRAM user take the places of the
# shared REDIS_URL, DATABASE_URL and KAFKA_SASL_USERNAME/PASSWORD, which tests and tools keep using.
#
#   deploy/local/service-env.sh <command...>    (the service is the name of the current folder)
#   SERVICE=ticker deploy/local/service-env.sh <command...>
#
# <SERVICE>_REDIS_URL, <SERVICE>_DATABASE_URL, <SERVICE>_KAFKA_SASL_* come from the env file
# (STACK_ENV_FILE, default .stack/env) or the environment; every handler-* service is HANDLERS.
# Where the stack has logins per service for a part and none for this service, the shared login is
# removed rather than passed on: a service that is given no Redis user gets no Redis.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ENV_FILE=${STACK_ENV_FILE:-$ROOT/.stack/env}
# Read unless the caller has loaded it already (dev.sh does), so the caller's own settings win.
if [ -z "${STACK_SOURCE:-}" ] && [ -f "$ENV_FILE" ]; then
  set -a
  # shellcheck disable=SC1090 # the env file is generated
  . "$ENV_FILE"
  set +a
fi

service=${SERVICE:-$(basename "$PWD")}
case "$service" in
  handler-*) prefix=HANDLERS ;;
  *) prefix=$(printf '%s' "$service" | tr '[:lower:]-' '[:upper:]_') ;;
esac

for var in REDIS_URL DATABASE_URL KAFKA_SASL_USERNAME KAFKA_SASL_PASSWORD; do
  own=${prefix}_$var
  if [ -n "${!own:-}" ]; then
    export "$var=${!own}"
  elif compgen -v | grep -q "._$var\$"; then
    unset "$var"
  fi
done
# The other services' logins stay out of this one's environment.
for var in $(compgen -v | grep -E '_(REDIS_URL|DATABASE_URL|KAFKA_SASL_USERNAME|KAFKA_SASL_PASSWORD)$' || true); do
  unset "$var"
done
exec "$@"
