// Benchmark child processes: a TypeScript file forked under tsx, ready when it prints its first JSON line on stdout,
// optionally taking IPC commands ({ id, ... } answered by { id, ... } or { id, error }). Shared by the benchmarks.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const HERE = import.meta.dirname;

export interface Child<R> {
  ready: R;
  child: ChildProcess;
  call<C extends { id: number }, P extends { id: number }>(cmd: Omit<C, 'id'>): Promise<P>;
}

export async function startChild<R>(
  file: string,
  env: Record<string, string>,
  execArgv: string[] = [],
): Promise<Child<R>> {
  const child = fork(join(HERE, file), [], {
    execArgv: ['--import', 'tsx', ...execArgv],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`${file} exited (${signal ?? code})`))),
  );
  exited.catch(() => undefined);
  const firstLine = new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${file} not ready after 120 s`)), 120_000);
  });
  const pending = new Map<number, (reply: { id: number; error?: string }) => void>();
  child.on('message', (m: { id: number; error?: string }) => {
    pending.get(m.id)?.(m);
    pending.delete(m.id);
  });
  let nextId = 1;
  const call = <C extends { id: number }, P extends { id: number }>(cmd: Omit<C, 'id'>): Promise<P> =>
    new Promise<P>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (reply) =>
        reply.error ? reject(new Error(`${file}: ${reply.error}`)) : resolve(reply as unknown as P),
      );
      child.send({ ...cmd, id });
    });
  try {
    const ready = JSON.parse(await Promise.race([firstLine, exited, timeout])) as R;
    return { ready, child, call };
  } catch (e) {
    child.kill();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

export async function stopChild(c: Child<unknown> | undefined): Promise<void> {
  if (!c || c.child.exitCode !== null) return;
  const exited = new Promise((resolve) => c.child.once('exit', resolve));
  c.child.disconnect();
  const timer = setTimeout(() => c.child.kill(), 15_000);
  await exited;
  clearTimeout(timer);
}
