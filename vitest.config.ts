import { defineConfig } from 'vitest/config';

/**
 * Six projects, cheapest first. Tests that need a server start it themselves in globalSetup,
 * on loopback, on ports apart from a developer's running stack, and stop it afterwards.
 */
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        test: {
          name: 'workflow',
          include: ['test/workflow/**/*.test.ts'],
          globalSetup: ['test/setup/test-server.ts'],
          setupFiles: ['test/setup/quiet-temporal.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'replay',
          include: ['test/replay/**/*.test.ts'],
          setupFiles: ['test/setup/quiet-temporal.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/setup/stack.ts'],
          setupFiles: ['test/setup/quiet-temporal.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // One real stack is shared: files run one after another so counts stay exact.
          fileParallelism: false,
        },
      },
      {
        test: {
          // README's command blocks against `npm start` on the default ports, in a copy of the
          // repository (test/readme); `npm test` runs it after the integration project.
          name: 'readme',
          include: ['test/readme/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 420_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          // The cluster profile (scripts/cluster.sh) under faults: test/setup/cluster.ts starts it
          // on ports of its own (base 47000) when its Go builds are cached, else the tests skip.
          // `npm test` runs this project after the others (see package.json), so the two stacks never share the 2 cores.
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          globalSetup: ['test/setup/cluster.ts'],
          setupFiles: ['test/setup/quiet-temporal.ts'],
          testTimeout: 420_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
