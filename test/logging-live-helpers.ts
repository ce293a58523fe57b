// What the live-log tests through the gateway share: a graphql-ws subscription recorded as it arrives.
import { readFileSync } from 'node:fs';
import type * as k8s from '@kubernetes/client-node';
import type { Client } from 'graphql-ws';
import { composeSupergraph } from '../gateway/compose.js';
import { startGateway, type Gateway } from '../gateway/gateway.js';
import { SCHEMA_PATH as LOGGING_SCHEMA } from '../services/logging/server.js';
import { SCHEMA_PATH as WORKLOADS_SCHEMA } from '../services/workloads/server.js';
import { quietLogger } from './harness/stack.js';

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

/** A Deployment of `replicas` nginx pods labelled app=<name>. */
export const nginxDeployment = (name: string, replicas: number): k8s.V1Deployment => ({
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] },
    },
  },
});

/** The gateway over the workloads and logging subgraphs (the live fields and their `pod` entity). */
export function liveGateway(
  workloadsUrl: string,
  loggingUrl: string,
  options: Partial<Parameters<typeof startGateway>[0]> = {},
): Promise<Gateway> {
  const supergraphSdl = composeSupergraph([
    { name: 'workloads', sdl: readFileSync(WORKLOADS_SCHEMA, 'utf8'), url: workloadsUrl },
    { name: 'logging', sdl: readFileSync(LOGGING_SCHEMA, 'utf8'), url: loggingUrl },
  ]);
  return startGateway({ port: 0, supergraphSdl, logger: quietLogger, readyCacheMs: 0, ...options });
}
