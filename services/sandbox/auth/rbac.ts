// RBAC as kube-apiserver's rbac/v1 authorizer evaluates it over the Roles, ClusterRoles and bindings in the store,
// behind the privileged `system:masters` group, plus the bootstrap rules every authenticated user has
// (system:basic-user, system:discovery, system:public-info-viewer) that a bare sandbox does not store.
import type { Store } from '../store.js';
import type { KObject } from '../types.js';

/** Who a request is from (authentication's user.Info). */
export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** What is asked: a resource request or (path set) a non-resource one. */
export interface Attributes {
  verb: string;
  namespace?: string;
  group?: string;
  resource?: string;
  subresource?: string;
  name?: string;
  path?: string;
}

export interface Decision {
  allowed: boolean;
  reason: string;
}

interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

const RBAC = 'rbac.authorization.k8s.io';
export const PRIVILEGED_GROUP = 'system:masters';

/** The bootstrap ClusterRoles bound to system:authenticated (and the public ones to everybody) on every cluster. */
const AUTHENTICATED_RULES: PolicyRule[] = [
  {
    verbs: ['create'],
    apiGroups: ['authorization.k8s.io'],
    resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
  },
  { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
  {
    verbs: ['get'],
    nonResourceURLs: [
      '/api',
      '/api/*',
      '/apis',
      '/apis/*',
      '/healthz',
      '/livez',
      '/openapi',
      '/openapi/*',
      '/readyz',
      '/version',
      '/version/',
    ],
  },
];

const has = (list: string[] | undefined, value: string) => !!list && (list.includes('*') || list.includes(value));

function resourceMatches(rule: PolicyRule, a: Attributes): boolean {
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : (a.resource ?? '');
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    if (a.subresource && r === `*/${a.subresource}`) return true;
  }
  return false;
}

/** rbac/v1 RuleAllows. */
export function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  if (a.path !== undefined) {
    if (!has(rule.verbs, a.verb)) return false;
    return (rule.nonResourceURLs ?? []).some(
      (u) => u === '*' || u === a.path || (u.endsWith('*') && a.path!.startsWith(u.slice(0, -1))),
    );
  }
  return (
    has(rule.verbs, a.verb) &&
    has(rule.apiGroups, a.group ?? '') &&
    resourceMatches(rule, a) &&
    (!rule.resourceNames?.length || (!!a.name && rule.resourceNames.includes(a.name)))
  );
}

function subjectMatches(s: Subject, user: UserInfo, bindingNamespace: string): boolean {
  switch (s.kind) {
    case 'User':
      return s.name === user.username;
    case 'Group':
      return user.groups.includes(s.name);
    case 'ServiceAccount':
      return user.username === `system:serviceaccount:${s.namespace || bindingNamespace}:${s.name}`;
    default:
      return false;
  }
}

const describeSubject = (s: Subject, bindingNamespace: string) =>
  s.kind === 'ServiceAccount'
    ? `${s.kind} ${JSON.stringify(`${s.name}/${s.namespace || bindingNamespace}`)}`
    : `${s.kind} ${JSON.stringify(s.name)}`;

/** One binding that applies to the user, with the rules of the role it grants and where they apply. */
interface Grant {
  source: string;
  rules: PolicyRule[];
  /** undefined: everywhere (a ClusterRoleBinding). */
  namespace?: string;
}

function rulesOf(store: Store, ref: { kind?: string; name?: string }, namespace: string | undefined): PolicyRule[] {
  const plural = ref.kind === 'ClusterRole' ? 'clusterroles' : 'roles';
  const rt = store.registry.byPlural(RBAC, plural);
  if (!rt || !ref.name) return [];
  const role: KObject | undefined = store.get(rt, plural === 'roles' ? namespace : undefined, ref.name);
  return (role?.rules as PolicyRule[] | undefined) ?? [];
}

function grants(store: Store, user: UserInfo, namespace: string | undefined): Grant[] {
  const out: Grant[] = [];
  const crb = store.registry.byPlural(RBAC, 'clusterrolebindings');
  const rb = store.registry.byPlural(RBAC, 'rolebindings');
  const visit = (b: KObject, ns: string | undefined) => {
    const ref = (b.roleRef ?? {}) as { kind?: string; name?: string };
    for (const s of (b.subjects ?? []) as Subject[]) {
      if (!subjectMatches(s, user, ns ?? '')) continue;
      const name = ns ? `${b.metadata.name}/${ns}` : b.metadata.name;
      out.push({
        source: `${ns ? 'RoleBinding' : 'ClusterRoleBinding'} ${JSON.stringify(name)} of ${ref.kind} ${JSON.stringify(ref.name)} to ${describeSubject(s, ns ?? '')}`,
        rules: rulesOf(store, ref, ns),
        namespace: ns,
      });
      break;
    }
  };
  for (const b of crb ? store.list(crb) : []) visit(b, undefined);
  if (namespace && rb) for (const b of store.list(rb, namespace)) visit(b, namespace);
  return out;
}

/** The authorizers' union: privileged group, then RBAC; a denial has no reason, as RBAC gives none. */
export function authorize(store: Store, user: UserInfo, a: Attributes): Decision {
  if (user.groups.includes(PRIVILEGED_GROUP)) return { allowed: true, reason: '' };
  if (user.groups.includes('system:authenticated')) {
    const rule = AUTHENTICATED_RULES.find((r) => ruleAllows(r, a));
    if (rule) {
      const role = rule.nonResourceURLs ? 'system:discovery' : 'system:basic-user';
      return {
        allowed: true,
        reason: `RBAC: allowed by ClusterRoleBinding "${role}" of ClusterRole "${role}" to Group "system:authenticated"`,
      };
    }
  }
  for (const g of grants(store, user, a.path === undefined ? a.namespace : undefined)) {
    // Cluster-scoped and non-resource requests are granted by ClusterRoleBindings only.
    if (g.namespace !== undefined && (a.path !== undefined || !a.namespace)) continue;
    if (g.rules.some((r) => ruleAllows(r, a))) return { allowed: true, reason: `RBAC: allowed by ${g.source}` };
  }
  return { allowed: false, reason: '' };
}

/** SelfSubjectRulesReview: every rule that applies to the user in a namespace. */
export function rulesFor(
  store: Store,
  user: UserInfo,
  namespace: string,
): { resourceRules: PolicyRule[]; nonResourceRules: PolicyRule[] } {
  const rules: PolicyRule[] = [];
  if (user.groups.includes(PRIVILEGED_GROUP))
    rules.push({ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, { verbs: ['*'], nonResourceURLs: ['*'] });
  if (user.groups.includes('system:authenticated')) rules.push(...AUTHENTICATED_RULES);
  for (const g of grants(store, user, namespace)) rules.push(...g.rules);
  const resourceRules = rules
    .filter((r) => r.resources?.length)
    .map((r) => ({
      verbs: r.verbs ?? [],
      apiGroups: r.apiGroups ?? [],
      resources: r.resources ?? [],
      ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}),
    }));
  const nonResourceRules = rules
    .filter((r) => r.nonResourceURLs?.length)
    .map((r) => ({ verbs: r.verbs ?? [], nonResourceURLs: r.nonResourceURLs ?? [] }));
  return { resourceRules, nonResourceRules };
}
