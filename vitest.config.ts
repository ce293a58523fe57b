import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file starts its own sandbox on a free port; two workers fit the 2-core machines.
    maxWorkers: 2,
  },
});
