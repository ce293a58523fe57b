// Kubernetes' name vocabulary, in one place: DNS-1123 labels and subdomains, DNS-1035 labels, path-segment names,
// which of them each kind's objects use (as apimachinery and the API server's per-kind validation decide), apiVersions
// and kinds. A value reaches a request path only after passing here: a name such as ".." or "a/../.." would otherwise
// walk the API path (client libraries encode '/' but not dots, and URL normalisation then removes the segments).
// The texts follow apimachinery's (k8s.io/apimachinery/pkg/util/validation), so users see what kubectl would show.
import { badUserInput } from '../errors.js';

export const DNS1123_LABEL_MAX = 63;
export const DNS1123_SUBDOMAIN_MAX = 253;
export const DNS1035_LABEL_MAX = 63;
/** A kind is a DNS-1035 label once lower-cased (CRD names validation), so at most 63 characters. */
export const KIND_MAX = 63;

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1035_LABEL_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const CONFIG_MAP_KEY_FMT = '[-._a-zA-Z0-9]+';

const DNS1123_LABEL = new RegExp(`^${DNS1123_LABEL_FMT}$`);
const DNS1123_SUBDOMAIN = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const DNS1035_LABEL = new RegExp(`^${DNS1035_LABEL_FMT}$`);
const CONFIG_MAP_KEY = new RegExp(`^${CONFIG_MAP_KEY_FMT}$`);
const KIND = /^[A-Za-z][A-Za-z0-9]*$/;

const maxLen = (n: number) => `must be no more than ${n} characters`;
const regexError = (msg: string, fmt: string, ...examples: string[]) =>
  `${msg} (e.g. ${examples.map((e) => `'${e}'`).join(',  or ')}, regex used for validation is '${fmt}')`;

/** Problems of a DNS-1123 label (namespaces, and most values that must fit one DNS label); empty when valid. */
export function dns1123LabelProblems(value: string): string[] {
  const out: string[] = [];
  if (value.length > DNS1123_LABEL_MAX) out.push(maxLen(DNS1123_LABEL_MAX));
  if (!DNS1123_LABEL.test(value))
    out.push(
      regexError(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
        DNS1123_LABEL_FMT,
        'my-name',
        '123-abc',
      ),
    );
  return out;
}

/** Problems of a DNS-1123 subdomain (the names of most objects; API groups); empty when valid. */
export function dns1123SubdomainProblems(value: string): string[] {
  const out: string[] = [];
  if (value.length > DNS1123_SUBDOMAIN_MAX) out.push(maxLen(DNS1123_SUBDOMAIN_MAX));
  if (!DNS1123_SUBDOMAIN.test(value))
    out.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        DNS1123_SUBDOMAIN_FMT,
        'example.com',
      ),
    );
  return out;
}

/** Problems of a DNS-1035 label (Services; versions and plurals of custom resources); empty when valid. */
export function dns1035LabelProblems(value: string): string[] {
  const out: string[] = [];
  if (value.length > DNS1035_LABEL_MAX) out.push(maxLen(DNS1035_LABEL_MAX));
  if (!DNS1035_LABEL.test(value))
    out.push(
      regexError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        DNS1035_LABEL_FMT,
        'my-name',
        'abc-123',
      ),
    );
  return out;
}

/**
 * Problems of a name that only has to be one path segment (apimachinery's IsValidPathSegmentName: RBAC objects,
 * whose names may hold ':' and capitals, e.g. `system:controller:job-controller`). Empty is refused here too: an
 * empty segment addresses the collection.
 */
export function pathSegmentNameProblems(value: string): string[] {
  if (value === '') return ['may not be empty'];
  const out: string[] = [];
  for (const bad of ['.', '..']) if (value === bad) out.push(`may not be '${bad}'`);
  for (const bad of ['/', '%']) if (value.includes(bad)) out.push(`may not contain '${bad}'`);
  return out;
}

/** Problems of a ConfigMap or Secret data key: these are file names in a volume, not object names. */
export function configMapKeyProblems(value: string): string[] {
  const out: string[] = [];
  if (value.length > DNS1123_SUBDOMAIN_MAX) out.push(maxLen(DNS1123_SUBDOMAIN_MAX));
  if (!CONFIG_MAP_KEY.test(value))
    out.push(
      regexError(
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
        CONFIG_MAP_KEY_FMT,
        'key.name',
        'KEY_NAME',
        'key-name',
      ),
    );
  if (value === '.') out.push("must not be '.'");
  else if (value === '..') out.push("must not be '..'");
  else if (value.startsWith('..')) out.push("must not start with '..'");
  return out;
}

export const isDns1123Label = (value: string): boolean => dns1123LabelProblems(value).length === 0;
export const isDns1123Subdomain = (value: string): boolean => dns1123SubdomainProblems(value).length === 0;
export const isDns1035Label = (value: string): boolean => dns1035LabelProblems(value).length === 0;
export const isPathSegmentName = (value: string): boolean => pathSegmentNameProblems(value).length === 0;
export const isConfigMapKey = (value: string): boolean => configMapKeyProblems(value).length === 0;

// ------------------------------------------------------------------ label keys and values

/** The name part of a qualified name (label and annotation keys) and a label value: IsQualifiedName's format. */
const QUALIFIED_NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const QUALIFIED_NAME = new RegExp(`^${QUALIFIED_NAME_FMT}$`);
export const QUALIFIED_NAME_MAX = 63;
export const LABEL_VALUE_MAX = 63;

const isQualifiedNamePart = (name: string) => name.length <= QUALIFIED_NAME_MAX && QUALIFIED_NAME.test(name);

/** A label or annotation key: `[prefix/]name`, the prefix a DNS-1123 subdomain, the name at most 63 characters. */
export function isQualifiedName(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return isQualifiedNamePart(key);
  return isDns1123Subdomain(key.slice(0, slash)) && isQualifiedNamePart(key.slice(slash + 1));
}

/** A label value: empty, or at most 63 characters of the qualified-name format. */
export const isLabelValue = (value: string): boolean =>
  value === '' || (value.length <= LABEL_VALUE_MAX && QUALIFIED_NAME.test(value));

// ------------------------------------------------------------------ apiVersion, kind, resource

export interface GroupVersion {
  /** '' for the core group (`/api/<version>`). */
  group: string;
  version: string;
}

/**
 * Problems of an apiVersion: `version` (the core group) or `group/version`, the group a DNS-1123 subdomain (as API
 * groups and CRD groups are), the version a DNS-1035 label (CRD versions are; v1, v1beta1, v2alpha3 are the built-in
 * ones). Anything else (a second '/', '..', '?', '%', capitals) is refused, so the parts are path segments as they are.
 */
export function apiVersionProblems(apiVersion: string): string[] {
  if (apiVersion === '') return ['must not be empty'];
  const parts = apiVersion.split('/');
  if (parts.length > 2) return ["must be 'version' or 'group/version'"];
  const [group, version] = parts.length === 2 ? parts : ['', parts[0]];
  const out: string[] = [];
  if (parts.length === 2) for (const p of dns1123SubdomainProblems(group)) out.push(`group: ${p}`);
  for (const p of dns1035LabelProblems(version)) out.push(`version: ${p}`);
  return out;
}

/** The group and version of a valid apiVersion; undefined for an invalid one. */
export function parseApiVersion(apiVersion: string): GroupVersion | undefined {
  if (apiVersionProblems(apiVersion).length) return undefined;
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export const isApiVersion = (apiVersion: string): boolean => apiVersionProblems(apiVersion).length === 0;

/** Problems of a kind: a Go-style identifier (Pod, HorizontalPodAutoscaler, a CRD's kind). */
export function kindProblems(kind: string): string[] {
  const out: string[] = [];
  if (kind.length > KIND_MAX) out.push(maxLen(KIND_MAX));
  if (!KIND.test(kind))
    out.push(
      "a kind must start with a letter and consist of letters and digits only (e.g. 'Pod', regex used for validation is '[A-Za-z][A-Za-z0-9]*')",
    );
  return out;
}

export const isKind = (kind: string): boolean => kindProblems(kind).length === 0;

/**
 * Whether a discovery document's resource name can be used as the collection segment: lowercase, one segment (the
 * subresources `pods/status` are not collections). CRD plurals are DNS-1035 labels; built-in ones fit a DNS-1123 label.
 */
export const isResourceName = (plural: string): boolean => isDns1123Label(plural);

// ------------------------------------------------------------------ object names per kind

export type NameRule = 'dns1123-label' | 'dns1123-subdomain' | 'dns1035-label' | 'path-segment';

/**
 * The rule for an object's name, by group and kind, as the API server validates them (ValidateXName in
 * pkg/apis/<group>/validation): namespaces are DNS-1123 labels, Services DNS-1035 labels (they become DNS names),
 * RBAC objects path segments; everything else, custom resources included, DNS-1123 subdomains.
 */
const NAME_RULES: Record<string, NameRule> = {
  '/Namespace': 'dns1123-label',
  '/Service': 'dns1035-label',
  'rbac.authorization.k8s.io/Role': 'path-segment',
  'rbac.authorization.k8s.io/ClusterRole': 'path-segment',
  'rbac.authorization.k8s.io/RoleBinding': 'path-segment',
  'rbac.authorization.k8s.io/ClusterRoleBinding': 'path-segment',
};

/** The name rule of a kind in an apiVersion (`group/version`, or a bare version for the core group). */
export function nameRuleOf(apiVersion: string, kind: string): NameRule {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  return NAME_RULES[`${group}/${kind}`] ?? 'dns1123-subdomain';
}

const RULE_CHECK: Record<NameRule, (value: string) => string[]> = {
  'dns1123-label': dns1123LabelProblems,
  'dns1123-subdomain': dns1123SubdomainProblems,
  'dns1035-label': dns1035LabelProblems,
  'path-segment': pathSegmentNameProblems,
};

/** Problems of an object name under a rule; empty when valid. */
export const nameProblems = (rule: NameRule, value: string): string[] => RULE_CHECK[rule](value);

/** Problems of the name of an object of `kind` in `apiVersion`; empty when valid. */
export const objectNameProblems = (apiVersion: string, kind: string, name: string): string[] =>
  nameProblems(nameRuleOf(apiVersion, kind), name);

// ------------------------------------------------------------------ as GraphQL errors

/** A value that is not a string is shown as what it is; a long one is cut, so the error stays readable. */
const shown = (value: unknown) =>
  JSON.stringify(typeof value === 'string' && value.length > 80 ? `${value.slice(0, 80)}…` : value) ?? String(value);

function fail(argument: string, field: string, value: unknown, problems: string[], label?: string): never {
  throw badUserInput(`${label ? `${label}: ` : ''}invalid ${field} ${shown(value)}: ${problems.join('; ')}`, {
    argument,
  });
}

/** Throws BAD_USER_INPUT naming `argument` unless `value` is a string that passes `problems`. */
function check(
  argument: string,
  field: string,
  value: unknown,
  problems: (v: string) => string[],
  label?: string,
): void {
  if (typeof value !== 'string') fail(argument, field, value, ['must be a string'], label);
  const p = problems(value);
  if (p.length) fail(argument, field, value, p, label);
}

/** A namespace argument: a DNS-1123 label (BAD_USER_INPUT naming `argument` otherwise). */
export function validateNamespace(value: unknown, argument = 'namespace'): void {
  check(argument, 'namespace', value, dns1123LabelProblems);
}

/** An object name argument, by the rule of its kind (BAD_USER_INPUT naming `argument` otherwise). */
export function validateName(rule: NameRule, value: unknown, argument = 'name', field = 'name'): void {
  check(argument, field, value, (v) => nameProblems(rule, v));
}

export function validateApiVersion(value: unknown, argument = 'apiVersion'): void {
  check(argument, 'apiVersion', value, apiVersionProblems);
}

export function validateKind(value: unknown, argument = 'kind'): void {
  check(argument, 'kind', value, kindProblems);
}

export interface ObjectRef {
  apiVersion: unknown;
  kind: unknown;
  name: unknown;
  /** Optional: cluster-scoped objects have none, and a namespaced one may take a default. */
  namespace?: unknown;
}

/**
 * An object reference checked as a whole: apiVersion, kind, namespace (when given) and the name by its kind's rule.
 * Without `argPrefix`, each error names its own argument (`apiVersion`, `kind`, `namespace`, `name`), as for the
 * generic mutations. With it (e.g. `yaml` for applyYaml's documents), every error names that argument and the message
 * names the field as in the object (`metadata.name`), after `label` (e.g. `document 2`) when given.
 */
export function validateObjectRef(ref: ObjectRef, argPrefix?: string, label?: string): void {
  const arg = (own: string) => argPrefix ?? own;
  const field = (own: string, inObject: string) => (argPrefix ? inObject : own);
  check(arg('apiVersion'), 'apiVersion', ref.apiVersion, apiVersionProblems, label);
  check(arg('kind'), 'kind', ref.kind, kindProblems, label);
  if (ref.namespace !== undefined && ref.namespace !== null)
    check(arg('namespace'), field('namespace', 'metadata.namespace'), ref.namespace, dns1123LabelProblems, label);
  const rule = nameRuleOf(ref.apiVersion as string, ref.kind as string);
  check(arg('name'), field('name', 'metadata.name'), ref.name, (v) => nameProblems(rule, v), label);
}
