// The Elasticsearch stand-in for a test file, on a free loopback port, and what the stand-in's own tests share.
//
// startTestEs(): Promise<{ url: string; close(): Promise<void>; cluster: Cluster }>
//   url      http://127.0.0.1:<port>, for @elastic/elasticsearch's `node` or fetch
//   cluster  the stand-in's in-memory state (indices, documents), for assertions
// useTestEs(started): the same with an official client on it, for the tests of one file (beforeAll/afterAll).
// esFixture(name): a real answer from ../shared/fixtures/elasticsearch.
// esFailure(promise): the status and body a client call fails with (a test failure if it succeeds).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client, errors } from '@elastic/elasticsearch';
import { afterAll, beforeAll } from 'vitest';
import type { Cluster } from '../../services/es/cluster.js';
import { startEs } from '../../services/es/server.js';

export interface TestEs {
  url: string;
  cluster: Cluster;
  close(): Promise<void>;
}

export async function startTestEs(): Promise<TestEs> {
  const es = await startEs({ port: 0, host: '127.0.0.1' });
  return { url: es.url, cluster: es.cluster, close: () => es.close() };
}

/**
 * The stand-in and an official client (@elastic/elasticsearch 7.17) on it, for the tests of one file: started in
 * beforeAll, which then calls `started` with the client (the file keeps it, and loads its data there); closed, client
 * then stand-in, in afterAll. The handle answers for the running stand-in.
 */
export function useTestEs(started: (client: Client) => void | Promise<void>): TestEs {
  let es: TestEs | undefined;
  let client: Client | undefined;
  beforeAll(async () => {
    es = await startTestEs();
    client = new Client({ node: es.url });
    await started(client);
  });
  afterAll(async () => {
    await client?.close();
    await es?.close();
  });
  const running = (): TestEs => {
    if (!es) throw new Error('the Elasticsearch stand-in is not started yet (it starts in beforeAll)');
    return es;
  };
  return {
    get url() {
      return running().url;
    },
    get cluster() {
      return running().cluster;
    },
    close: () => running().close(),
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Elasticsearch's answers, read field by field by the assertions
export type EsBody = Record<string, any>;

const FIXTURES = resolve(import.meta.dirname, '../../../shared/fixtures/elasticsearch');

export const esFixture = (name: string): EsBody => JSON.parse(readFileSync(resolve(FIXTURES, name), 'utf8')) as EsBody;

/** The error a client call fails with (status and body), or a failure if it succeeds. */
export async function esFailure(p: Promise<unknown>): Promise<{ status: number; body: EsBody }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof errors.ResponseError) return { status: e.meta.statusCode ?? 0, body: e.meta.body as EsBody };
    throw e;
  }
  throw new Error('expected the request to fail');
}
