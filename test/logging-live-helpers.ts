// What the live-log tests through the gateway share: a graphql-ws subscription recorded as it arrives.
import type { Client } from 'graphql-ws';

export interface Line {
  timestamp: string;
  message: string;
  podName: string;
  container: string;
  node: string | null;
  pod: { name: string; namespace: string } | null;
}
export interface Result {
  data?: Record<string, { lines: Line[]; resumeToken: string }> | null;
  errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
}

export interface Watcher {
  results: Result[];
  done: boolean;
  lines(container?: string, pod?: string): string[];
  errors(): { message: string; code: unknown }[];
  stop(): void;
}

export function watch(client: Client, query: string, variables: Record<string, unknown>): Watcher {
  const w: Watcher = {
    results: [],
    done: false,
    lines: (container, pod) =>
      w.results.flatMap((r) =>
        Object.values(r.data ?? {}).flatMap((chunk) =>
          chunk.lines
            .filter(
              (l) => (container === undefined || l.container === container) && (pod === undefined || l.podName === pod),
            )
            .map((l) => `${l.timestamp} ${l.message}`),
        ),
      ),
    errors: () =>
      w.results.flatMap((r) => (r.errors ?? []).map((e) => ({ message: e.message, code: e.extensions?.code }))),
    stop: () => {},
  };
  w.stop = client.subscribe<Result['data']>(
    { query, variables },
    {
      next: (r) => void w.results.push(r as Result),
      error: () => (w.done = true),
      complete: () => (w.done = true),
    },
  );
  return w;
}
