import { defineConfig } from 'vitest/config';

// Real tools (kiwi-ng, QEMU under TCG, podman) are slow on a 2-core machine: generous timeouts, and
// at most two test files at once.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 900_000,
    maxWorkers: 2,
    pool: 'forks',
  },
});
