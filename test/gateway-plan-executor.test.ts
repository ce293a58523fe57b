// gateway/plan-executor.ts against @apollo/gateway's own executor: two gateways on the same subgraphs, one with the
// plan executor and one without, must answer every operation with the same bytes (and status), whatever the plan
// shape, selection, nulls, errors or unavailable subgraph. Also unit tests of the compiled projection.
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { GraphQLError, Kind, parse, type OperationDefinitionNode } from 'graphql';
import { composeSupergraph } from '../gateway/compose.js';
import { startGateway, type Gateway } from '../gateway/gateway.js';
import { planHandled } from '../gateway/plan-executor.js';
import { compileProjection, shapeResponse } from '../gateway/plan-projection.js';
import { quietLogger } from './harness/stack.js';
import { startBrokenServer, startTestSubgraph, type TestSubgraph } from './harness/subgraphs.js';

const FED = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])';
const A_SDL = `${FED}
  interface Node { id: ID! }
  union SearchResult = Pod | Service
  type Query {
    pods(first: Int): [Pod!]!
    pod(name: String!): Pod
    node(id: ID!): Node
    nodes: [Node]
    search: [SearchResult!]!
    fails: String
    failsNonNull: Pod!
    badPods: [Pod!]
    echo(token: String, n: Int = 3): String
    count: Int
  }
  type Pod implements Node @key(fields: "name") { id: ID! name: String! phase: String! labels: [String!]! restarts: Int }
  type Service implements Node { id: ID! port: Int! }`;
const B_SDL = `${FED}
  type Query { alerts: [String!] }
  type Pod @key(fields: "name") { name: String! cpu: Float strict: String! note: String }`;
const C_SDL = `${FED}
  type Query { downRoot: String }
  type Pod @key(fields: "name") { name: String! owner: String }`;

interface PodRow {
  id: string;
  name: string;
  phase: string;
  labels: string[];
  restarts: number | null;
}
const PODS: PodRow[] = Array.from({ length: 6 }, (_, i) => ({
  id: `p${i}`,
  name: `pod-${i}`,
  phase: i % 2 ? 'Pending' : 'Running',
  labels: [`app=${i}`],
  restarts: i === 3 ? null : i,
}));

let a: TestSubgraph;
let b: TestSubgraph;
let ours: Gateway;
let apollo: Gateway;
/** What both gateways are started with (beforeAll). */
let common: Parameters<typeof startGateway>[0];

beforeAll(async () => {
  a = await startTestSubgraph('a', A_SDL, {
    Query: {
      pods: (_: unknown, args: { first?: number }) => PODS.slice(0, args.first ?? PODS.length),
      pod: (_: unknown, args: { name: string }) => PODS.find((p) => p.name === args.name) ?? null,
      node: (_: unknown, args: { id: string }) =>
        args.id.startsWith('s') ? { id: args.id, port: 80 } : (PODS.find((p) => p.id === args.id) ?? null),
      nodes: () => [PODS[0], null, { id: 's1', port: 443 }],
      search: () => [PODS[1], { id: 's2', port: 8080 }, PODS[2]],
      fails: () => {
        throw new GraphQLError('nope', { extensions: { code: 'FORBIDDEN' } });
      },
      failsNonNull: () => null,
      // A subgraph breaking its own schema: a non-null phase missing (the gateway must null up to the nearest
      // nullable field and say why).
      badPods: () => [{ ...PODS[0], phase: null }],
      echo: (_: unknown, args: { token?: string; n?: number }) => `${args.token ?? '-'}:${args.n}`,
      count: () => PODS.length,
    },
    Node: { __resolveType: (o: { port?: number }) => (o.port ? 'Service' : 'Pod') },
    SearchResult: { __resolveType: (o: { port?: number }) => (o.port ? 'Service' : 'Pod') },
    Pod: { __resolveReference: (ref: { name: string }) => PODS.find((p) => p.name === ref.name) },
  });
  b = await startTestSubgraph('b', B_SDL, {
    Query: { alerts: () => ['x'] },
    Pod: {
      __resolveReference: (ref: { name: string }) => ({ name: ref.name }),
      cpu: (p: { name: string }) => (p.name === 'pod-2' ? null : Number(p.name.slice(4)) / 4),
      strict: (p: { name: string }) => (p.name === 'pod-4' ? null : `s-${p.name}`),
      note: (p: { name: string }) => {
        if (p.name === 'pod-1') throw new GraphQLError('note failed', { extensions: { code: 'INTERNAL' } });
        return `n-${p.name}`;
      },
    },
  });
  const down = await startBrokenServer(500);
  await down.close();
  const supergraphSdl = composeSupergraph([
    { name: 'a', sdl: A_SDL, url: a.url },
    { name: 'b', sdl: B_SDL, url: b.url },
    { name: 'c', sdl: C_SDL, url: down.url },
  ]);
  common = { port: 0, supergraphSdl, logger: quietLogger, readyCacheMs: 0, subgraphTimeoutMs: 2000 };
  ours = await startGateway({ ...common, planExecutor: true });
  apollo = await startGateway({ ...common, planExecutor: false });
});

afterAll(async () => {
  await ours?.close();
  await apollo?.close();
  await a?.close();
  await b?.close();
});

async function raw(url: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

interface Case {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
  /** Whether the plan executor must have answered it (false: it falls back to Apollo's by design). */
  ours?: boolean;
}

const CASES: Case[] = [
  { name: 'one root fetch', query: '{ pods(first: 3) { name phase labels restarts } }' },
  { name: 'aliases and __typename', query: '{ p: pods(first: 2) { n: name t: __typename __typename } c: count }' },
  { name: 'root __typename', query: '{ __typename count }' },
  { name: 'the same field twice, merged', query: '{ pods(first: 2) { name } pods(first: 2) { phase name } }' },
  {
    name: 'fragments on an interface',
    query:
      'query Q { node(id: "p1") { id ... on Pod { name phase } ... on Service { port } } s: node(id: "s9") { __typename id ...S } }\n fragment S on Service { port }',
    operationName: 'Q',
  },
  {
    name: 'a list of an interface with a null',
    query: '{ nodes { __typename id ... on Pod { name } ... on Service { port } } }',
  },
  { name: 'union', query: '{ search { __typename ... on Pod { name } ... on Service { port id } } }' },
  { name: 'missing object: null', query: '{ pod(name: "nope") { name } }' },
  { name: 'variables', query: 'query($n: String!) { pod(name: $n) { name phase } }', variables: { n: 'pod-2' } },
  { name: 'default argument', query: '{ echo(token: "t") e2: echo }' },
  {
    name: '@include / @skip with variables',
    query:
      'query($yes: Boolean!, $no: Boolean!) { pods(first: 2) { name @include(if: $yes) phase @skip(if: $yes) ... on Pod @include(if: $no) { labels } } c: count @skip(if: $no) }',
    variables: { yes: true, no: false },
  },
  {
    name: '@include / @skip the other way',
    query:
      'query($yes: Boolean!, $no: Boolean!) { pods(first: 2) { name @include(if: $yes) phase @skip(if: $yes) ... on Pod @include(if: $no) { labels } } c: count @skip(if: $no) }',
    variables: { yes: false, no: true },
  },
  {
    name: '@include with a defaulted variable and a literal',
    query: 'query($y: Boolean = true) { count @include(if: $y) pods(first: 1) @skip(if: false) { name } }',
  },
  { name: 'an error from the subgraph', query: '{ fails count }' },
  { name: 'null for a non-null root field', query: '{ failsNonNull { name } count }' },
  { name: 'a subgraph breaking its schema', query: '{ badPods { name phase } count }' },
  { name: 'two subgraphs (entities)', query: '{ pods(first: 5) { name phase cpu } }' },
  { name: 'entities with a null and a non-null null', query: '{ pods { name cpu strict } }' },
  { name: 'entities with errors from the subgraph', query: '{ pods(first: 3) { name note } }' },
  { name: 'entities, aliases and fragments', query: '{ pods(first: 3) { n: name ... on Pod { c: cpu note } } }' },
  { name: 'a subgraph that is down, root', query: '{ downRoot count }' },
  { name: 'a subgraph that is down, entities', query: '{ pods(first: 3) { name owner cpu } }' },
  { name: 'three subgraphs through an interface', query: '{ node(id: "p2") { ... on Pod { name cpu owner } } }' },
  { name: 'a variable of the wrong type', query: 'query($n: String!) { pod(name: $n) { name } }', variables: {} },
  { name: 'introspection', query: '{ __schema { queryType { name } } count }', ours: false },
  { name: 'a mutation the schema does not have', query: 'mutation { x }', ours: false },
];

describe('the plan executor answers as Apollo’s executor does', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const body = { query: c.query, variables: c.variables, operationName: c.operationName };
      // Twice: the first request plans (Apollo's executor answers it), the second runs the cached plan.
      for (let round = 0; round < 2; round++) {
        const before = ours.planStats!().ours;
        const [x, y] = await Promise.all([raw(ours.url, body), raw(apollo.url, body)]);
        expect(x.text).toBe(y.text);
        expect(x.status).toBe(y.status);
        if (round === 1 && c.ours !== false && y.status === 200 && !y.text.includes('BAD_USER_INPUT')) {
          expect(ours.planStats!().ours).toBe(before + 1);
        }
      }
    });
  }

  it('one plan cache lookup per request, whichever executor answers', async () => {
    const lookups = async () => {
      const text = await (await fetch(ours.url.replace(/\/graphql$/, '/metrics'))).text();
      const total = (result: string) =>
        Number(
          new RegExp(`^kubegraph_gateway_query_plan_cache_total\\{result="${result}"[^}]*\\} (\\S+)$`, 'm').exec(
            text,
          )?.[1] ?? 0,
        );
      return { hit: total('hit'), miss: total('miss') };
    };
    const before = await lookups();
    const body = { query: '{ pods(first: 4) { name restarts } alerts }' };
    for (let i = 0; i < 3; i++) await raw(ours.url, body);
    const after = await lookups();
    expect({ hit: after.hit - before.hit, miss: after.miss - before.miss }).toEqual({ hit: 2, miss: 1 });
  });

  it('runs on the Supergraph ApolloGateway built: one build of the supergraph, not one more for the executor', async () => {
    const builds = vi.spyOn(Supergraph, 'build');
    const gateway = await startGateway({ ...common, planExecutor: true });
    try {
      const body = { query: '{ pods(first: 2) { name cpu } count }' };
      const expected = (await raw(apollo.url, body)).text;
      // The first request plans (Apollo's executor); the second runs on ours, which needs the supergraph's schemas.
      for (let i = 0; i < 2; i++) expect((await raw(gateway.url, body)).text).toBe(expected);
      expect(gateway.planStats!().ours).toBe(1);
      expect(builds).toHaveBeenCalledTimes(1);
    } finally {
      builds.mockRestore();
      await gateway.close();
    }
  });

  it('many requests at once: every answer the same', async () => {
    const body = { query: '{ pods { name cpu note strict owner } count }' };
    const expected = (await raw(apollo.url, body)).text;
    const answers = await Promise.all(Array.from({ length: 30 }, () => raw(ours.url, body)));
    for (const r of answers) expect(r.text).toBe(expected);
  });
});

describe('the compiled projection', () => {
  const supergraph = Supergraph.build(
    composeSupergraph([
      { name: 'a', sdl: A_SDL, url: 'http://127.0.0.1:1/graphql' },
      { name: 'b', sdl: B_SDL, url: 'http://127.0.0.1:2/graphql' },
    ]),
  );
  const api = supergraph.apiSchema();
  const compile = (query: string) => {
    const doc = parse(query);
    const def = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
    return compileProjection(operationFromDocument(api, doc, { validate: false }), def);
  };
  const json = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

  it('projects the selection: aliases, __typename, added fields removed, key order of the query', () => {
    const op = compile('{ p: pods { n: name __typename phase } }');
    const input = { p: [{ phase: 'Running', n: 'a', name: 'x', __typename: 'Pod', cpu: 1 }] };
    expect(JSON.stringify(shapeResponse(op, {}, input).data)).toBe(
      '{"p":[{"n":"a","__typename":"Pod","phase":"Running"}]}',
    );
  });

  it('type conditions by __typename', () => {
    const op = compile('{ search { ... on Pod { name } ... on Service { port } } }');
    const input = {
      search: [
        { __typename: 'Service', port: 1, name: 'no' },
        { __typename: 'Pod', name: 'y' },
      ],
    };
    expect(json(shapeResponse(op, {}, input).data)).toEqual({ search: [{ port: 1 }, { name: 'y' }] });
  });

  it('null propagation to the nearest nullable field, with the error Apollo gives', () => {
    const op = compile('{ pod(name: "x") { name phase } count }');
    const { data, errors } = shapeResponse(op, {}, { pod: { name: 'x', phase: null }, count: 2 });
    expect(json(data)).toEqual({ pod: null, count: 2 });
    expect(errors.map((e) => [e.message, e.path])).toEqual([
      ['Cannot return null for non-nullable field Pod.phase.', ['pod', 'phase']],
    ]);
    const list = compile('{ pods { name } }');
    const r = shapeResponse(list, {}, { pods: [{ name: 'a' }, null] });
    expect(r.data).toBeNull();
    expect(r.errors[0].message).toBe('Cannot return null for non-nullable array element of type Pod at index 1.');
  });

  it('@skip / @include read from the variables, defaults included', () => {
    const op = compile('query($s: Boolean = true) { count @skip(if: $s) pods @include(if: $s) { name } }');
    expect(json(shapeResponse(op, undefined, { count: 1, pods: [] }).data)).toEqual({ pods: [] });
    expect(json(shapeResponse(op, { s: false }, { count: 1, pods: [] }).data)).toEqual({ count: 1 });
  });

  it('invalid leaf values become null with an error', () => {
    const op = compile('{ count }');
    const r = shapeResponse(op, {}, { count: 'many' });
    expect(json(r.data)).toEqual({ count: null });
    expect(r.errors[0].message).toBe('Invalid value found for field Query.count.');
  });

  it('the data source request kind is the string plan-executor.ts sends (@apollo/gateway does not export the enum)', () => {
    const types = createRequire(import.meta.url)('@apollo/gateway/dist/datasources/types.js') as {
      GraphQLDataSourceRequestKind: { INCOMING_OPERATION: string };
    };
    expect(types.GraphQLDataSourceRequestKind.INCOMING_OPERATION).toBe('incoming operation');
  });

  it('introspection is not compiled (Apollo’s executor answers it)', () => {
    expect(() => compile('{ __schema { queryType { name } } }')).toThrow();
  });

  it('plan shapes: fetches, sequences, parallels, flattens, conditions; not @defer or rewrites', () => {
    const fetch = { kind: 'Fetch', serviceName: 'a', operation: '{ count }', operationKind: 'query' } as const;
    expect(planHandled({ kind: 'QueryPlan', node: fetch } as never)).toBe(true);
    expect(
      planHandled({
        kind: 'QueryPlan',
        node: { kind: 'Sequence', nodes: [fetch, { kind: 'Flatten', path: ['x', '@'], node: fetch }] },
      } as never),
    ).toBe(true);
    expect(
      planHandled({
        kind: 'QueryPlan',
        node: { kind: 'Parallel', nodes: [{ ...fetch, outputRewrites: [{ kind: 'KeyRenamer' }] }] },
      } as never),
    ).toBe(false);
    expect(planHandled({ kind: 'QueryPlan', node: { kind: 'Defer', primary: {}, deferred: [] } } as never)).toBe(false);
  });
});
