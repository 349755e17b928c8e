// `pnpm domain:migrate`: applies the pending domain migrations (packages/domain/migrations) to
// DOMAIN_DB_SCHEMA with DATABASE_URL, whose role must be allowed to create tables there. Safe to run
// again and from two places at once (node-pg-migrate's advisory lock). Exits 1 naming a bad setting.
import { postgresUrl, logLevel } from '@openpenpal/service-kit';
import pino from 'pino';
import { z } from 'zod';
import { domainConfigShape } from '../config.ts';
import { migrateDomain } from '../migrate.ts';

const parsed = z
  .object({
    DATABASE_URL: postgresUrl,
    DOMAIN_DB_SCHEMA: domainConfigShape.DOMAIN_DB_SCHEMA,
    LOG_LEVEL: logLevel.default('info'),
  })
  .safeParse(process.env);
if (!parsed.success) {
  for (const issue of parsed.error.issues) {
    process.stderr.write(`domain:migrate: ${issue.path.join('.')}: ${issue.message}\n`);
  }
  process.exit(1);
}
const config = parsed.data;
const logger = pino({ level: config.LOG_LEVEL, name: 'domain-migrate' });
try {
  const applied = await migrateDomain({
    databaseUrl: config.DATABASE_URL,
    schema: config.DOMAIN_DB_SCHEMA,
    logger,
  });
  logger.info(
    { schema: config.DOMAIN_DB_SCHEMA, applied },
    applied.length === 0 ? 'domain schema up to date' : `applied ${applied.length} migration(s)`,
  );
} catch (error) {
  logger.error({ err: error, schema: config.DOMAIN_DB_SCHEMA }, 'domain migrations failed');
  process.exitCode = 1;
}
