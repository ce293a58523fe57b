// The measured side of the workloads memory benchmark: a preload (`--import`) of the workloads subgraph's process,
// which bench/workloads-memory.bench.ts starts under `--expose-gc` exactly as it is run otherwise: either
// `node --import tsx services/workloads/main.ts` (this file through tsx), or the image's ENTRYPOINT with
// dist/services/workloads/main.js (this file transpiled next to the built dist/). A preload rather than a wrapper that
// imports main: the entry point, and so what Node loads and how, stays the real one. It adds an IPC command that
// reads the memory after a full GC.
//
// Commands ({ id, cmd }): `memory` answers { id, heapUsed, rss, external, arrayBuffers, cpuMs } (bytes after two full
// GCs; the process's CPU time so far, user + system, every thread); `cpu` the same without the GCs (asked as soon as
// /readyz answers 200: the CPU time the start took, steadier than its wall time on a loaded machine); `snapshot`
// (with `path`) writes a V8 heap snapshot there, for finding what holds the memory. The child exits when
// the parent disconnects.
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

export interface MemoryCommand {
  id: number;
  cmd: 'memory' | 'snapshot' | 'cpu';
  /** Where `snapshot` writes. */
  path?: string;
}

export interface MemoryReply {
  id: number;
  heapUsed: number;
  rss: number;
  external: number;
  arrayBuffers: number;
  heapTotal: number;
  /** The process's CPU time so far (user + system, ms). */
  cpuMs: number;
  /** V8's heap spaces: committed (physical) and used bytes of each, for telling where RSS goes. */
  spaces: { name: string; physical: number; used: number }[];
  error?: string;
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

process.on('message', (m: MemoryCommand) => {
  try {
    const cpu = process.cpuUsage();
    // Two full collections: the first may leave what only weak callbacks or finalizers released.
    if (m.cmd !== 'cpu') {
      gc();
      gc();
    }
    const u = process.memoryUsage();
    const reply: MemoryReply = {
      id: m.id,
      heapUsed: u.heapUsed,
      rss: u.rss,
      external: u.external,
      arrayBuffers: u.arrayBuffers,
      heapTotal: u.heapTotal,
      cpuMs: (cpu.user + cpu.system) / 1000,
      spaces: getHeapSpaceStatistics().map((x) => ({
        name: x.space_name,
        physical: x.physical_space_size,
        used: x.space_used_size,
      })),
    };
    // Read before the snapshot, which allocates.
    if (m.cmd === 'snapshot') writeHeapSnapshot(m.path ?? `workloads-${process.pid}.heapsnapshot`);
    process.send?.(reply);
  } catch (e) {
    process.send?.({ id: m.id, error: String(e) });
  }
});
process.on('disconnect', () => process.exit(0));
