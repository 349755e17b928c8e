import { booleanFlag, positiveInt } from '@openpenpal/service-kit';
import { domainSchemaName } from './schema-name.ts';

/** Settings of every service that uses the domain database (with `postgresConfigShape`). */
export const domainConfigShape = {
  /** Schema of OpenPenPal's tables (`public` in the platform's own database). */
  DOMAIN_DB_SCHEMA: domainSchemaName.default('openpenpal'),
  /**
   * Applies pending domain migrations at start. Off by default: the tables belong to the platform,
   * and the service's role normally may not create them (`pnpm domain:migrate` does, once).
   */
  DOMAIN_MIGRATE_ON_START: booleanFlag.default(false),
  /** Outbox messages relayed per Kafka request. */
  OUTBOX_RELAY_BATCH: positiveInt.max(10_000).default(500),
  /** How often the relay looks for messages when no commit notified it (a missed notification). */
  OUTBOX_RELAY_POLL_MS: positiveInt.default(1_000),
};
