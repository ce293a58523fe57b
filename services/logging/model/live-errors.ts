// Failures of the Kubernetes log API and watches as GraphQL errors of DESIGN.md's error model.
import * as k8s from '@kubernetes/client-node';
import { GraphQLError } from 'graphql';
import { badUserInput, notFoundError, upstreamUnavailable } from '../../common/errors.js';
import { PodLogApiError, PodLogUnreachableError } from '../clients/pod-logs.js';

export const KUBERNETES = 'kubernetes';

/** `what`: the object a 404 is about ("pod shop/web-1"). */
export function mapPodLogError(e: unknown, what?: string): Error {
  if (e instanceof GraphQLError) return e;
  if (e instanceof PodLogUnreachableError)
    return upstreamUnavailable(KUBERNETES, `Kubernetes API unreachable (${e.message})`);
  let status: number | undefined;
  let message = '';
  if (e instanceof PodLogApiError) {
    status = e.statusCode;
    message = e.message;
  } else if (e instanceof k8s.ApiException) {
    status = e.code;
    try {
      message = (JSON.parse(String(e.body)) as { message?: string }).message ?? '';
    } catch {
      message = '';
    }
  }
  if (status === undefined) {
    const code = (e as { code?: unknown })?.code;
    return upstreamUnavailable(
      KUBERNETES,
      `Kubernetes API unreachable${typeof code === 'string' && /^E[A-Z]+$/.test(code) ? ` (${code})` : ''}`,
    );
  }
  switch (status) {
    case 404:
      return notFoundError(what ? `${what} not found` : message || 'not found');
    case 400:
      // "previous terminated container "x" in pod "y" not found": there is no such log, not a malformed request.
      if (/previous terminated container .* not found/.test(message)) return notFoundError(message);
      return badUserInput(message || 'the Kubernetes API refused the request');
    case 422:
      return badUserInput(message);
    case 401:
    case 403:
      return upstreamUnavailable(KUBERNETES, `the Kubernetes API refused kubegraph's own credentials: ${message}`);
    default:
      return upstreamUnavailable(KUBERNETES, `Kubernetes API error ${status}${message ? `: ${message}` : ''}`);
  }
}
