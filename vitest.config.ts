import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import LongestFirst from './test/sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Long files first, also in a fresh checkout without vitest's cache of durations.
    sequence: { sequencer: LongestFirst },
    // Integration tests share one moto server per file. Most of their time is spent waiting on moto,
    // the CLI's child processes and kubectl, so three files at a time on two cores finish sooner
    // than vitest's default of one (cores - 1).
    pool: 'forks',
    maxWorkers: 3,
    minWorkers: 1,
    // The AWS SDK warns on every client that Node 20 support ends in 2027; it drowns the output.
    poolOptions: { forks: { execArgv: ['--no-warnings'] } },
    // CLI tests start node processes (about 2 s each when idle, several times that on a busy CI machine).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The built CLI that test/cli/run.ts runs in the worker is plain JavaScript: Node loads it as
    // it is, not through vitest's transform (seconds of it for the CLI's chunks, on every file).
    server: { deps: { external: [/\/dist\/cli\//] } },
    reporters: ['default', './test/summary-reporter.ts'],
    // The CLI edits the kubeconfig (export kubeconfig, delete cluster): no test may touch the
    // user's ~/.kube/config, so every run gets a file of its own unless a test names one.
    env: { KUBECONFIG: join(tmpdir(), `kopsless-tests-${process.pid}`, 'kubeconfig') },
  },
});
