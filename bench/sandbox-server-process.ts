// The benchmark's side of bench/sandbox-server.ts: forks it (with a V8 CPU profile when BENCH_SERVER_PROFILE=<dir>),
// reads its Ready line, and sends it commands over IPC, each answered by the reply with the same id.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command, Ready, Reply } from './sandbox-server.js';

const HERE = import.meta.dirname;

export interface ServerProcess {
  ready: Ready;
  call<C extends Command['cmd']>(
    cmd: C,
    args?: Omit<Extract<Command, { cmd: C }>, 'cmd' | 'id'>,
  ): Promise<Extract<Reply, { cmd: C }>>;
  child: ChildProcess;
}

export async function startServerProcess(): Promise<ServerProcess> {
  const child = fork(join(HERE, 'sandbox-server.ts'), [], {
    execArgv: [
      '--import',
      'tsx',
      ...(process.env.BENCH_SERVER_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SERVER_PROFILE}`] : []),
    ],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  child.on('message', (r: Reply) => {
    const p = pending.get(r.id);
    pending.delete(r.id);
    if (!p) return;
    if ('error' in r) p.reject(new Error(`server process: ${r.error}`));
    else p.resolve(r);
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`server process exited (${signal ?? code})`))),
  );
  exited.catch(() => {
    for (const p of pending.values()) p.reject(new Error('server process exited'));
    pending.clear();
  });
  const firstLine = new Promise<string>((resolve) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
  });
  const ready = JSON.parse(await Promise.race([firstLine, exited])) as Ready;
  return {
    ready,
    child,
    call(cmd, args) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (r: Reply) => void, reject });
        child.send({ ...args, cmd, id });
      });
    },
  };
}
