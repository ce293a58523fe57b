// The Elasticsearch stand-in for a test file, on a free loopback port.
//
// startTestEs(): Promise<{ url: string; close(): Promise<void>; cluster: Cluster }>
//   url      http://127.0.0.1:<port>, for @elastic/elasticsearch's `node` or fetch
//   cluster  the stand-in's in-memory state (indices, documents), for assertions
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
