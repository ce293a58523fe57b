// How the gateway answers requests that cannot run, and what its errors show: the status codes of the
// GraphQL-over-HTTP specification (400 for a request whose operation cannot be determined; 200 with the errors for a
// client that asks for the legacy application/json), the limit codes kept through Apollo's wrapping, upstream errors
// naming their service, and no schema hints ("Did you mean ...?") when introspection is off.
import type { ApolloServerPlugin, GraphQLRequestContextWillSendResponse, GraphQLRequestListener } from '@apollo/server';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../services/common/errors.js';
import type { GatewayContext } from './datasource.js';
import { LimitCode } from './limits.js';

const LIMIT_CODES = new Set<string>(Object.values(LimitCode));

/** graphql-js's hints at names of the schema ("Did you mean ...?"), which it always puts at the end of a message. */
const SUGGESTION = / ?Did you mean .+\?$/s;

/** An error without its schema hints: when introspection is off, messages must not reveal the schema either. */
export function withoutSuggestions<E extends { message: string }>(e: E): E {
  return SUGGESTION.test(e.message) ? { ...e, message: e.message.replace(SUGGESTION, '') } : e;
}

/** Apollo Server answers a persisted query whose hash does not match its text with this message and no code. */
const HASH_MISMATCH = 'provided sha does not match query';
const MEDIA_JSON = 'application/json';
const MEDIA_GRAPHQL_RESPONSE = 'application/graphql-response+json';
/** The codes of request errors (the document cannot run) that application/json answers with 200. */
const REQUEST_ERROR_CODES = new Set<string>([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  ErrorCode.BAD_USER_INPUT,
  ...LIMIT_CODES,
]);
/** Requests whose operation cannot be determined: 400 whatever the media type (issue 13). */
const unresolvedOperations = new WeakSet<object>();

/**
 * The status codes of the GraphQL-over-HTTP specification: a request that names no operation of its document (or
 * holds several and names none) is the client's mistake, 400 BAD_USER_INPUT (Apollo's gateway would answer 500);
 * and for a client that asks for `application/json` in its Accept header (the legacy media type), a document that
 * fails to parse or validate, or variables that fail coercion, answer 200 with the errors, while
 * `application/graphql-response+json` keeps 400. Without an Accept header the answer stays 400, as before.
 */
const requestErrorsHooks: GraphQLRequestListener<GatewayContext> = {
  async didResolveOperation(rc) {
    if (rc.operation) return;
    unresolvedOperations.add(rc.request);
    const names = rc.document.definitions.filter((d) => d.kind === 'OperationDefinition').length;
    const message = rc.request.operationName
      ? `Unknown operation named "${rc.request.operationName}".`
      : names > 1
        ? 'Must provide operation name if query contains multiple operations.'
        : 'The document holds no operation to run.';
    throw new GraphQLError(message, { extensions: { code: ErrorCode.BAD_USER_INPUT, http: { status: 400 } } });
  },
  async willSendResponse(rc) {
    if (rc.response.http.status !== 400 || rc.response.body.kind !== 'single') return;
    const result = rc.response.body.singleResult;
    if (result.data !== undefined || !result.errors?.length || unresolvedOperations.has(rc.request)) return;
    if (!result.errors.every((e) => REQUEST_ERROR_CODES.has(String(e.extensions?.code)))) return;
    if (prefersLegacyJson(rc)) {
      rc.response.http.status = 200;
      rc.response.http.headers.set('content-type', `${MEDIA_JSON}; charset=utf-8`);
    }
  },
};

export const requestErrorsPlugin: ApolloServerPlugin<GatewayContext> = {
  // No per-request state: the same hooks serve every request.
  requestDidStart: async () => requestErrorsHooks,
};

/**
 * Whether the client's Accept header names application/json and prefers it to application/graphql-response+json
 * (higher quality, or equal and listed first). Wildcards alone (what fetch and curl send by default) name no
 * preference: such clients keep the 400 they have always had.
 */
function prefersLegacyJson(rc: GraphQLRequestContextWillSendResponse<GatewayContext>): boolean {
  const accept = rc.request.http?.headers.get('accept');
  if (!accept) return false;
  const ranges = accept.split(',').map((part, index) => {
    const [range, ...params] = part
      .trim()
      .toLowerCase()
      .split(';')
      .map((x) => x.trim());
    const q = params.find((p) => p.startsWith('q='));
    return { range, q: q ? Number(q.slice(2)) : 1, index };
  });
  const match = (type: string) => {
    const [main] = type.split('/');
    const found =
      ranges.find((r) => r.range === type) ??
      ranges.find((r) => r.range === `${main}/*`) ??
      ranges.find((r) => r.range === '*/*');
    return found && found.q > 0 ? found : undefined;
  };
  const json = ranges.find((r) => r.range === MEDIA_JSON && r.q > 0);
  const modern = match(MEDIA_GRAPHQL_RESPONSE);
  if (!json) return false;
  if (!modern) return true;
  return json.q > modern.q || (json.q === modern.q && json.index <= modern.index);
}

/**
 * Errors as clients see them: the limit codes survive Apollo's GRAPHQL_VALIDATION_FAILED wrapping, upstream errors
 * name their service as `service`, and nothing of an upstream's raw HTTP response or stack leaks out.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const extensions: Record<string, unknown> = { ...formatted.extensions };
  const original = (error as { originalError?: unknown } | undefined)?.originalError;
  if (
    original instanceof GraphQLError &&
    typeof original.extensions.code === 'string' &&
    LIMIT_CODES.has(original.extensions.code)
  ) {
    extensions.code = original.extensions.code;
  }
  if (
    formatted.message === HASH_MISMATCH &&
    (extensions.code === undefined || extensions.code === 'INTERNAL_SERVER_ERROR')
  ) {
    extensions.code = 'PERSISTED_QUERY_HASH_MISMATCH';
  }
  if (typeof extensions.serviceName === 'string') {
    extensions.service ??= extensions.serviceName;
    delete extensions.serviceName;
  }
  delete extensions.response;
  delete extensions.exception;
  delete extensions.stacktrace;
  return { ...formatted, extensions };
}

/** The formatError of the gateway: without schema hints unless introspection is on. */
export function errorFormatter(
  introspection: boolean,
): (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError {
  return introspection ? formatError : (formatted, error) => withoutSuggestions(formatError(formatted, error));
}
