// The subgraphs the gateway routes to: their names (= schema/<name>.graphql), default URLs (the ports of
// DESIGN.md) and the environment variables that override those URLs.
import { join, resolve } from 'node:path';
import { ConfigError, envString } from '../services/common/config.js';

// Here rather than in compose.ts: what only needs the supergraph's path need not load composition.
export const SCHEMA_DIR = resolve(import.meta.dirname, '../schema');
export const SUPERGRAPH_FILE = 'supergraph.graphql';
export const SUPERGRAPH_PATH = join(SCHEMA_DIR, SUPERGRAPH_FILE);

export interface SubgraphDefault {
  url: string;
  env: string;
}

export const SUBGRAPHS: Record<string, SubgraphDefault> = {
  accounts: { url: 'http://127.0.0.1:4001/graphql', env: 'ACCOUNTS_URL' },
  workloads: { url: 'http://127.0.0.1:4002/graphql', env: 'WORKLOADS_URL' },
  monitoring: { url: 'http://127.0.0.1:4003/graphql', env: 'MONITORING_URL' },
  logging: { url: 'http://127.0.0.1:4004/graphql', env: 'LOGGING_URL' },
  apps: { url: 'http://127.0.0.1:4005/graphql', env: 'APPS_URL' },
};

/** The routing URL written into the supergraph for a subgraph; a subgraph not in the map is an error. */
export function defaultSubgraphUrl(name: string): string {
  const s = SUBGRAPHS[name];
  if (!s) throw new Error(`no default URL for subgraph "${name}": add it to SUBGRAPHS in gateway/subgraphs.ts`);
  return s.url;
}

export function validateUrl(variable: string, raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`${variable}=${JSON.stringify(raw)} is not a valid value: expected an http(s) URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ConfigError(`${variable}=${JSON.stringify(raw)} is not a valid value: expected an http(s) URL`);
  }
  return u.toString();
}

/** Subgraph URLs set in the environment (WORKLOADS_URL, ...), validated; unset ones are left out. */
export function subgraphUrlsFromEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, { env }] of Object.entries(SUBGRAPHS)) {
    const v = envString(env);
    if (v !== undefined) out[name] = validateUrl(env, v);
  }
  return out;
}

/** The /readyz URL next to a subgraph's GraphQL URL. */
export function readyzUrl(graphqlUrl: string): string {
  return new URL('/readyz', graphqlUrl).toString();
}
