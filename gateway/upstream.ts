// One subscription to a subgraph (gateway/subscriptions.ts opens them), shared by every client whose upstream
// operation, variables and identity are the same: it is opened with the caller's current identity, reopened with
// back-off from the last resume token it delivered when it drops (renewed at once when the subgraph ends it as its
// identity expires), and each event goes through the rest of the plan once per distinct client operation, in order.
import { buildOperationContext } from '@apollo/gateway';
import {
  GraphQLError,
  type DocumentNode,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import type { AsyncQueue } from '../services/common/async-queue.js';
import { ErrorCode } from '../services/common/errors.js';
import { IDENTITY_EXPIRED } from '../services/common/subscriptions.js';
import { compareResourceVersions } from '../services/common/k8s/resource-version.js';
import type { GatewayContext } from './datasource.js';
import { TOKEN_ALIAS, type PlannedSubscription } from './subscription-plan.js';
import type { SubscriptionExecutor, SubscriptionIdentity } from './subscriptions.js';

/** What one client receives: a bounded queue (asyncQueue) of its results. */
export type ClientStream = AsyncQueue<ExecutionResult>;

/** Codes of upstream errors that end a subscription for good (the request itself is wrong or not allowed). */
const FINAL_CODES = new Set([
  ErrorCode.BAD_USER_INPUT,
  ErrorCode.FORBIDDEN,
  ErrorCode.UNAUTHENTICATED,
  ErrorCode.NOT_FOUND,
  // Resuming again from the same token cannot succeed: the client has to list again.
  ErrorCode.RESUME_EXPIRED,
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
]);

/** Compares resume tokens (resourceVersions): numerically when both are integers; any other different one is later. */
function tokenAfter(a: string, b: string): boolean {
  const c = compareResourceVersions(a, b);
  return c === undefined ? a !== b : c > 0;
}

/** Clients with the same operation, variables and identity on one upstream: the per-event work is done once. */
export class SharedExecution {
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
export class Upstream {
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
    // What the subgraph said last before it completes decides what the completion means (see `complete` below).
    let ending: 'renew' | 'retry' | { final: readonly GraphQLFormattedError[] } | undefined;
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
            // An error instead of an event: the identity expired (renew), the request is wrong or the object gone
            // (final), or the subgraph cannot serve it now (retry from the last token).
            const errors = result.errors ?? [];
            const codes = errors.map((e) => String(e.extensions?.code ?? ''));
            if (codes.includes(IDENTITY_EXPIRED)) ending = 'renew';
            else if (codes.some((c) => FINAL_CODES.has(c))) {
              if (!receivedAny) this.fail(errors);
              else ending = { final: errors };
            } else ending = 'retry';
            return;
          }
          receivedAny = true;
          ending = undefined;
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
        // A completion after IDENTITY_EXPIRED: renew at once; after an error the subgraph may get over: resubscribe
        // with back-off; after a final error: every client gets it; otherwise the stream has ended for good (a
        // finished operation), and so do the clients' subscriptions.
        complete: () => {
          if (ending === 'renew') this.renew();
          else if (ending === 'retry') this.dropped(undefined);
          else if (ending) this.fail(ending.final);
          else this.finish();
        },
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

  /** A final upstream error: every client gets it, after the events still being delivered, and ends. */
  private fail(errors: readonly { message: string; extensions?: Record<string, unknown> }[]): void {
    if (this.state === 'closed') return;
    const result: ExecutionResult = {
      errors: errors.map((e) => new GraphQLError(e.message, { extensions: e.extensions })),
    };
    this.chain = this.chain.then(() => {
      for (const execution of this.executions.values()) {
        for (const c of execution.clients) {
          c.push(result);
          c.end();
        }
      }
      this.close();
    });
  }

  /** The subgraph ended the stream: clients get what is still being delivered, then completion. */
  private finish(): void {
    if (this.state === 'closed') return;
    this.chain = this.chain.then(() => {
      for (const execution of this.executions.values()) for (const c of execution.clients) c.end();
      this.close();
    });
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

function describe(err: unknown): string {
  if (!err) return 'completed';
  if (err instanceof Error) return err.message;
  const close = err as { code?: number; reason?: string };
  if (typeof close.code === 'number')
    return `connection closed (${close.code}${close.reason ? `: ${close.reason}` : ''})`;
  if (Array.isArray(err)) return err.map((e: { message?: string }) => e.message ?? String(e)).join('; ');
  return String(err);
}
