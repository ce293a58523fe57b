// operationCost (gateway/limits.ts), table-driven over a small schema: each field costs 1 times what it multiplies
// (a page size for fields taking first/last, the default list size for other lists, 1 inside a connection's
// edges/nodes), fragments count where they are spread, and the sum saturates instead of overflowing.
import type { ApolloServerPlugin } from '@apollo/server';
import { buildSchema, Kind, parse, type DocumentNode, type GraphQLError, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  costLimitPlugin,
  DEFAULT_LIMITS,
  operationAliases,
  operationCost,
  operationDepth,
  type QueryLimits,
} from '../gateway/limits.js';

const schema = buildSchema(`
  type Query {
    pod(name: String!): Pod
    pods(first: Int, after: String, last: Int): PodConnection!
    nodes: [Node!]!
    version: String
  }
  type Subscription { podChanged: Pod }
  type PodConnection { edges: [PodEdge!]! nodes: [Pod!]! pageInfo: PageInfo! totalCount: Int! }
  type PodEdge { node: Pod! cursor: String! }
  type PageInfo { hasNextPage: Boolean! }
  interface Named { name: String! }
  type Pod implements Named { name: String! containers: [Container!]! node: Node }
  type Container { name: String! }
  type Node implements Named { name: String! pods(first: Int): PodConnection! }
`);

const limits: QueryLimits = { ...DEFAULT_LIMITS, defaultPageSize: 50, defaultListSize: 10 };

function cost(query: string, variables?: Record<string, unknown>, operationName?: string): number {
  const doc = parse(query);
  const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const op = operationName ? ops.find((o) => o.name?.value === operationName)! : ops[0];
  return operationCost(schema, doc, op, limits, variables);
}

describe('operationCost', () => {
  it.each<[string, string, number]>([
    ['a scalar', '{ version }', 1],
    ['an object: itself and its field', '{ pod(name: "a") { name } }', 2],
    ['a plain list: the default list size', '{ nodes { name } }', 10 * (1 + 1)],
    ['a list inside an object', '{ pod(name: "a") { containers { name } } }', 1 + 10 * 2],
    ['first: the page size', '{ pods(first: 3) { nodes { name } } }', 3 * (1 + 2)],
    ['last: the page size', '{ pods(last: 4) { totalCount } }', 4 * (1 + 1)],
    ['no first: the default page size', '{ pods { edges { node { name } } } }', 50 * (1 + (1 + 2))],
    ['a negative first: the default page size', '{ pods(first: -1) { totalCount } }', 50 * 2],
    [
      'edges and nodes of a connection count once per item',
      '{ pods(first: 2) { edges { cursor node { name } } pageInfo { hasNextPage } } }',
      2 * (1 + (1 + 1 + 2) + 2),
    ],
    ['nested pages multiply', '{ nodes { pods(first: 5) { nodes { name } } } }', 10 * (1 + 5 * (1 + 2))],
    ['__typename costs 1', '{ __typename pod(name: "a") { __typename } }', 1 + 2],
    ['an unknown field costs 1', '{ nope pod(name: "a") { nope } }', 1 + 2],
    ['aliases each count', '{ a: pod(name: "a") { name } b: pod(name: "b") { name } }', 4],
    ['an inline fragment on the parent', '{ pod(name: "a") { ... { name } } }', 2],
    ['an inline fragment on an interface', '{ pod(name: "a") { ... on Named { name } } }', 2],
    [
      'a fragment where it is spread, each time',
      '{ a: pod(name: "a") { ...P } b: pod(name: "b") { ...P } } fragment P on Pod { name node { name } }',
      2 * (1 + 1 + 2),
    ],
    ['an unknown fragment costs nothing', '{ pod(name: "a") { ...Missing } }', 1],
    [
      'a fragment cycle is cut',
      '{ pod(name: "a") { ...A } } fragment A on Pod { name ...B } fragment B on Pod { ...A }',
      2,
    ],
    ['a subscription', 'subscription { podChanged { name } }', 2],
    ['an operation type the schema lacks', 'mutation { x }', 0],
  ])('%s', (_what, query, want) => {
    expect(cost(query)).toBe(want);
  });

  it.each<[string, Record<string, unknown> | undefined, number]>([
    ['query($n: Int) { pods(first: $n) { totalCount } }', { n: 7 }, 7 * 2],
    ['query($n: Int) { pods(first: $n) { totalCount } }', undefined, 50 * 2], // unknown at validation: the default page size
    ['query($n: Int) { pods(first: $n) { totalCount } }', { n: 'x' }, 50 * 2],
    ['query($n: Int = 4) { pods(first: $n) { totalCount } }', undefined, 4 * 2], // the declared default
    ['query($n: Int = 4) { pods(first: $n) { totalCount } }', { n: 9 }, 9 * 2],
    ['query($n: Int = 4) { pods(first: $n) { totalCount } }', {}, 4 * 2],
  ])('%s with %j', (query, variables, want) => {
    expect(cost(query, variables)).toBe(want);
  });

  it('costs the named operation only', () => {
    const doc = 'query A { version } query B { nodes { name } }';
    expect(cost(doc, undefined, 'A')).toBe(1);
    expect(cost(doc, undefined, 'B')).toBe(20);
  });

  it('saturates at Number.MAX_SAFE_INTEGER', () => {
    const huge = 1_000_000_000_000_000;
    expect(cost(`{ pods(first: ${huge}) { nodes { node { pods(first: ${huge}) { nodes { name } } } } } }`)).toBe(
      Number.MAX_SAFE_INTEGER,
    );
  });
});

describe('operationDepth and operationAliases', () => {
  const op = (q: string) => {
    const doc = parse(q);
    return [
      doc,
      doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!,
    ] as const;
  };
  it.each([
    ['{ version }', 1, 0],
    ['{ pod(name: "a") { node { pods { nodes { name } } } } }', 5, 0],
    ['{ a: version b: pod(name: "a") { c: name } }', 2, 3],
    ['{ pod(name: "a") { ...P } } fragment P on Pod { node { n: name } }', 3, 1],
    ['{ pod(name: "a") { ...A } } fragment A on Pod { x: name ...B } fragment B on Pod { ...A }', 2, 1],
  ])('%s: depth %d, aliases %d', (q, depth, aliases) => {
    const [doc, o] = op(q);
    expect(operationDepth(doc, o)).toBe(depth);
    expect(operationAliases(doc, o)).toBe(aliases);
  });
});

describe('costLimitPlugin', () => {
  /** The plugin's verdict on one request: the cost error it throws, or undefined. */
  async function verdict(
    plugin: ApolloServerPlugin,
    doc: DocumentNode,
    variables: Record<string, unknown> | undefined,
  ): Promise<unknown> {
    const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
    const hooks = await plugin.requestDidStart!({} as never);
    try {
      await hooks!.didResolveOperation!({ schema, document: doc, operation: op, request: { variables } } as never);
      return undefined;
    } catch (e) {
      return (e as GraphQLError).extensions;
    }
  }

  it('decides as operationCost does for every page size, the same document asked again with other values', async () => {
    const plugin = costLimitPlugin({ ...limits, maxCost: 200 });
    const query =
      'query Q($n: Int = 4, $m: Int, $name: String) { pods(first: $n) { nodes { name } } a: pods(last: $m) { ...F } } ' +
      'fragment F on PodConnection { totalCount nodes { node { pods(first: $n) { totalCount } } } }';
    const doc = parse(query);
    const op = doc.definitions[0] as OperationDefinitionNode;
    const cases: (Record<string, unknown> | undefined)[] = [
      { n: 1000 },
      { n: 3, m: 2 },
      { n: 1000 },
      {},
      undefined,
      { n: null, m: 'x' },
      { n: 3, m: 2, name: 'a' },
      { n: 3, m: 2, name: 'b' },
      { m: 40 },
      { n: 3, m: 2 },
    ];
    for (const variables of cases) {
      const want = operationCost(schema, doc, op, limits, variables ?? {});
      const got = await verdict(plugin, doc, variables);
      if (want > 200) expect(got, JSON.stringify(variables)).toMatchObject({ code: 'QUERY_TOO_COSTLY', cost: want });
      else expect(got, JSON.stringify(variables)).toBeUndefined();
    }
  });

  it('leaves operations without variables to validation, and does nothing with the cost limit off', async () => {
    const doc = parse('{ pods(first: 1000) { nodes { containers { name } } } }');
    expect(await verdict(costLimitPlugin({ ...limits, maxCost: 5 }), doc, undefined)).toBeUndefined();
    expect(costLimitPlugin({ ...limits, maxCost: 0 }).requestDidStart).toBeUndefined();
  });
});
