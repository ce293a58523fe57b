// Who a request is from: the kubeconfig's user (the one token the sandbox hands out) or, with the Impersonate-*
// headers kubectl's --as/--as-group send, the user it impersonates, as kube-apiserver's impersonation filter builds it.
import type { IncomingMessage } from 'node:http';
import { badRequest } from '../errors.js';
import type { UserInfo } from './rbac.js';

/** The kubeconfig's user: a cluster admin, as kind's and kubeadm's admin.conf users are. */
export const SANDBOX_ADMIN: UserInfo = {
  username: 'sandbox-admin',
  groups: ['system:masters', 'system:authenticated'],
};

const headerValues = (req: IncomingMessage, name: string): string[] => {
  const v = req.headers[name];
  return v === undefined ? [] : Array.isArray(v) ? v : v.split(',').map((s) => s.trim());
};

/** The impersonated user of a request, or undefined when it impersonates nobody. */
export function impersonatedUser(req: IncomingMessage): UserInfo | undefined {
  const user = req.headers['impersonate-user'];
  const groups = headerValues(req, 'impersonate-group');
  const uid = req.headers['impersonate-uid'];
  const extra: Record<string, string[]> = {};
  for (const [h, v] of Object.entries(req.headers)) {
    if (!h.startsWith('impersonate-extra-') || v === undefined) continue;
    extra[decodeURIComponent(h.slice('impersonate-extra-'.length))] = Array.isArray(v) ? v : [v];
  }
  if (typeof user !== 'string' || !user) {
    if (groups.length || uid || Object.keys(extra).length)
      throw badRequest('requested impersonation of groups, uid or extra fields without impersonating a user');
    return undefined;
  }
  const all = [...groups];
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(user);
  if (sa && !groups.length) all.push('system:serviceaccounts', `system:serviceaccounts:${sa[1]}`);
  if (user !== 'system:anonymous' && !all.includes('system:authenticated')) all.push('system:authenticated');
  if (user === 'system:anonymous' && !all.includes('system:unauthenticated')) all.push('system:unauthenticated');
  return {
    username: user,
    ...(typeof uid === 'string' && uid ? { uid } : {}),
    groups: all,
    ...(Object.keys(extra).length ? { extra } : {}),
  };
}
