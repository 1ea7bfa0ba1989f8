import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Browser tests run once, with the SQLite run; the PostgreSQL run covers the API underneath.
    exclude: process.env.DATABASE_URL ? ['test/browser/**', 'node_modules/**'] : ['node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Files run in parallel worker processes, each against its own database file or schema.
    pool: 'forks',
    maxWorkers: 2,
  },
});
