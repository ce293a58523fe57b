// Optional security of the stand-in, as an Elasticsearch cluster with `xpack.security` on answers: HTTP basic
// authentication against a set of users (the file realm, in spirit) and API keys (`Authorization: ApiKey
// base64(id:api_key)`). A request without credentials or with wrong ones gets 401 with Elasticsearch's
// security_exception body and the `WWW-Authenticate` challenges the real server lists (Basic, Bearer, ApiKey).
// Passwords and keys are compared in constant time and never appear in any answer or log line.
import { createHash, timingSafeEqual } from 'node:crypto';
import { EsError } from './errors.js';

export interface EsSecurityOptions {
  /** username -> password (every user may do everything, as the `superuser` role). */
  users?: Record<string, string>;
  /** API key id -> API key secret. */
  apiKeys?: Record<string, string>;
}

/** Who a request authenticated as: what `GET /_security/_authenticate` describes. */
export interface Principal {
  username: string;
  realm: { name: string; type: string };
  apiKeyId?: string;
}

/** The challenges a secured Elasticsearch sends with every 401 (one `WWW-Authenticate` header each). */
export const WWW_AUTHENTICATE = ['Basic realm="security" charset="UTF-8"', 'Bearer realm="security"', 'ApiKey'];

// Secrets are kept and compared as digests of one length, so that timingSafeEqual applies and nothing leaks by timing.
const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

function unauthorized(reason: string, extra: Record<string, unknown> = {}): EsError {
  return new EsError(401, 'security_exception', reason, { ...extra, header: { 'WWW-Authenticate': WWW_AUTHENTICATE } });
}

export class EsSecurity {
  private readonly users: Map<string, Buffer>;
  private readonly keys: Map<string, Buffer>;

  constructor(options: EsSecurityOptions) {
    this.users = new Map(Object.entries(options.users ?? {}).map(([u, p]) => [u, digest(p)]));
    this.keys = new Map(Object.entries(options.apiKeys ?? {}).map(([id, k]) => [id, digest(k)]));
  }

  /** The principal of a request, or the 401 Elasticsearch answers (`uri`: path and query, as in its reasons). */
  authenticate(authorization: string | undefined, uri: string): Principal {
    const header = authorization?.trim() ?? '';
    const space = header.indexOf(' ');
    const scheme = space > 0 ? header.slice(0, space).toLowerCase() : '';
    const value = space > 0 ? header.slice(space + 1).trim() : '';
    if (scheme === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw unauthorized(`missing authentication credentials for REST request [${uri}]`);
      const username = decoded.slice(0, colon);
      const expected = this.users.get(username);
      const ok = expected !== undefined && timingSafeEqual(digest(decoded.slice(colon + 1)), expected);
      if (!ok) throw unauthorized(`unable to authenticate user [${username}] for REST request [${uri}]`);
      return { username, realm: { name: 'file', type: 'file' } };
    }
    if (scheme === 'apikey') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const anonymous =
        'unable to authenticate with provided credentials and anonymous access is not allowed for this request';
      if (colon < 0)
        throw unauthorized(anonymous, { additional_unsuccessful_credentials: 'API key: invalid ApiKey value' });
      const id = decoded.slice(0, colon);
      const expected = this.keys.get(id);
      if (expected === undefined)
        throw unauthorized(anonymous, {
          additional_unsuccessful_credentials: `API key: unable to find apikey with id ${id}`,
        });
      if (!timingSafeEqual(digest(decoded.slice(colon + 1)), expected))
        throw unauthorized(anonymous, {
          additional_unsuccessful_credentials: `API key: invalid credentials for API key [${id}]`,
        });
      return { username: `api-key-${id}`, realm: { name: '_es_api_key', type: '_es_api_key' }, apiKeyId: id };
    }
    throw unauthorized(`missing authentication credentials for REST request [${uri}]`);
  }
}

/** `GET /_security/_authenticate`: who the request authenticated as (an error when security is off, as there). */
export function authenticateInfo(p: Principal | undefined): Record<string, unknown> {
  if (!p)
    throw new EsError(
      500,
      'illegal_state_exception',
      'Security must be explicitly enabled when using a [basic] license. Enable security by setting [xpack.security.enabled] to [true] in the elasticsearch.yml file and restart the node.',
    );
  return {
    username: p.username,
    roles: p.apiKeyId ? [] : ['superuser'],
    full_name: null,
    email: null,
    metadata: {},
    enabled: true,
    authentication_realm: p.realm,
    lookup_realm: p.realm,
    authentication_type: p.apiKeyId ? 'api_key' : 'realm',
    ...(p.apiKeyId ? { api_key: { id: p.apiKeyId, name: p.apiKeyId } } : {}),
  };
}
