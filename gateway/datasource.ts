// How the gateway talks to one subgraph: @apollo/gateway's RemoteGraphQLDataSource, plus
// - fetch timing per service (the subgraph fetch duration metric),
// - the error model of DESIGN.md: a subgraph that cannot be reached, times out or answers 5xx (or anything that is
//   not a GraphQL response) becomes an UPSTREAM_UNAVAILABLE error naming the service, returned as a GraphQL
//   response so that the query plan goes on and the fields that do not need the service still resolve,
// - the seam where the caller's identity is forwarded to subgraphs (forwardIdentity),
// - its HTTP client (subgraph-fetch.ts): keep-alive, a deadline per fetch, and identical query fetches in flight at the
//   same time (same document, variables, identity and client headers; only the request id may differ) sharing one
//   request, as Hive Gateway does: many clients asking the same page cost the subgraph one answer, not one each.
import type { IncomingMessage } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { trace } from '@opentelemetry/api';
import { Kind, parse, type GraphQLError, type GraphQLFormattedError, type SelectionSetNode } from 'graphql';
import type { Viewer } from '../services/common/authz.js';
import { ErrorCode } from '../services/common/errors.js';
import { IDENTITY_HEADER, IDENTITY_TTL_SECONDS, signIdentity } from '../services/common/identity.js';
import { createSubgraphFetcher } from './subgraph-fetch.js';

/** The signed identity of each request (its Apollo context), shared by the data sources of all subgraphs. */
const signedIdentities = new WeakMap<object, SignedIdentity>();
interface SignedIdentity {
  at: number;
  token: Promise<string>;
}
/** A signature is reused for half its lifetime at most, so that it never expires while a request still uses it. */
const REUSE_MS = (IDENTITY_TTL_SECONDS * 1000) / 2;
/** Identities (by key, then by content) signed in the last REUSE_MS: see recentSignature. */
const recentSignatures = new WeakMap<Uint8Array, Map<string, SignedIdentity>>();
const RECENT_SIGNATURES_MAX = 10_000;

/**
 * The identity signed for a viewer: the same token for every request of the same viewer with the same roles within
 * REUSE_MS (signing is an HMAC through WebCrypto, a good part of a small request's cost). Roles that change give
 * another content, so another signature at once; a caller whose token or session is refused never gets here.
 */
function recentSignature(key: Uint8Array, viewer: Viewer): SignedIdentity {
  let byContent = recentSignatures.get(key);
  if (!byContent) recentSignatures.set(key, (byContent = new Map()));
  const content = JSON.stringify([
    viewer.username,
    viewer.platformRole,
    viewer.workspaceRoles ?? {},
    viewer.projectRoles ?? {},
    viewer.projectUids ?? {},
  ]);
  const now = Date.now();
  const hit = byContent.get(content);
  if (hit && now - hit.at <= REUSE_MS) return hit;
  if (byContent.size >= RECENT_SIGNATURES_MAX)
    for (const [k, v] of byContent)
      if (now - v.at > REUSE_MS || byContent.size >= RECENT_SIGNATURES_MAX) byContent.delete(k);
  const signed = { at: now, token: signIdentity(key, viewer) };
  signed.token.catch(() => byContent.delete(content));
  byContent.set(content, signed);
  return signed;
}

export type GatewayResponse = Awaited<ReturnType<RemoteGraphQLDataSource['process']>>;

/**
 * A subgraph's word that its answer may be stale (workloads while the Kubernetes API is out of reach), per request
 * (the Apollo context): @apollo/gateway drops subgraph response extensions, so the gateway passes this one on itself.
 */
export interface Staleness {
  stale: true;
  /** The earliest time any answering subgraph's data was last known current (ISO 8601). */
  lastSyncedAt?: string;
}
const staleRequests = new WeakMap<object, Staleness>();

/** Whether a subgraph said its part of this request's answer may be stale. */
export const stalenessOf = (ctx: object): Staleness | undefined => staleRequests.get(ctx);

/** What a subgraph said about staleness (extensions.stale, lastSyncedAt), in the client's response too. */
export const stalenessPlugin: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart() {
    return {
      async willSendResponse(rc) {
        const staleness = stalenessOf(rc.contextValue);
        if (!staleness || rc.response.body.kind !== 'single') return;
        const result = rc.response.body.singleResult;
        result.extensions = { ...result.extensions, ...staleness };
      },
    };
  },
};

/**
 * Names the request's root span (the incoming HTTP request, when tracing is on: services/common/tracing.ts) after the
 * operation, with its type and the SHA-256 of the document: never the document itself, its variables or headers.
 */
export const tracingPlugin: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation(rc) {
        const span = trace.getActiveSpan();
        if (!span?.isRecording()) return;
        const type = rc.operation?.operation ?? 'query';
        span.setAttributes({
          'graphql.operation.type': type,
          'graphql.operation.name': rc.operationName ?? '',
          'graphql.document.hash': rc.queryHash,
        });
        span.updateName(`graphql ${type}${rc.operationName ? ` ${rc.operationName}` : ''}`);
      },
    };
  },
};

function noteStaleness(ctx: object | undefined, extensions: Record<string, unknown> | undefined): void {
  if (!ctx || extensions?.stale !== true) return;
  const at = typeof extensions.lastSyncedAt === 'string' ? extensions.lastSyncedAt : undefined;
  const seen = staleRequests.get(ctx);
  staleRequests.set(ctx, {
    stale: true,
    lastSyncedAt: seen?.lastSyncedAt && (!at || seen.lastSyncedAt < at) ? seen.lastSyncedAt : at,
  });
}

/** What the gateway keeps per incoming request (the Apollo context). */
export interface GatewayContext {
  req?: IncomingMessage;
  requestId: string;
  /** The caller, as the gateway verified it (forwarded to subgraphs signed). */
  viewer?: Viewer;
  /** The caller's refused token (the viewer is then anonymous): fails every operation but logging in. */
  refusedToken?: GraphQLError;
  /** The client's address and user agent (forwarded: accounts records them with logins). */
  client?: { ip?: string; userAgent?: string };
}

export interface FetchObserver {
  (service: string, seconds: number, outcome: 'ok' | 'error' | 'unavailable'): void;
}

export interface KubegraphDataSourceOptions {
  name: string;
  url: string;
  timeoutMs: number;
  observe?: FetchObserver;
  /** The key the forwarded identity is signed with; unset: no identity is forwarded (subgraphs without checks). */
  identityKey?: Uint8Array;
  /** Identical query fetches in flight share one request (subgraph-fetch.ts shareKey); default true. */
  shareQueries?: boolean;
}

interface ResponseExtension {
  response?: { status?: number; body?: unknown };
}

export class KubegraphDataSource extends RemoteGraphQLDataSource<Record<string, unknown>> {
  readonly serviceName: string;
  private readonly timeoutMs: number;
  private readonly observe?: FetchObserver;
  private readonly identityKey?: Uint8Array;

  constructor(opts: KubegraphDataSourceOptions) {
    super({ url: opts.url });
    this.serviceName = opts.name;
    this.timeoutMs = opts.timeoutMs;
    this.observe = opts.observe;
    this.identityKey = opts.identityKey;
    // Every subgraph fetch has a deadline: a hung subgraph is an unavailable one (subgraph-fetch.ts).
    this.fetcher = createSubgraphFetcher({ timeoutMs: opts.timeoutMs, shareQueries: opts.shareQueries ?? true });
  }

  override async willSendRequest(options: GraphQLDataSourceProcessOptions<Record<string, unknown>>): Promise<void> {
    const headers = options.request.http?.headers;
    if (!headers) return;
    const ctx = options.context as Partial<GatewayContext>;
    if (ctx.requestId) headers.set('x-request-id', ctx.requestId);
    // Login records want the client's address and user agent; the subgraph sees only the gateway's socket and
    // fetch. Set, never appended: what the client sent itself is not passed on.
    const ip = ctx.client?.ip ?? ctx.req?.socket.remoteAddress;
    if (ip) headers.set('x-forwarded-for', ip);
    if (ctx.client?.userAgent) headers.set('user-agent', ctx.client.userAgent);
    await this.forwardIdentity(headers, ctx);
  }

  /**
   * The caller's identity, signed by the gateway (services/common/identity.ts), which subgraphs require. The caller's
   * own Authorization header is never passed on.
   */
  protected async forwardIdentity(
    headers: { set(name: string, value: string): void },
    ctx: Partial<GatewayContext>,
  ): Promise<void> {
    if (!this.identityKey || !ctx.viewer) return;
    // One signature per request at most: every fetch of its query plan (to any subgraph) carries the same identity,
    // itself shared with the other requests of the same viewer and roles (recentSignature). A subscription's context
    // lives on for its events, so a signature is reused only for half its lifetime.
    let signed = signedIdentities.get(ctx);
    if (!signed || Date.now() - signed.at > REUSE_MS) {
      signed = recentSignature(this.identityKey, ctx.viewer);
      signedIdentities.set(ctx, signed);
    }
    headers.set(IDENTITY_HEADER, await signed.token);
  }

  override async process(options: GraphQLDataSourceProcessOptions<Record<string, unknown>>): Promise<GatewayResponse> {
    const start = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - start) / 1e9;
    try {
      const response = await super.process(options);
      noteStaleness(options.context, response.extensions);
      this.observe?.(this.serviceName, seconds(), response.errors?.length ? 'error' : 'ok');
      return response;
    } catch (e) {
      const mapped = this.errorResponse(e, options.request.query);
      this.observe?.(
        this.serviceName,
        seconds(),
        mapped.errors?.[0]?.extensions?.code === ErrorCode.UPSTREAM_UNAVAILABLE ? 'unavailable' : 'error',
      );
      return mapped;
    }
  }

  /** Turns a failed fetch into a GraphQL response: 4xx with GraphQL errors pass through, the rest is unavailability. */
  private errorResponse(e: unknown, query: string | undefined): GatewayResponse {
    const ext = (e as { extensions?: ResponseExtension & { code?: string } }).extensions;
    const status = ext?.response?.status;
    const body = ext?.response?.body;
    if (status !== undefined && status >= 400 && status < 500) {
      const errors = (body as { errors?: unknown } | undefined)?.errors;
      if (Array.isArray(errors) && errors.length > 0) return { errors: errors as GraphQLFormattedError[] };
      if (ext?.code === 'UNAUTHENTICATED' || ext?.code === 'FORBIDDEN') {
        return {
          errors: [
            {
              message: `service "${this.serviceName}" refused the request (${status})`,
              extensions: { code: ext.code, service: this.serviceName },
            },
          ],
        };
      }
    }
    const reason =
      status !== undefined
        ? `answered HTTP ${status}`
        : (e as Error).name === 'TimeoutError'
          ? `did not answer within ${this.timeoutMs} ms`
          : `could not be reached (${causeOf(e)})`;
    const message = `service "${this.serviceName}" is unavailable: it ${reason}`;
    const extensions = { code: ErrorCode.UPSTREAM_UNAVAILABLE, service: this.serviceName };
    const paths = query ? fetchPaths(query) : [];
    return { errors: paths.length ? paths.map((path) => ({ message, path, extensions })) : [{ message, extensions }] };
  }
}

/**
 * The paths a failed fetch leaves unresolved, in the subgraph's response: its root fields, or for an entity fetch
 * the entity fields (given for the first entity; the gateway maps `_entities` paths onto the client's response).
 */
function fetchPaths(query: string): (string | number)[][] {
  let doc;
  try {
    doc = parse(query, { noLocation: true });
  } catch {
    return [];
  }
  const op = doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (!op || op.kind !== Kind.OPERATION_DEFINITION) return [];
  const keys = (set: SelectionSetNode | undefined): string[] => {
    const out: string[] = [];
    for (const sel of set?.selections ?? []) {
      if (sel.kind === Kind.FIELD) {
        if (sel.name.value !== '__typename') out.push(sel.alias?.value ?? sel.name.value);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) out.push(...keys(sel.selectionSet));
    }
    return [...new Set(out)];
  };
  const root = op.selectionSet.selections;
  const entities =
    root.length === 1 && root[0].kind === Kind.FIELD && root[0].name.value === '_entities' ? root[0] : undefined;
  if (entities) return keys(entities.selectionSet).map((k) => ['_entities', 0, k]);
  return keys(op.selectionSet).map((k) => [k]);
}

function causeOf(e: unknown): string {
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur; i++) {
    const c = cur as { code?: unknown; cause?: unknown; message?: unknown };
    if (typeof c.code === 'string') return c.code;
    cur = c.cause;
  }
  return e instanceof Error ? e.message : String(e);
}
