// The resumeTokens of lists and subscriptions. A list of one kind is served from one informer cache: its token is that
// cache's resourceVersion, as Kubernetes clients know it. A list over several kinds (every workload kind) was served
// from several caches, each at its own resourceVersion: its token carries each kind's, so that a subscription to any
// one of them resumes exactly where that kind's part of the list was (one oldest version for all would replay changes
// the list already showed). Clients treat both forms as opaque strings.
import { badUserInput } from '../../common/errors.js';
import { resourceVersionValue } from '../../common/k8s/resource-version.js';
import type { KindName } from '../clients/kinds.js';

/** Marks a token that carries one resourceVersion per kind (base64url JSON after it). */
const PER_KIND_PREFIX = 'kinds.';

/** The token of a list served from these kinds' caches at these versions (undefined: a cache with none yet). */
export function listToken(versions: ReadonlyMap<KindName, bigint | undefined>): string {
  const known = [...versions].filter((e): e is [KindName, bigint] => e[1] !== undefined);
  if (known.length === 0) return '';
  if (versions.size === 1) return String(known[0][1]);
  const perKind = Object.fromEntries(known.map(([k, v]) => [k, String(v)]));
  return PER_KIND_PREFIX + Buffer.from(JSON.stringify(perKind)).toString('base64url');
}

const notIssued = (token: string) =>
  badUserInput(`resumeToken ${JSON.stringify(token)} is not a token this service issued`, { argument: 'resumeToken' });

/**
 * The resourceVersion of `kind` a token stands for: a plain token is one; a list's token over several kinds gives
 * that kind's part. BAD_USER_INPUT for anything else (a token of other kinds only, or one not issued here).
 */
export function versionForKind(token: string, kind: KindName): bigint {
  const plain = resourceVersionValue(token);
  if (plain !== undefined) return plain;
  if (!token.startsWith(PER_KIND_PREFIX)) throw notIssued(token);
  let perKind: unknown;
  try {
    perKind = JSON.parse(Buffer.from(token.slice(PER_KIND_PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    throw notIssued(token);
  }
  if (typeof perKind !== 'object' || perKind === null || Array.isArray(perKind)) throw notIssued(token);
  if (!Object.prototype.hasOwnProperty.call(perKind, kind))
    throw badUserInput(`resumeToken ${JSON.stringify(token)} is not from a list of ${kind}s: list them again`, {
      argument: 'resumeToken',
    });
  const version = resourceVersionValue(String((perKind as Record<string, unknown>)[kind]));
  if (version === undefined) throw notIssued(token);
  return version;
}
