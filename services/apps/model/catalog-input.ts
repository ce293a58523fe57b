// The catalog's checks of its arguments (names, credentials) and of who is asking, before anything is read.
import { isAnonymous, type Viewer } from '../../common/authz.js';
import { badUserInput, unauthenticatedError } from '../../common/errors.js';
import { dns1123LabelProblems } from '../../common/k8s/names.js';
import type { Credentials } from './catalog-credentials.js';

const NAME_MAX = 63;
const CREDENTIAL_MAX = 4096;

export function signedIn(viewer: Viewer): void {
  if (isAnonymous(viewer)) throw unauthenticatedError('sign in first: this needs an access token or an API token');
}

export function checkName(value: unknown, argument: string): void {
  if (typeof value !== 'string') throw badUserInput(`${argument} must be a string`, { argument });
  const problems = dns1123LabelProblems(value);
  if (value.length > NAME_MAX || problems.length > 0)
    throw badUserInput(`${argument} ${JSON.stringify(value.slice(0, 80))} is not valid: ${problems.join('; ')}`, {
      argument,
    });
}

export function checkCredentials(username?: string | null, password?: string | null): Credentials | undefined {
  const u = username ?? '';
  const p = password ?? '';
  if (u === '' && p === '') return undefined;
  if (u === '') throw badUserInput('a password needs a username', { argument: 'username' });
  if (u.length > 256 || u.includes(':') || [...u].some((ch) => ch.charCodeAt(0) < 32 || ch.charCodeAt(0) === 127))
    throw badUserInput('username must be at most 256 printable characters without ":"', { argument: 'username' });
  if (p.length > CREDENTIAL_MAX || p.includes('\u0000'))
    throw badUserInput(`password must be at most ${CREDENTIAL_MAX} characters`, { argument: 'password' });
  return { username: u, password: p };
}
