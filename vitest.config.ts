import { defineConfig } from 'vitest/config';

/**
 * Two projects:
 * - `unit`: pure code (operators, schemas, geo, protocol); no services needed.
 * - `integration`: talks to the real Kafka broker and ClickHouse server that `city-ops stack up` starts.
 * `npm test` runs both; `npm run test:unit` runs only the first.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // Integration tests share one broker and one ClickHouse server: run files one at a time so a
          // test's throughput and timing do not depend on what another file does in parallel.
          fileParallelism: false,
        },
      },
    ],
  },
});
