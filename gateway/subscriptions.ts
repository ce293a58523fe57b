// Subscriptions executed by the gateway itself (DESIGN.md "Live data"). @apollo/gateway plans subscriptions but will
// not run them; here, for each client subscription:
//  - the query planner gives a Subscription node: `primary` (a fetch to the subgraph that owns the root field) and
//    `rest` (entity fetches to other subgraphs);
//  - the primary fetch is opened over graphql-ws against its subgraph, shared by every client whose upstream
//    operation, variables and identity are the same (one upstream subscription, closed with its last client);
//  - each upstream event goes through `rest` with @apollo/gateway's own executeQueryPlan and data sources (so entity
//    fetches are batched exactly as for queries); clients with the same operation share that work, and identical
//    entity fetches of one event are made once across operations;
//  - a dropped upstream is reopened with back-off from the last resumeToken it delivered, so clients see no gap and
//    no duplicate; an entity fetch that fails becomes an error on that event only.
import { createHash } from 'node:crypto';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { executeQueryPlan, type GraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { QueryPlanner, type PlanNode } from '@apollo/query-planner';
import {
  GraphQLError,
  getOperationAST,
  print,
  type DocumentNode,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { asyncQueue } from '../services/common/async-queue.js';
import type { Viewer } from '../services/common/authz.js';
import { ErrorCode } from '../services/common/errors.js';
import type { Logger } from '../services/common/log.js';
import type { GatewayContext } from './datasource.js';
import { prepareUpstream, resumeTokenOf, type PlannedSubscription } from './subscription-plan.js';
import { SharedExecution, Upstream, type ClientStream } from './upstream.js';

const tracer = trace.getTracer('kubegraph-gateway-subscriptions');

/** The pseudo-service that hands an upstream event to executeQueryPlan as the primary fetch's response. */
const EVENT_SERVICE = '__kubegraph_subscription_event';

export interface SubscriptionObserver {
  upstreamOpened?(service: string): void;
  upstreamClosed?(service: string): void;
  upstreamReconnect?(service: string): void;
  eventIn?(service: string): void;
  eventsOut?(n: number): void;
  enrichment?(seconds: number): void;
  clientCutOff?(): void;
}

export interface SubscriptionExecutorOptions {
  supergraphSdl: string;
  /** The gateway's data sources by subgraph name (the same instances queries use). */
  dataSources: () => Record<string, GraphQLDataSource<Record<string, unknown>>>;
  /** HTTP GraphQL URLs by subgraph name; graphql-ws is served on the same path. */
  subgraphUrls: () => Record<string, string>;
  log: Logger;
  observe?: SubscriptionObserver;
  /** Results a client may have waiting before it is cut off. */
  maxQueue?: number;
  /** Reconnect back-off (ms): from `min`, doubling up to `max`. */
  backoff?: { min: number; max: number };
  /** Pings to subgraphs (ms). */
  keepAliveMs?: number;
  /** Signs the identity sent with each upstream subscribe (unset: none is sent). */
  signIdentity?: (identity: SubscriptionIdentity) => Promise<string>;
  /**
   * The caller's current identity and roles, asked again at every (re)subscribe: subgraphs end a subscription when
   * the identity it was opened with expires, so a changed role applies within one identity lifetime. Throws an
   * UNAUTHENTICATED GraphQLError when the caller may no longer act (disabled, deleted).
   */
  refreshIdentity?: (identity: SubscriptionIdentity) => Promise<SubscriptionIdentity>;
}

/** Who a subscription runs as (with its roles): part of the sharing key, and forwarded to the subgraph signed. */
export type SubscriptionIdentity = Viewer;

export interface ClientSubscription {
  document: DocumentNode;
  operationName?: string | null;
  variables: Record<string, unknown>;
  identity: SubscriptionIdentity;
  context: GatewayContext;
  /** Called when the client falls further behind than maxQueue (the caller closes its connection). */
  onCutOff: () => void;
  /**
   * Where the client's results go as they come (its connection, gateway/ws-server.ts), instead of a queue read
   * through the returned iterator, which then only ends (after the last result, or with an error).
   */
  sink?: ResultSink;
}

/** A client's connection as its subscription writes to it. */
export interface ResultSink {
  /** Queues a result for the client (the same object for every client of one execution: serialize it once). */
  write(result: ExecutionResult): void;
  /** Results written and still waiting for the client's socket. */
  waiting(): number;
}

/**
 * A client stream whose results go to a sink, with the bounded queue's contract (services/common/async-queue.ts): a
 * push finding maxPending results waiting in the sink ends the stream (onOverflow); its reader sees only the end.
 */
function sinkStream(
  sink: ResultSink,
  opts: { maxPending: number; onOverflow: () => void; onEnd: () => void },
): ClientStream {
  let ended = false;
  let failure: Error | undefined;
  const waiters: (() => void)[] = [];
  const done = (): IteratorResult<ExecutionResult> => ({ value: undefined, done: true });
  const stream: ClientStream = {
    get ended() {
      return ended;
    },
    push(result) {
      if (ended) return false;
      if (sink.waiting() >= opts.maxPending) {
        opts.onOverflow();
        stream.end();
        return false;
      }
      sink.write(result);
      return true;
    },
    end(error) {
      if (ended) return;
      ended = true;
      failure = error;
      for (const w of waiters.splice(0)) w();
      opts.onEnd();
    },
    async next() {
      if (!ended) await new Promise<void>((resolve) => waiters.push(resolve));
      const f = failure;
      failure = undefined;
      if (f) throw f;
      return done();
    },
    async return() {
      failure = undefined;
      stream.end();
      return done();
    },
    [Symbol.asyncIterator]() {
      return stream;
    },
  };
  return stream;
}

const stableJson = (v: unknown): string =>
  JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(
          Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : val,
  );
/**
 * What a client's events may depend on besides its operation and variables: clients share an upstream and an execution
 * (each event executed and serialized once for all of them) only when all of this is equal.
 *  - the user: the upstream runs under one signed identity, subgraphs may resolve fields from it (a viewer's own
 *    objects, audit), and its renewals refresh that user's roles: a stream is never shared between two users, even with
 *    the same roles;
 *  - the roles as the connection last verified them (platform, workspace and project roles) and the namespace uids the
 *    project roles were granted on: two connections of one user before and after a role change (another bindings
 *    revision) differ here, so neither sees what only the other may see;
 *  - not the limits: depth, cost and size limits are the gateway's, checked for each subscribe before it joins.
 */
export function authorizationScope(identity: SubscriptionIdentity): unknown[] {
  return [
    identity.username,
    identity.platformRole,
    identity.workspaceRoles ?? {},
    identity.projectRoles ?? {},
    identity.projectUids ?? {},
  ];
}
const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 32);

/** What the executor plans and validates with, built from the supergraph's SDL. */
interface Schemas {
  planner: QueryPlanner;
  apiSchema: GraphQLSchema;
  supergraphSchema: GraphQLSchema;
  fedApiSchema: ReturnType<Supergraph['apiSchema']>;
}

export class SubscriptionExecutor {
  /**
   * Built at the first subscription (or operation over graphql-ws), not at start: Apollo's gateway builds its own
   * from the same SDL at start, and a second one there cost about 1 s of CPU before the first answer (issue 19 §4).
   */
  private built?: Schemas;
  private readonly plans = new Map<string, PlannedSubscription>();
  private readonly upstreams = new Map<string, Upstream>();
  /** Numbers the upstreams of clients resuming from a token (never shared: see subscribe). */
  private resumedUpstreams = 0;
  private readonly clients = new Map<string, Client>();
  readonly log: Logger;
  readonly observe?: SubscriptionObserver;
  readonly backoff: { min: number; max: number };
  readonly signIdentity?: (identity: SubscriptionIdentity) => Promise<string>;
  readonly refreshIdentity?: (identity: SubscriptionIdentity) => Promise<SubscriptionIdentity>;
  private readonly maxQueue: number;

  constructor(private readonly opts: SubscriptionExecutorOptions) {
    this.log = opts.log;
    this.observe = opts.observe;
    this.backoff = opts.backoff ?? { min: 200, max: 10_000 };
    this.maxQueue = opts.maxQueue ?? 1000;
    this.signIdentity = opts.signIdentity;
    this.refreshIdentity = opts.refreshIdentity;
  }

  private get schemas(): Schemas {
    if (this.built) return this.built;
    const supergraph = Supergraph.build(this.opts.supergraphSdl);
    const fedApiSchema = supergraph.apiSchema();
    return (this.built = {
      fedApiSchema,
      apiSchema: fedApiSchema.toGraphQLJSSchema(),
      supergraphSchema: supergraph.schema.toGraphQLJSSchema(),
      planner: new QueryPlanner(supergraph),
    });
  }

  get apiSchema(): GraphQLSchema {
    return this.schemas.apiSchema;
  }

  private get planner(): QueryPlanner {
    return this.schemas.planner;
  }

  private get supergraphSchema(): GraphQLSchema {
    return this.schemas.supergraphSchema;
  }

  private get fedApiSchema(): ReturnType<Supergraph['apiSchema']> {
    return this.schemas.fedApiSchema;
  }

  /** Upstream subscriptions open, and client subscriptions on them. */
  stats(): { upstreams: number; clients: number } {
    let clients = 0;
    for (const u of this.upstreams.values()) clients += u.clientCount;
    return { upstreams: this.upstreams.size, clients };
  }

  /** The graphql-ws client of a subgraph: one connection per subgraph, multiplexing every upstream subscription. */
  clientFor(service: string): Client {
    let c = this.clients.get(service);
    if (c) return c;
    const url = this.opts.subgraphUrls()[service];
    if (!url) throw new Error(`no URL for subgraph ${service}`);
    c = createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: true,
      // Reconnection is the upstreams' own (with their resume tokens): a drop reaches each of them as an error.
      retryAttempts: 0,
      keepAlive: this.opts.keepAliveMs ?? 10_000,
      lazyCloseTimeout: 1_000,
    });
    this.clients.set(service, c);
    return c;
  }

  /** Plans (cached) a client's subscription operation; throws GraphQLErrors a client can read. */
  plan(document: DocumentNode, operationName: string | undefined, text = print(document)): PlannedSubscription {
    const key = hash(`${operationName ?? ''}\n${text}`);
    const cached = this.plans.get(key);
    if (cached) return cached;
    const operation = getOperationAST(document, operationName);
    if (!operation || operation.operation !== 'subscription')
      throw new GraphQLError('not a subscription operation', { extensions: { code: ErrorCode.BAD_USER_INPUT } });
    const plan = this.planner.buildQueryPlan(
      operationFromDocument(this.fedApiSchema, document, { operationName: operationName ?? undefined }),
    );
    const node = plan.node;
    if (!node || node.kind !== 'Subscription')
      throw new GraphQLError('the query planner gave no subscription plan for this operation');
    const planned = prepareUpstream(this.supergraphSchema, operation, node.primary, node.rest);
    if (this.plans.size > 1000) this.plans.delete(this.plans.keys().next().value as string);
    this.plans.set(key, planned);
    return planned;
  }

  /**
   * Starts a client's subscription: joins (or opens) the upstream and the shared execution it belongs to. The
   * returned iterator yields the client's results; its return() leaves (the last client closes the upstream).
   */
  subscribe(client: ClientSubscription): AsyncIterableIterator<ExecutionResult> {
    const operationName = client.operationName ?? undefined;
    const text = print(client.document);
    const planned = this.plan(client.document, operationName, text);
    const primary = planned.primary;
    const upstreamVariables: Record<string, unknown> = {};
    for (const name of primary.variableUsages ?? []) {
      if (client.variables[name] !== undefined && !(planned.resumable && name === planned.resumeVariable))
        upstreamVariables[name] = client.variables[name];
    }
    const initialToken = planned.resumable ? resumeTokenOf(planned, client.variables) : undefined;
    // A client resuming from a token replays history of its own, never joining an upstream that has already replayed
    // part of it (two clients listing at the same moment get the same token); clients starting live share one.
    const identityKey = authorizationScope(client.identity);
    const upstreamKey = hash(
      stableJson([
        primary.serviceName,
        planned.upstreamQuery,
        upstreamVariables,
        identityKey,
        initialToken === undefined ? null : [initialToken, ++this.resumedUpstreams],
      ]),
    );
    let upstream = this.upstreams.get(upstreamKey);
    const isNew = !upstream;
    if (!upstream) {
      upstream = new Upstream(
        upstreamKey,
        primary.serviceName,
        planned,
        upstreamVariables,
        initialToken,
        client.identity,
        this,
      );
      this.upstreams.set(upstreamKey, upstream);
    }
    const executionKey = hash(stableJson([text, operationName ?? null, client.variables, identityKey]));
    let execution = upstream.executions.get(executionKey);
    if (!execution) {
      execution = new SharedExecution(
        planned,
        client.document,
        text,
        operationName,
        client.variables,
        client.context,
        this.apiSchema,
      );
      upstream.executions.set(executionKey, execution);
    }
    const u = upstream;
    const e = execution;
    const queueOptions = {
      maxPending: this.maxQueue,
      // The client stopped reading: cut it off rather than grow without bound.
      onOverflow: () => {
        this.observe?.clientCutOff?.();
        client.onCutOff();
      },
      onEnd: () => {
        e.clients.delete(stream);
        if (e.clients.size === 0) u.executions.delete(executionKey);
        if (u.executions.size === 0) u.close();
      },
    };
    const stream: ClientStream = client.sink
      ? sinkStream(client.sink, queueOptions)
      : asyncQueue<ExecutionResult>(queueOptions);
    execution.clients.add(stream);
    if (isNew) {
      this.observe?.upstreamOpened?.(primary.serviceName);
      upstream.open();
    }
    return stream;
  }

  upstreamClosed(u: Upstream): void {
    if (this.upstreams.get(u.key) === u) {
      this.upstreams.delete(u.key);
      this.observe?.upstreamClosed?.(u.service);
    }
  }

  /** One upstream event through the rest of the plan, shaped for one operation. */
  async enrich(
    execution: SharedExecution,
    event: FormattedExecutionResult<Record<string, unknown>, unknown>,
    fetches: Map<string, Promise<unknown>>,
  ): Promise<ExecutionResult> {
    const { planned } = execution;
    const eventSource: GraphQLDataSource<Record<string, unknown>> = {
      process: async () => ({
        data: structuredClone(event.data ?? null) as Record<string, unknown>,
        errors: event.errors as never,
      }),
    };
    const sources = this.opts.dataSources();
    const serviceMap: Record<string, GraphQLDataSource<Record<string, unknown>>> = { [EVENT_SERVICE]: eventSource };
    for (const [name, source] of Object.entries(sources)) {
      serviceMap[name] = {
        process: async (options: GraphQLDataSourceProcessOptions<Record<string, unknown>>) => {
          const key = stableJson([name, options.request.query, options.request.variables]);
          let pending = fetches.get(key);
          if (!pending) fetches.set(key, (pending = source.process(options)));
          // Each execution merges into its own copy.
          return structuredClone(await pending) as Awaited<ReturnType<GraphQLDataSource['process']>>;
        },
      };
    }
    const node: PlanNode = planned.rest
      ? { kind: 'Sequence', nodes: [{ ...planned.primary, serviceName: EVENT_SERVICE }, planned.rest] }
      : { ...planned.primary, serviceName: EVENT_SERVICE };
    const requestContext = {
      request: { query: execution.query, operationName: execution.operationName, variables: execution.variables },
      context: execution.context,
      logger: this.log,
      metrics: {},
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- executeQueryPlan takes Apollo's full request context; it reads only the fields given here
    } as any;
    // With tracing on (services/common/tracing.ts), one span per event and shared execution, its own trace's root,
    // so that the event's entity fetches nest under it: named after the operation, with the document's hash, never
    // its variables.
    const operationName = execution.operationName ?? planned.operation.name?.value;
    return tracer.startActiveSpan(
      `graphql subscription event${operationName ? ` ${operationName}` : ''}`,
      {
        root: true,
        attributes: {
          'graphql.operation.type': 'subscription',
          'graphql.operation.name': operationName ?? '',
          'graphql.document.hash': createHash('sha256').update(execution.query).digest('hex'),
          'kubegraph.subscription.clients': execution.clients.size,
        },
      },
      async (span) => {
        try {
          const result = (await executeQueryPlan(
            { kind: 'QueryPlan', node },
            serviceMap,
            requestContext,
            execution.operationContext,
            this.supergraphSchema,
            this.fedApiSchema,
          )) as ExecutionResult;
          if (result.errors?.length) span.setStatus({ code: SpanStatusCode.ERROR });
          return result;
        } finally {
          span.end();
        }
      },
    );
  }

  async close(): Promise<void> {
    for (const u of [...this.upstreams.values()]) u.close();
    await Promise.all([...this.clients.values()].map((c) => c.dispose()));
    this.clients.clear();
  }
}
