// Back-pressure for code that writes a large answer in pieces (the sandbox's lists, the log export): wait for the
// client to read rather than hold the whole answer in memory.
import type { Writable } from 'node:stream';

/** Resolves once `out` may take more ('drain') or has closed (the client went away). */
export function drained(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.once('drain', done);
    out.once('close', done);
  });
}
