// The gateway's /readyz: every subgraph's /readyz answers 200; the answer is reused for cacheMs, and a subgraph is
// logged when it stops being ready (once, until it is ready again).
import type { Logger } from '../services/common/log.js';
import { readyzUrl } from './subgraphs.js';

export interface SubgraphReadinessOptions {
  /** The subgraphs and their URLs (filled in as the gateway builds its data sources). */
  subgraphs: Record<string, string>;
  timeoutMs: number;
  cacheMs: number;
  log: Logger;
}

export function subgraphReadiness(opts: SubgraphReadinessOptions): () => Promise<boolean> {
  let readyAt = 0;
  let readyAnswer: Promise<boolean> | undefined;
  const notReady = new Set<string>();
  const check = async (): Promise<boolean> => {
    const results = await Promise.all(
      Object.entries(opts.subgraphs).map(async ([name, url]) => {
        try {
          const res = await fetch(readyzUrl(url), { signal: AbortSignal.timeout(Math.min(2_000, opts.timeoutMs)) });
          await res.arrayBuffer();
          return [name, res.status === 200] as const;
        } catch {
          return [name, false] as const;
        }
      }),
    );
    for (const [name, ok] of results) {
      if (!ok && !notReady.has(name)) opts.log.warn('subgraph not ready', { subgraph: name });
      if (ok) notReady.delete(name);
      else notReady.add(name);
    }
    return results.length > 0 && results.every(([, ok]) => ok);
  };
  return () => {
    if (!readyAnswer || Date.now() - readyAt > opts.cacheMs) {
      readyAt = Date.now();
      readyAnswer = check();
    }
    return readyAnswer;
  };
}
