/**
 * `@openpenpal/e2e/faults`: the system fault run's load and checker for other fault runs (the
 * cluster's, `pnpm fault:cluster`), on a stack of their own: the load writes through the Kafka
 * client, the platform rows and the admin API it is given; the evidence is read from the brokers
 * and the database it is given.
 */
export { check, expectedNominals, type CheckResult, type Evidence, type FaultPhase } from './check.ts';
export { createCronTasks } from './cron-tasks.ts';
export { ALL_TOPICS, evidenceTopics, gatherEvidence } from './evidence.ts';
export { createLedger, type CronTask, type Item, type ItemKind, type Ledger } from './ledger.ts';
export { createLoad, DELAYED_TARGET_TOPIC, pickKind, type Load, type LoadOptions } from './load.ts';
export { endOffsets, type Offsets } from './read-topics.ts';
export { effectLines } from './report.ts';
