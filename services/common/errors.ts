// The error model of DESIGN.md: every GraphQL error carries extensions.code.
import { GraphQLError } from 'graphql';

export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  CONFLICT: 'CONFLICT',
  UPSTREAM_UNAVAILABLE: 'UPSTREAM_UNAVAILABLE',
  /** A subscription's resumeToken is older than any history still kept: the client must list again. Final. */
  RESUME_EXPIRED: 'RESUME_EXPIRED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export function apiError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

export const badUserInput = (message: string, extensions: Record<string, unknown> = {}) =>
  apiError(ErrorCode.BAD_USER_INPUT, message, extensions);
export const notFoundError = (message: string) => apiError(ErrorCode.NOT_FOUND, message);
export const conflictError = (message: string) => apiError(ErrorCode.CONFLICT, message);
export const forbiddenError = (message: string) => apiError(ErrorCode.FORBIDDEN, message);
export const unauthenticatedError = (message: string) => apiError(ErrorCode.UNAUTHENTICATED, message);
export const resumeExpired = (message: string) => apiError(ErrorCode.RESUME_EXPIRED, message);
export const upstreamUnavailable = (service: string, message: string) =>
  apiError(ErrorCode.UPSTREAM_UNAVAILABLE, message, { service });
