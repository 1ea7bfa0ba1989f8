import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Files run in parallel worker processes, each against its own database file or schema.
    pool: 'forks',
    maxWorkers: 2,
  },
});
