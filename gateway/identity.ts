// Who a request or a graphql-ws connection is (DESIGN.md "Identity and authorization"): the caller's token, from the
// Authorization header or the graphql-ws connection_init payload, verified into an identity. Until the accounts
// subgraph issues tokens, every caller is the development identity through this same code path; the accounts issue
// plugs token verification into `authenticate` and makes a missing or invalid token an UNAUTHENTICATED refusal.
import { DEV_VIEWER, type Viewer } from '../services/common/authz.js';

export type Identity = Viewer;

/** The bearer token of an Authorization value ("Bearer <token>"), if any. */
export function bearerToken(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(value.trim());
  return m?.[1];
}

/** The token a graphql-ws client sends in connection_init: `{ authorization: "Bearer …" }` or `{ token: "…" }`. */
export function connectionToken(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (!params) return undefined;
  return bearerToken(params.authorization ?? params.Authorization) ?? (typeof params.token === 'string' ? params.token : undefined);
}

export interface Authenticator {
  /** The identity of a token (undefined: no token). Throws an UNAUTHENTICATED GraphQLError when it is refused. */
  authenticate(token: string | undefined): Promise<Identity>;
}

/** No accounts yet: every caller, with or without a token, is the development identity. */
export const developmentAuthenticator: Authenticator = {
  authenticate: async () => DEV_VIEWER,
};
