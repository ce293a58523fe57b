// The accounts subgraph for tests: on the real PostgreSQL (a schema of its own, dropped afterwards) or on PGlite,
// with callers identified by their own bearer tokens (what the gateway will do for them later).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { bearerIdentity } from '../../services/accounts/context.js';
import {
  startAccountsSubgraph,
  type AccountsSubgraph,
  type AccountsSubgraphOptions,
} from '../../services/accounts/server.js';
import { gql, type GraphQLResult } from './graphql.js';
import type { Logger } from '../../services/common/log.js';

export const quietLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const ADMIN_PASSWORD = 'admin-password-1';

export type Backend = 'postgres' | 'pglite';

export interface TestAccounts {
  sub: AccountsSubgraph;
  schema?: string;
  /** GraphQL to the accounts subgraph, as the holder of `token` (none: anonymous). */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<GraphQLResult<T>>;
  /** Logs in and returns the access token (fails on errors). */
  login(username: string, password: string): Promise<{ accessToken: string; refreshToken: string }>;
  close(): Promise<void>;
}

export const newSchemaName = (prefix: string) => `${prefix}_${randomBytes(5).toString('hex')}`;

export async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}

export async function startTestAccounts(
  backend: Backend,
  opts: Partial<AccountsSubgraphOptions> = {},
): Promise<TestAccounts> {
  const schema = backend === 'postgres' && !opts.db ? (opts.dbSchema ?? newSchemaName('accounts_test')) : undefined;
  const sub = await startAccountsSubgraph({
    port: 0,
    log: quietLogger,
    adminPassword: ADMIN_PASSWORD,
    identity: (m) => bearerIdentity(m),
    ...(backend === 'postgres' ? { databaseUrl: TEST_DATABASE_URL, dbSchema: schema } : {}),
    ...opts,
    // Cheap hashes: tests create many users.
    settings: { scryptLogN: 10, ...opts.settings },
  });
  const call = <T>(query: string, variables: Record<string, unknown> = {}, token?: string) =>
    gql<T>(sub.url, query, variables, token ? { authorization: `Bearer ${token}` } : {});
  return {
    sub,
    schema,
    gql: call,
    async login(username, password) {
      const r = await call<{ login: { accessToken: string; refreshToken: string } }>(
        `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken refreshToken } }`,
        { u: username, p: password },
      );
      if (!r.data?.login) throw new Error(`login of ${username} failed: ${JSON.stringify(r.errors)}`);
      return r.data.login;
    },
    async close() {
      await sub.close();
      if (schema && !opts.dbSchema) await dropSchema(schema);
    },
  };
}
