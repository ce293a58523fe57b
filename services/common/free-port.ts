import { createServer } from 'node:net';

/**
 * A TCP port free on 127.0.0.1 at the time of the call, for a child process that must be told its port before it
 * starts (a port of 0 cannot be passed on). Another process may take it in between; callers start at once.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
