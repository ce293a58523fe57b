// KubeSphere's tenancy roles, and the names accounts accepts for users, workspaces and projects.
import { badUserInput } from '../../common/errors.js';
// Workspaces and projects are Kubernetes names (a DNS label: the project is a namespace).
import { isDns1123Label } from '../../common/k8s/names.js';

export const PLATFORM_ROLES = ['platform-admin', 'platform-regular'] as const;
export const WORKSPACE_ROLES = ['workspace-admin', 'workspace-regular', 'workspace-viewer'] as const;
export const PROJECT_ROLES = ['project-admin', 'project-operator', 'project-viewer'] as const;
export type PlatformRole = (typeof PLATFORM_ROLES)[number];
export type WorkspaceRole = (typeof WORKSPACE_ROLES)[number];
export type ProjectRole = (typeof PROJECT_ROLES)[number];

export const USER_STATES = ['ACTIVE', 'DISABLED', 'LOCKED'] as const;
export type UserState = (typeof USER_STATES)[number];

function oneOf<T extends string>(kind: string, allowed: readonly T[], value: string): T {
  if (!(allowed as readonly string[]).includes(value))
    throw badUserInput(`unknown ${kind} ${JSON.stringify(value)}: expected one of ${allowed.join(', ')}`, {
      field: 'role',
    });
  return value as T;
}
export const platformRole = (v: string) => oneOf('platform role', PLATFORM_ROLES, v);
export const workspaceRole = (v: string) => oneOf('workspace role', WORKSPACE_ROLES, v);
export const projectRole = (v: string) => oneOf('project role', PROJECT_ROLES, v);

// Usernames as KubeSphere's: lowercase letters, digits, '-', '_' and '.', starting and ending alphanumeric.
const USERNAME = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;

export function validUsername(v: string, field = 'username'): string {
  if (!USERNAME.test(v))
    throw badUserInput(
      `invalid username ${JSON.stringify(v)}: 1-63 lowercase letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
      { field },
    );
  return v;
}
/** A check of a name that must be a DNS label (workspaces, projects), named `what` in its message and field. */
function dnsLabelName(what: 'workspace' | 'project') {
  return (v: string, field: string = what): string => {
    if (!isDns1123Label(v))
      throw badUserInput(
        `invalid ${what} name ${JSON.stringify(v)}: a DNS label (1-63 lowercase letters, digits and '-')`,
        { field },
      );
    return v;
  };
}
export const validWorkspaceName = dnsLabelName('workspace');
export const validProjectName = dnsLabelName('project');
// No whitespace or control characters (a NUL byte cannot even be stored).
const EMAIL = /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+\.[^\s@\p{Cc}]+$/u;
export function validEmail(v: string | null | undefined): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (v.length > 254 || !EMAIL.test(v)) throw badUserInput(`invalid email ${JSON.stringify(v)}`, { field: 'email' });
  return v;
}
export function validDisplayName(v: string | null | undefined): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (v.length > 256) throw badUserInput('displayName is longer than 256 characters', { field: 'displayName' });
  if (v.includes('\u0000')) throw badUserInput('displayName contains a NUL character', { field: 'displayName' });
  return v;
}
