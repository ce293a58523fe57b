// The checked-in supergraph is what `npm run compose` makes of schema/*.graphql; and the compose step itself.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CompositionFailed,
  composeSupergraph,
  readSubgraphSources,
  SCHEMA_DIR,
  SUPERGRAPH_FILE,
  supergraphStatus,
} from '../gateway/compose.js';

const ROOT = resolve(import.meta.dirname, '..');
const subgraphFiles = readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.graphql') && f !== SUPERGRAPH_FILE);

describe('schema/supergraph.graphql', () => {
  it.skipIf(subgraphFiles.length === 0)(
    'is not stale: composing schema/*.graphql gives the checked-in file (run npm run compose)',
    () => {
      const status = supergraphStatus();
      expect(status.current, 'schema/supergraph.graphql is missing: run npm run compose').toBeDefined();
      expect(status.current === status.expected, 'schema/supergraph.graphql is stale: run npm run compose').toBe(true);
    },
  );
});

describe('compose', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubegraph-compose-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const workloads = `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
    type Query { pods: [Pod!]! }
    type Pod @key(fields: "namespace name") { namespace: String!  name: String!  phase: String! }`;
  const monitoring = `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
    type Pod @key(fields: "namespace name") { namespace: String!  name: String!  cpu: Float }`;

  it('names each subgraph after its file and routes it to the default URL of its port', () => {
    writeFileSync(join(dir, 'workloads.graphql'), workloads);
    writeFileSync(join(dir, 'monitoring.graphql'), monitoring);
    const sources = readSubgraphSources(dir);
    expect(sources.map((s) => [s.name, s.url])).toEqual([
      ['monitoring', 'http://127.0.0.1:4003/graphql'],
      ['workloads', 'http://127.0.0.1:4002/graphql'],
    ]);
    const sdl = composeSupergraph(sources);
    expect(sdl).toMatch(/WORKLOADS @join__graph\(name: "workloads", url: "http:\/\/127\.0\.0\.1:4002\/graphql"\)/);
    expect(sdl).toMatch(/MONITORING @join__graph\(name: "monitoring", url: "http:\/\/127\.0\.0\.1:4003\/graphql"\)/);
    expect(sdl).toContain('cpu: Float');
  });

  it('fails loudly, listing the composition errors', () => {
    const clash = `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
      type Pod @key(fields: "namespace name") { namespace: String!  name: String!  phase: Int! }`;
    expect(() =>
      composeSupergraph([
        { name: 'workloads', sdl: workloads, url: 'http://a/graphql' },
        { name: 'monitoring', sdl: clash, url: 'http://b/graphql' },
      ]),
    ).toThrow(CompositionFailed);
    expect(() =>
      composeSupergraph([
        { name: 'workloads', sdl: workloads, url: 'http://a/graphql' },
        { name: 'monitoring', sdl: clash, url: 'http://b/graphql' },
      ]),
    ).toThrow(/phase/);
    expect(() => composeSupergraph([{ name: 'workloads', sdl: 'type Query {', url: 'http://a/graphql' }])).toThrow(
      /subgraph "workloads"/,
    );
  });

  it('reports a missing, then a stale, then an up-to-date supergraph file', () => {
    writeFileSync(join(dir, 'workloads.graphql'), workloads);
    writeFileSync(join(dir, 'monitoring.graphql'), monitoring);
    rmSync(join(dir, SUPERGRAPH_FILE), { force: true });
    let status = supergraphStatus(dir);
    expect(status.current).toBeUndefined();
    expect(status.upToDate).toBe(false);
    writeFileSync(join(dir, SUPERGRAPH_FILE), status.expected);
    expect(supergraphStatus(dir).upToDate).toBe(true);
    writeFileSync(join(dir, 'monitoring.graphql'), monitoring.replace('cpu: Float', 'cpu: Float  memory: Float'));
    status = supergraphStatus(dir);
    expect(status.upToDate).toBe(false);
    expect(status.expected).toContain('memory: Float');
  });

  it('npm run compose -- --check exits non-zero exactly when the checked-in file is stale', async () => {
    const run = promisify(execFile);
    const status = subgraphFiles.length ? supergraphStatus() : undefined;
    const result = await run(process.execPath, ['--import', 'tsx', 'scripts/compose.ts', '--check'], {
      cwd: ROOT,
    }).then(
      () => 0,
      (e: { code?: number }) => e.code ?? -1,
    );
    expect(result).toBe(status?.upToDate ? 0 : 1);
  });
});
