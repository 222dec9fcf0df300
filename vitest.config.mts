import * as path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Snapshots live in the top-level __snapshots__/ folder, as cdk8s projects keep them.
    resolveSnapshotPath: (testPath, extension) => path.join(import.meta.dirname, '__snapshots__', `${path.basename(testPath)}${extension}`),
  },
});
