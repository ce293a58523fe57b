// Kubernetes API failures as GraphQL errors of DESIGN.md's error model.
import type { GraphQLError } from 'graphql';
import {
  apiError,
  badUserInput,
  conflictError,
  ErrorCode,
  forbiddenError,
  notFoundError,
  upstreamUnavailable,
} from '../../common/errors.js';
import { UnsafeRequestPathError } from '../clients/kube-paths.js';
import { KubeApiError, KubeUnreachableError, toKubeError } from '../clients/kube-rest.js';

export const SERVICE = 'workloads';

export function mapKubeError(e: unknown): Error {
  if (isGraphQLError(e)) return e;
  // Refused by the client before any request: the value came from the caller (an argument or a document).
  if (e instanceof UnsafeRequestPathError) return badUserInput(e.message, { argument: e.field });
  const err = toKubeError(e);
  // The system, never its address: the client's message names the API server's URL (operators read it in the logs).
  if (err instanceof KubeUnreachableError)
    return upstreamUnavailable(SERVICE, `Kubernetes API unreachable${unreachableReason(err.message)}`);
  if (err instanceof KubeApiError) {
    switch (err.statusCode) {
      case 409:
        return conflictError(err.message);
      case 400:
      case 422:
        return badUserInput(err.message, { reason: err.reason });
      case 404:
        return notFoundError(err.message);
      case 401:
      case 403:
        return forbiddenError(err.message);
      case 415:
        return badUserInput(err.message, { reason: err.reason });
      default:
        if (err.statusCode >= 500 || err.statusCode === 429)
          return upstreamUnavailable(SERVICE, `Kubernetes API error ${err.statusCode}: ${err.message}`);
        return apiError(ErrorCode.BAD_USER_INPUT, err.message, { status: err.statusCode });
    }
  }
  return err;
}

/** Why the API server could not be reached, as a system error code (ECONNREFUSED, a TLS code) or a timeout; no address. */
function unreachableReason(message: string): string {
  const code = /\b(E[A-Z]{3,}|(?:CERT|DEPTH|UNABLE|SELF_SIGNED|ERR_TLS)_[A-Z_]+)\b/.exec(message)?.[1];
  if (code) return ` (${code})`;
  return /timed out|took longer|timeout/i.test(message) ? ' (timed out)' : '';
}

function isGraphQLError(e: unknown): e is GraphQLError {
  return Boolean(e && typeof e === 'object' && 'extensions' in e && (e as GraphQLError).extensions?.code);
}

/** Runs a Kubernetes call, mapping its failures. */
export async function kubeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw mapKubeError(e);
  }
}
