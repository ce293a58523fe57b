// The live part of the logging subgraph's resolvers (issue 15 §2), for services/logging/resolvers.ts to merge:
// Subscription.podLogs / workloadLogs and Pod.containerLog. Thin: arguments and the viewer go to the model
// (model/live.ts), which authorizes before any call to the cluster.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Tenancy, Viewer } from '../common/authz.js';
import type { Logger } from '../common/log.js';
import { LiveLogs, type ContainerLogArgs, type PodLogsArgs, type WorkloadLogsArgs } from './model/live.js';
import type { BatchingOptions, LiveLogChunk } from './model/live-subscriber.js';

export type { LiveLogChunk, LiveLogLine } from './model/live-subscriber.js';

export interface LiveLogContext {
  viewer: Viewer;
}

export interface LiveLogResolverDeps {
  kubeConfig: KubeConfig;
  log: Logger;
  /** Namespace ↔ workspace (services/common/tenancy.ts), for workspace roles. */
  tenancy?: Tenancy;
  /** Chunking of live lines (tests); defaults in model/live-subscriber.ts. */
  batching?: Partial<BatchingOptions>;
  /** Live subscriptions one user (platform admins aside) may have open at once (default 100). */
  maxSubscriptionsPerUser?: number;
}

export interface LiveLogResolvers {
  resolvers: {
    Subscription: {
      podLogs: {
        subscribe: (_: unknown, args: PodLogsArgs, ctx: LiveLogContext) => Promise<AsyncIterableIterator<LiveLogChunk>>;
        resolve: (chunk: LiveLogChunk) => LiveLogChunk;
      };
      workloadLogs: {
        subscribe: (
          _: unknown,
          args: WorkloadLogsArgs,
          ctx: LiveLogContext,
        ) => Promise<AsyncIterableIterator<LiveLogChunk>>;
        resolve: (chunk: LiveLogChunk) => LiveLogChunk;
      };
    };
    Pod: {
      containerLog: (
        pod: { namespace: string; name: string },
        args: ContainerLogArgs,
        ctx: LiveLogContext,
      ) => Promise<string>;
    };
  };
  /** The model, for the server's metrics and for tests (open upstream streams, dropping them). */
  live: LiveLogs;
  close(): Promise<void>;
}

export function createLiveLogResolvers(deps: LiveLogResolverDeps): LiveLogResolvers {
  const live = new LiveLogs({
    kubeConfig: deps.kubeConfig,
    log: deps.log,
    tenancy: deps.tenancy,
    batching: deps.batching,
    maxSubscriptionsPerUser: deps.maxSubscriptionsPerUser,
  });
  return {
    resolvers: {
      Subscription: {
        podLogs: {
          subscribe: (_, args, ctx) => live.podLogs(ctx.viewer, args),
          resolve: (chunk) => chunk,
        },
        workloadLogs: {
          subscribe: (_, args, ctx) => live.workloadLogs(ctx.viewer, args),
          resolve: (chunk) => chunk,
        },
      },
      Pod: {
        containerLog: (pod, args, ctx) => live.containerLog(ctx.viewer, pod, args),
      },
    },
    live,
    close: () => live.close(),
  };
}
