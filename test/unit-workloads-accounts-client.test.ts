// The workloads subgraph's accounts client (services/workloads/clients/accounts.ts) with accounts' URL still to come:
// npm start starts workloads before accounts listens. A call waits for the URL; if accounts never starts, a call
// fails as unreachable (UPSTREAM_UNAVAILABLE), never with the address or a hang.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountsClient } from '../services/workloads/clients/accounts.js';

let server: Server;
let origin: string;
const seen: { path: string; auth?: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', auth: req.headers.authorization });
    res.writeHead(req.url === '/internal/workspaces/demo-shop' ? 200 : 404, { 'content-type': 'application/json' });
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('the accounts client with a URL that comes later', () => {
  it('waits for the URL, then calls accounts there with the internal token', async () => {
    let give!: (url: string) => void;
    const client = createAccountsClient({
      url: new Promise<string>((resolve) => (give = resolve)),
      internalToken: 'internal-token',
    });
    const answers = Promise.all([client.workspaceExists('demo-shop'), client.workspaceExists('nope')]);
    expect(seen).toHaveLength(0);
    give(`${origin}/`);
    expect(await answers).toEqual([true, false]);
    expect(seen.map((s) => s.path).sort()).toEqual(['/internal/workspaces/demo-shop', '/internal/workspaces/nope']);
    expect(seen.every((s) => s.auth === 'Bearer internal-token')).toBe(true);
  });

  it('fails as unreachable when accounts never started', async () => {
    const client = createAccountsClient({ url: Promise.reject(new Error('accounts failed to start')) });
    const error = await client.workspaceExists('demo-shop').catch((e: unknown) => e);
    expect(error).toMatchObject({ extensions: { code: 'UPSTREAM_UNAVAILABLE' } });
    expect((error as Error).message).not.toContain('accounts failed to start');
  });
});
