import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  // One graphql instance, as under Node: Node resolves `graphql` to its CommonJS build (the one @apollo/gateway and
  // @apollo/subgraph require), while Vite would pick its ESM build for our sources; types created by one are not
  // recognized by the other ("Cannot use GraphQLNonNull ... from another module or realm").
  resolve: { alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }] },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file starts its own sandbox on a free port; two workers fit the 2-core machines.
    maxWorkers: 2,
  },
});
