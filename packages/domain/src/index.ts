// OpenPenPal's data as the scheduler's handlers use it (openpenpal-domain.md §3).
export { domainConfigShape } from './config.ts';
export {
  assertDomainMigrated,
  DOMAIN_MIGRATIONS_DIR,
  DOMAIN_MIGRATIONS_TABLE,
  migrateDomain,
  pendingDomainMigrations,
} from './migrate.ts';
export { domainSchemaName, qualified } from './schema-name.ts';
