// services/common/subgraph-schema.ts: a subgraph's schema built from its kept expanded SDL is the one
// @apollo/subgraph's buildSubgraphSchema builds, for every subgraph of kubegraph and for entities, scalars and enums.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { graphql, GraphQLScalarType, parse, printSchema, type GraphQLSchema } from 'graphql';
import { builtFromKeptSdl, subgraphSchema } from '../services/common/subgraph-schema.js';
import type { SubgraphResolvers } from '../services/common/subgraph-server.js';

const SCHEMA_DIR = join(import.meta.dirname, '..', 'schema');

const run = async (schema: GraphQLSchema, source: string, variableValues?: Record<string, unknown>) =>
  JSON.stringify(await graphql({ schema, source, variableValues, contextValue: { who: 'test' } }));

describe('subgraph schemas from their kept expanded SDL', () => {
  for (const name of ['accounts', 'workloads', 'monitoring', 'logging', 'apps']) {
    it(`${name}: the same schema and _service SDL as buildSubgraphSchema's`, async () => {
      const sdl = readFileSync(join(SCHEMA_DIR, `${name}.graphql`), 'utf8');
      const reference = buildSubgraphSchema([{ typeDefs: parse(sdl), resolvers: {} }]);
      subgraphSchema(sdl, {});
      const kept = subgraphSchema(sdl, {});
      expect(builtFromKeptSdl(kept)).toBe(true);
      expect(printSchema(kept)).toBe(printSchema(reference));
      const service = '{ _service { sdl } }';
      expect(await run(kept, service)).toBe(await run(reference, service));
    });
  }

  it('entities, their references, scalars and enums resolve as with buildSubgraphSchema', async () => {
    const type = 'Thing';
    const sdl = `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])
      scalar Stamp
      enum Size { SMALL LARGE }
      type Query { things(size: Size): [${type}!]! stamp: Stamp }
      type ${type} @key(fields: "id") { id: ID! size: Size! owner: String }
    `;
    const things = [
      { id: '1', size: 'SMALL' },
      { id: '2', size: 'LARGE' },
    ];
    const resolvers = (): SubgraphResolvers<{ who: string }> => ({
      Query: {
        things: (_: unknown, { size }: { size?: string }) => things.filter((t) => !size || t.size === size),
        stamp: () => new Date(Date.UTC(2026, 0, 2)),
      },
      Stamp: new GraphQLScalarType({ name: 'Stamp', serialize: (v) => (v as Date).toISOString().slice(0, 10) }),
      Size: { SMALL: 'SMALL', LARGE: 'LARGE' },
      [type]: {
        __resolveReference: (ref: { id: string }, ctx: { who: string }) => ({
          ...things.find((t) => t.id === ref.id),
          owner: ctx.who,
        }),
      },
    });
    const reference = buildSubgraphSchema([{ typeDefs: parse(sdl), resolvers: resolvers() }]);
    // The first may be built either way (kept by an earlier run or not); the second is built from the kept SDL.
    const first = subgraphSchema(sdl, resolvers());
    const kept = subgraphSchema(sdl, resolvers());
    expect(builtFromKeptSdl(kept)).toBe(true);

    const queries: [string, Record<string, unknown>?][] = [
      ['{ things(size: LARGE) { id size } stamp }'],
      [
        `query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on ${type} { id size owner } } }`,
        {
          r: [
            { __typename: type, id: '2' },
            { __typename: type, id: '1' },
          ],
        },
      ],
      ['{ _service { sdl } }'],
      ['{ things(size: MEDIUM) { id } }'],
    ];
    for (const [q, v] of queries) {
      const expected = await run(reference, q, v);
      expect(await run(first, q, v)).toBe(expected);
      expect(await run(kept, q, v)).toBe(expected);
    }
    expect(await run(kept, queries[1]![0], queries[1]![1])).toContain('"owner":"test"');
  });

  it('an SDL federation refuses fails as buildSubgraphSchema fails, every time', () => {
    const sdl = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
      type Query { a: Int } type Broken${randomUUID().replaceAll('-', '')} @key(fields: "missing") { id: ID }`;
    const expected = (() => {
      try {
        buildSubgraphSchema([{ typeDefs: parse(sdl) }]);
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    })();
    expect(expected).toMatch(/missing/);
    for (let i = 0; i < 2; i++) expect(() => subgraphSchema(sdl, {})).toThrow(expected);
  });
});
