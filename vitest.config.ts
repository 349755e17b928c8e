import { defineConfig } from 'vitest/config';

// Two projects: unit tests need nothing; integration and e2e tests get the stack's connection
// settings from the global setup (the local stack's env file, the environment, or Testcontainers).
export default defineConfig({
  test: {
    // The JSON report feeds .ci/run's closing "N passed, N failed" line.
    reporters: ['default', 'json'],
    outputFile: { json: '.cache/vitest-results.json' },
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'packages/*/test/**/*.unit.test.ts',
            'services/*/test/**/*.unit.test.ts',
            'services/*/fault/**/*.unit.test.ts',
          ],
        },
      },
      {
        test: {
          name: 'integration',
          include: [
            'packages/*/test/**/*.int.test.ts',
            'services/*/test/**/*.int.test.ts',
            'packages/*/test/**/*.e2e.test.ts',
            'services/*/test/**/*.e2e.test.ts',
          ],
          globalSetup: ['packages/test-kit/src/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
    ],
  },
});
