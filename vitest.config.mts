import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Many files wait on child processes (kube-apiserver, PostgreSQL, the cdk8s CLI) rather than
    // compute: one worker more than the cores keeps both busy (vitest's default is one fewer).
    maxWorkers: Math.max(2, availableParallelism() + 1),
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Snapshots live in the top-level __snapshots__/ folder, as cdk8s projects keep them.
    resolveSnapshotPath: (testPath, extension) => path.join(import.meta.dirname, '__snapshots__', `${path.basename(testPath)}${extension}`),
  },
});
