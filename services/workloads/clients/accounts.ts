// The accounts service as workloads needs it when it creates a project: does the workspace exist, and make the
// creator the project's admin. Over accounts' internal endpoints (ACCOUNTS_INTERNAL_TOKEN), never GraphQL.
import { notFoundError, upstreamUnavailable } from '../../common/errors.js';

export interface AccountsClientOptions {
  /**
   * accounts' origin (http://host:port), where /internal/* is; or its promise (npm start: workloads starts before
   * accounts listens, and needs accounts only for a project's creation).
   */
  url: string | Promise<string>;
  internalToken?: string;
  timeoutMs?: number;
}

export interface AccountsClient {
  workspaceExists(name: string): Promise<boolean>;
  /** Whether the creator was made project-admin (false: nothing to grant, e.g. a platform admin outside the workspace). */
  grantCreator(project: string, namespaceUid: string, username: string): Promise<boolean>;
}

export function createAccountsClient(opts: AccountsClientOptions): AccountsClient {
  const base = Promise.resolve(opts.url).then((url) => url.replace(/\/+$/, ''));
  // Awaited by each call: one that comes after accounts failed to start fails as unreachable.
  base.catch(() => {});
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.internalToken) headers.authorization = `Bearer ${opts.internalToken}`;
  const call = async (path: string, init: RequestInit = {}): Promise<Response> => {
    try {
      return await fetch(`${await base}${path}`, {
        ...init,
        headers,
        signal: AbortSignal.timeout(opts.timeoutMs ?? 5_000),
      });
    } catch {
      // The address stays out of the message: clients see which system failed, not where it lives.
      throw upstreamUnavailable('accounts', 'the accounts service is unreachable');
    }
  };
  const failed = (res: Response, what: string) =>
    upstreamUnavailable('accounts', `the accounts service answered ${res.status} for ${what}`);
  return {
    async workspaceExists(name) {
      const res = await call(`/internal/workspaces/${encodeURIComponent(name)}`);
      if (res.status === 404) return false;
      if (!res.ok) throw failed(res, 'a workspace');
      return true;
    },
    async grantCreator(project, namespaceUid, username) {
      const res = await call(`/internal/projects/${encodeURIComponent(project)}/creator`, {
        method: 'POST',
        body: JSON.stringify({ username, namespaceUid }),
      });
      if (res.status === 404) throw notFoundError(`project ${project} is gone`);
      if (!res.ok) throw failed(res, "the project creator's membership");
      return ((await res.json()) as { granted: boolean }).granted;
    },
  };
}
