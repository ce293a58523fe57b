// requestMetricsPlugin (services/common/apollo-metrics.ts): one count per request by outcome and one timing per root
// field (Query, Mutation) by outcome, nested fields not timed; its hooks are shared by every request.
import { ApolloServer } from '@apollo/server';
import { Registry } from 'prom-client';
import { afterAll, expect, it } from 'vitest';
import { requestMetricsPlugin } from '../services/common/apollo-metrics.js';

const registry = new Registry();
const server = new ApolloServer({
  typeDefs: 'type Query { a: Int b: B fail: Int } type B { c: Int }',
  resolvers: {
    Query: {
      a: () => 1,
      b: () => ({ c: 2 }),
      fail: () => {
        throw new Error('x');
      },
    },
  },
  plugins: [requestMetricsPlugin('svc', registry)],
});
afterAll(() => server.stop());

it('counts each request and times each root field, per request', async () => {
  await server.start();
  for (let i = 0; i < 3; i++) await server.executeOperation({ query: '{ a b { c } }' });
  await server.executeOperation({ query: '{ fail }' });
  const text = await registry.metrics();
  const value = (sample: string) => Number(new RegExp(`^${sample} (\\S+)$`, 'm').exec(text)?.[1]);
  expect(value('kubegraph_svc_resolver_duration_seconds_count\\{field="Query.a",outcome="ok"\\}')).toBe(3);
  expect(value('kubegraph_svc_resolver_duration_seconds_count\\{field="Query.b",outcome="ok"\\}')).toBe(3);
  expect(value('kubegraph_svc_resolver_duration_seconds_count\\{field="Query.fail",outcome="error"\\}')).toBe(1);
  expect(text).not.toContain('field="B.c"');
  expect(value('kubegraph_svc_requests_total\\{outcome="ok"\\}')).toBe(3);
  expect(value('kubegraph_svc_requests_total\\{outcome="error"\\}')).toBe(1);
});
