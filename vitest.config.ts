import { defineConfig } from 'vitest/config';

/**
 * Three projects:
 * - `unit`: pure code (operators, schemas, geo, protocol); no services needed.
 * - `integration`: talks to the real Kafka broker and ClickHouse server that `city-ops stack up` starts.
 * - `browser`: the live map page in Debian's headless Chromium (WebGL through SwiftShader), against the
 *   real map server and Kafka.
 * `npm test` runs all three, one project after the other; `npm run test:unit` runs only the first.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          testTimeout: 60_000,
          sequence: { groupOrder: 0 },
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
          // After the unit tests, before the browser tests: some integration tests stop and restart the
          // stack's ClickHouse and Kafka (tests/integration/engine/outages.test.ts); nothing else may run then.
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'browser',
          include: ['tests/browser/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // Headless Chromium with software WebGL (SwiftShader) uses both cores: one file at a time.
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
