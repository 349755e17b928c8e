import { defineConfig } from 'vitest/config';

// `pnpm e2e`: the whole system, started once by the global setup; the scenarios reach it through
// the admin API and the Kafka topics only. Not part of `pnpm test` (the root config never includes
// packages/e2e/scenarios).
export default defineConfig({
  test: {
    name: 'e2e',
    root: import.meta.dirname,
    include: ['scenarios/**/*.e2e.test.ts'],
    globalSetup: ['src/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Two cores run eleven processes: scenarios run two files at a time.
    maxWorkers: 2,
  },
});
