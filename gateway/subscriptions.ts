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
import {
  executeQueryPlan,
  buildOperationContext,
  type GraphQLDataSource,
  type GraphQLDataSourceProcessOptions,
} from '@apollo/gateway';
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { QueryPlanner, type FetchNode, type PlanNode } from '@apollo/query-planner';
import {
  GraphQLError,
  Kind,
  getNamedType,
  getOperationAST,
  isObjectType,
  parse,
  print,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type FormattedExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { ErrorCode } from '../services/common/errors.js';
import { compareResourceVersions } from '../services/common/k8s/resource-version.js';
import type { Viewer } from '../services/common/authz.js';
import type { Logger } from '../services/common/log.js';
import type { GatewayContext } from './datasource.js';

/** The argument and field a resumable subscription field has (see schema/workloads.graphql, Subscription). */
const RESUME_ARG = 'resumeToken';
const RESUME_VAR = '__kgResumeToken';
const TOKEN_ALIAS = '__kgResumeToken';
/** The pseudo-service that hands an upstream event to executeQueryPlan as the primary fetch's response. */
const EVENT_SERVICE = '__kubegraph_subscription_event';

/** Codes of upstream errors that end a subscription for good (the request itself is wrong or not allowed). */
const FINAL_CODES = new Set([
  ErrorCode.BAD_USER_INPUT,
  ErrorCode.FORBIDDEN,
  ErrorCode.UNAUTHENTICATED,
  ErrorCode.NOT_FOUND,
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
]);

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

/** An upstream that completes after living this long (ms) is being renewed (its identity expired), not failing. */
const RENEWAL_MIN_LIFETIME_MS = 5_000;

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
}

interface PlannedSubscription {
  operation: OperationDefinitionNode;
  primary: FetchNode;
  rest?: PlanNode;
  /** The upstream operation: the primary fetch with the resume argument and token field added when resumable. */
  upstreamQuery: string;
  rootField: string;
  resumable: boolean;
  /** The upstream variable carrying the resume token (the client's own, when it passed one as a variable). */
  resumeVariable: string;
}

const stableJson = (v: unknown): string =>
  JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(
          Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : val,
  );
const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 32);

/** Compares resume tokens (resourceVersions): numerically when both are integers; any other different token is later. */
function tokenAfter(a: string, b: string): boolean {
  const c = compareResourceVersions(a, b);
  return c === undefined ? a !== b : c > 0;
}

/** A bounded queue read as an async iterator: what one client receives. */
class ClientStream implements AsyncIterableIterator<ExecutionResult> {
  private readonly queue: ExecutionResult[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  onReturn: (() => void) | undefined;

  constructor(
    private readonly maxQueue: number,
    private readonly onOverflow: () => void,
  ) {}

  push(r: ExecutionResult): boolean {
    if (this.ended) return false;
    if (this.queue.length >= this.maxQueue) {
      // The client stopped reading: cut it off rather than grow without bound.
      this.end();
      this.onOverflow();
      return false;
    }
    this.queue.push(r);
    this.wake?.();
    return true;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.wake?.();
    this.onReturn?.();
  }

  async next(): Promise<IteratorResult<ExecutionResult>> {
    for (;;) {
      const r = this.queue.shift();
      if (r) return { value: r, done: false };
      if (this.ended) return { value: undefined, done: true };
      await new Promise<void>((res) => (this.wake = res));
      this.wake = undefined;
    }
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    this.queue.length = 0;
    this.end();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** Clients with the same operation, variables and identity on one upstream: the per-event work is done once. */
class SharedExecution {
  readonly clients = new Set<ClientStream>();
  readonly operationContext: ReturnType<typeof buildOperationContext>;
  constructor(
    readonly planned: PlannedSubscription,
    document: DocumentNode,
    /** The client's query text (executeQueryPlan's request context carries it). */
    readonly query: string,
    readonly operationName: string | undefined,
    readonly variables: Record<string, unknown>,
    readonly context: GatewayContext,
    apiSchema: GraphQLSchema,
  ) {
    this.operationContext = buildOperationContext({ schema: apiSchema, operationDocument: document, operationName });
  }
}

type UpstreamState = 'connecting' | 'open' | 'retrying' | 'closed';

/** One subscription to a subgraph, shared by every client whose upstream operation is the same. */
class Upstream {
  readonly executions = new Map<string, SharedExecution>();
  private lastToken: string | undefined;
  private state: UpstreamState = 'connecting';
  private unsubscribe: (() => void) | undefined;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Upstream events are enriched one after another, so clients get them in order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly key: string,
    readonly service: string,
    readonly planned: PlannedSubscription,
    private readonly upstreamVariables: Record<string, unknown>,
    initialToken: string | undefined,
    private identity: SubscriptionIdentity,
    private readonly exec: SubscriptionExecutor,
  ) {
    this.lastToken = initialToken;
  }

  get clientCount(): number {
    let n = 0;
    for (const e of this.executions.values()) n += e.clients.size;
    return n;
  }

  open(): void {
    void this.start();
  }

  private async start(): Promise<void> {
    if (!this.exec.signIdentity) return this.subscribe(undefined);
    try {
      // The caller's roles as they are now, and a fresh signature: the subgraph checks both when it starts.
      if (this.exec.refreshIdentity) this.identity = await this.exec.refreshIdentity(this.identity);
      this.subscribe({ identity: await this.exec.signIdentity(this.identity) });
    } catch (e) {
      const code = e instanceof GraphQLError ? e.extensions.code : undefined;
      if (code === ErrorCode.UNAUTHENTICATED)
        this.fail([{ message: e instanceof Error ? e.message : String(e), extensions: { code } }]);
      else this.dropped(e);
    }
  }

  private subscribe(extensions: Record<string, unknown> | undefined): void {
    if (this.state === 'closed') return;
    const client = this.exec.clientFor(this.service);
    const variables = { ...this.upstreamVariables };
    if (this.planned.resumable) variables[this.planned.resumeVariable] = this.lastToken ?? null;
    let receivedAny = false;
    const subscribedAt = Date.now();
    this.unsubscribe = client.subscribe<Record<string, unknown>>(
      { query: this.planned.upstreamQuery, variables, ...(extensions ? { extensions } : {}) },
      {
        next: (result) => {
          if (this.state === 'closed') return;
          if (this.state !== 'open') {
            this.state = 'open';
            this.attempt = 0;
          }
          const data = result.data?.[this.planned.rootField] as Record<string, unknown> | null | undefined;
          if (!data) {
            // An error instead of an event: the request is wrong (final) or the subgraph cannot serve it now (retry).
            const codes = (result.errors ?? []).map((e) => String(e.extensions?.code ?? ''));
            if (!receivedAny && codes.some((c) => FINAL_CODES.has(c))) this.fail(result.errors ?? []);
            return;
          }
          receivedAny = true;
          const token = data[TOKEN_ALIAS];
          if (typeof token === 'string') {
            // After a resume, the subgraph starts right after lastToken; anything older is a duplicate.
            if (this.lastToken !== undefined && !tokenAfter(token, this.lastToken) && token !== this.lastToken) return;
            this.lastToken = token;
          }
          this.exec.observe?.eventIn?.(this.service);
          this.enqueue(result);
        },
        // An `error` message (an array of GraphQL errors) means the subgraph refused the operation: final. Anything
        // else (a closed or failed connection) is a drop.
        error: (err) =>
          Array.isArray(err)
            ? this.fail(err as { message: string; extensions?: Record<string, unknown> }[])
            : this.dropped(err),
        // A completion after a while is the subgraph ending it as its identity expired: renew at once.
        complete: () => (Date.now() - subscribedAt >= RENEWAL_MIN_LIFETIME_MS ? this.renew() : this.dropped(undefined)),
      },
    );
  }

  private renew(): void {
    if (this.state === 'closed') return;
    this.unsubscribe = undefined;
    this.attempt = 0;
    this.state = 'retrying';
    this.exec.log.debug('upstream subscription renewed', {
      service: this.service,
      resumeToken: this.lastToken ?? null,
    });
    this.open();
  }

  private dropped(err: unknown): void {
    if (this.state === 'closed') return;
    this.unsubscribe = undefined;
    this.state = 'retrying';
    this.attempt++;
    const { min, max } = this.exec.backoff;
    const delay = Math.min(max, min * 2 ** Math.min(this.attempt - 1, 16)) * (0.75 + Math.random() * 0.5);
    this.exec.observe?.upstreamReconnect?.(this.service);
    this.exec.log.warn('upstream subscription dropped; resubscribing', {
      service: this.service,
      attempt: this.attempt,
      delayMs: Math.round(delay),
      resumeToken: this.lastToken ?? null,
      error: describe(err),
    });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.state === 'retrying') this.open();
    }, delay);
  }

  /** A final upstream error: every client gets it and ends. */
  private fail(errors: readonly { message: string; extensions?: Record<string, unknown> }[]): void {
    const result: ExecutionResult = {
      errors: errors.map((e) => new GraphQLError(e.message, { extensions: e.extensions })),
    };
    for (const execution of this.executions.values()) {
      for (const c of execution.clients) {
        c.push(result);
        c.end();
      }
    }
    this.close();
  }

  private enqueue(result: FormattedExecutionResult<Record<string, unknown>, unknown>): void {
    this.chain = this.chain
      .then(() => this.deliver(result))
      .catch((e: unknown) =>
        this.exec.log.error('subscription event delivery failed', { service: this.service, error: describe(e) }),
      );
  }

  private async deliver(event: FormattedExecutionResult<Record<string, unknown>, unknown>): Promise<void> {
    const started = process.hrtime.bigint();
    // Identical entity fetches of this event are made once, whatever the number of distinct client operations.
    const fetches = new Map<string, Promise<unknown>>();
    const executions = [...this.executions.values()].filter((e) => e.clients.size > 0);
    const results = await Promise.all(executions.map((e) => this.exec.enrich(e, event, fetches)));
    this.exec.observe?.enrichment?.(Number(process.hrtime.bigint() - started) / 1e9);
    let out = 0;
    executions.forEach((execution, i) => {
      for (const c of execution.clients) if (c.push(results[i])) out++;
    });
    this.exec.observe?.eventsOut?.(out);
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.unsubscribe?.();
    this.exec.upstreamClosed(this);
  }
}

export class SubscriptionExecutor {
  private readonly supergraph: Supergraph;
  private readonly planner: QueryPlanner;
  readonly apiSchema: GraphQLSchema;
  private readonly supergraphSchema: GraphQLSchema;
  private readonly fedApiSchema: ReturnType<Supergraph['apiSchema']>;
  private readonly plans = new Map<string, PlannedSubscription>();
  private readonly upstreams = new Map<string, Upstream>();
  private readonly clients = new Map<string, Client>();
  readonly log: Logger;
  readonly observe?: SubscriptionObserver;
  readonly backoff: { min: number; max: number };
  readonly signIdentity?: (identity: SubscriptionIdentity) => Promise<string>;
  readonly refreshIdentity?: (identity: SubscriptionIdentity) => Promise<SubscriptionIdentity>;
  private readonly maxQueue: number;

  constructor(private readonly opts: SubscriptionExecutorOptions) {
    this.supergraph = Supergraph.build(opts.supergraphSdl);
    this.fedApiSchema = this.supergraph.apiSchema();
    this.apiSchema = this.fedApiSchema.toGraphQLJSSchema();
    this.supergraphSchema = this.supergraph.schema.toGraphQLJSSchema();
    this.planner = new QueryPlanner(this.supergraph);
    this.log = opts.log;
    this.observe = opts.observe;
    this.backoff = opts.backoff ?? { min: 200, max: 10_000 };
    this.maxQueue = opts.maxQueue ?? 1000;
    this.signIdentity = opts.signIdentity;
    this.refreshIdentity = opts.refreshIdentity;
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
    const planned = this.prepareUpstream(operation, node.primary, node.rest);
    if (this.plans.size > 1000) this.plans.delete(this.plans.keys().next().value as string);
    this.plans.set(key, planned);
    return planned;
  }

  /** The primary fetch as sent upstream: with `resumeToken: $__kgResumeToken` and the token selected, when resumable. */
  private prepareUpstream(
    operation: OperationDefinitionNode,
    primary: FetchNode,
    rest: PlanNode | undefined,
  ): PlannedSubscription {
    const doc = primary.operationDocumentNode ?? parse(primary.operation);
    const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
    const root = op.selectionSet.selections.find((s): s is FieldNode => s.kind === Kind.FIELD)!;
    const field = this.supergraphSchema.getSubscriptionType()?.getFields()[root.name.value];
    const returnType = field ? getNamedType(field.type) : undefined;
    const resumable = Boolean(
      field?.args.some((a) => a.name === RESUME_ARG) &&
      returnType &&
      isObjectType(returnType) &&
      returnType.getFields()[RESUME_ARG],
    );
    let upstreamQuery = primary.operation;
    const given = root.arguments?.find((a) => a.name.value === RESUME_ARG);
    // A token the client passes as a variable keeps that variable (the upstream sets it to the last token on resume).
    const resumeVariable = given?.value.kind === Kind.VARIABLE ? given.value.name.value : RESUME_VAR;
    if (resumable) {
      const args = (root.arguments ?? []).filter((a) => a.name.value !== RESUME_ARG);
      args.push({
        kind: Kind.ARGUMENT,
        name: { kind: Kind.NAME, value: RESUME_ARG },
        value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: resumeVariable } },
      });
      const tokenField: FieldNode = {
        kind: Kind.FIELD,
        alias: { kind: Kind.NAME, value: TOKEN_ALIAS },
        name: { kind: Kind.NAME, value: RESUME_ARG },
      };
      const newRoot: FieldNode = {
        ...root,
        arguments: args,
        selectionSet: { kind: Kind.SELECTION_SET, selections: [...(root.selectionSet?.selections ?? []), tokenField] },
      };
      const newOp: OperationDefinitionNode = {
        ...op,
        variableDefinitions:
          resumeVariable === RESUME_VAR
            ? [
                ...(op.variableDefinitions ?? []),
                {
                  kind: Kind.VARIABLE_DEFINITION,
                  variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: RESUME_VAR } },
                  type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'String' } },
                },
              ]
            : op.variableDefinitions,
        selectionSet: {
          ...op.selectionSet,
          selections: op.selectionSet.selections.map((s) => (s === root ? newRoot : s)),
        },
      };
      upstreamQuery = print({ ...doc, definitions: doc.definitions.map((d) => (d === op ? newOp : d)) });
    }
    return {
      operation,
      primary,
      rest,
      upstreamQuery,
      rootField: root.alias?.value ?? root.name.value,
      resumable,
      resumeVariable,
    };
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
    // A client resuming from a token replays history of its own; clients starting live share one upstream.
    const identityKey = [
      client.identity.username,
      client.identity.platformRole,
      client.identity.workspaceRoles ?? {},
      client.identity.projectRoles ?? {},
    ];
    const upstreamKey = hash(
      stableJson([primary.serviceName, planned.upstreamQuery, upstreamVariables, identityKey, initialToken ?? null]),
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
    const stream = new ClientStream(this.maxQueue, () => {
      this.observe?.clientCutOff?.();
      client.onCutOff();
    });
    execution.clients.add(stream);
    const u = upstream;
    const e = execution;
    stream.onReturn = () => {
      e.clients.delete(stream);
      if (e.clients.size === 0) u.executions.delete(executionKey);
      if (u.executions.size === 0) u.close();
    };
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
    return (await executeQueryPlan(
      { kind: 'QueryPlan', node },
      serviceMap,
      requestContext,
      execution.operationContext,
      this.supergraphSchema,
      this.fedApiSchema,
    )) as ExecutionResult;
  }

  async close(): Promise<void> {
    for (const u of [...this.upstreams.values()]) u.close();
    await Promise.all([...this.clients.values()].map((c) => c.dispose()));
    this.clients.clear();
  }
}

/** The resumeToken the client's operation passes to the root field (a literal or a variable), if any. */
function resumeTokenOf(planned: PlannedSubscription, variables: Record<string, unknown>): string | undefined {
  const root = planned.operation.selectionSet.selections.find((s): s is FieldNode => s.kind === Kind.FIELD);
  const arg = root?.arguments?.find((a) => a.name.value === RESUME_ARG);
  if (!arg) return undefined;
  if (arg.value.kind === Kind.STRING) return arg.value.value;
  if (arg.value.kind === Kind.VARIABLE) {
    const v = variables[arg.value.name.value];
    return typeof v === 'string' ? v : undefined;
  }
  return undefined;
}

function describe(err: unknown): string {
  if (!err) return 'completed';
  if (err instanceof Error) return err.message;
  const close = err as { code?: number; reason?: string };
  if (typeof close.code === 'number')
    return `connection closed (${close.code}${close.reason ? `: ${close.reason}` : ''})`;
  if (Array.isArray(err)) return err.map((e: { message?: string }) => e.message ?? String(e)).join('; ');
  return String(err);
}
