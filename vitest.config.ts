import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests share one moto server per file; files run in parallel on the two cores.
    pool: 'forks',
    // The AWS SDK warns on every client that Node 20 support ends in 2027; it drowns the output.
    poolOptions: { forks: { execArgv: ['--no-warnings'] } },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
