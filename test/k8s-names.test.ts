// services/common/k8s/names.ts, table-driven. The valid and invalid values of the DNS rules and ConfigMap keys are
// the cases of apimachinery's own validation tests (k8s.io/apimachinery/pkg/util/validation); the path-segment
// cases follow its IsValidPathSegmentName; apiVersions, kinds and per-kind rules are what the API server serves.
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  apiVersionProblems,
  isApiVersion,
  isConfigMapKey,
  isDns1035Label,
  isDns1123Label,
  isDns1123Subdomain,
  isKind,
  isLabelValue,
  isQualifiedName,
  isPathSegmentName,
  isResourceName,
  nameRuleOf,
  objectNameProblems,
  parseApiVersion,
  validateApiVersion,
  validateKind,
  validateName,
  validateNamespace,
  validateObjectRef,
  type ObjectRef,
} from '../services/common/k8s/names.js';

const r = (s: string, n: number) => s.repeat(n);

const LABEL_GOOD = [
  'a',
  'ab',
  'abc',
  'a1',
  'a-1',
  'a--1--2--b',
  '0',
  '01',
  '012',
  '1a',
  '1-a',
  '1--a--b--2',
  r('a', 63),
];
const LABEL_BAD = [
  '',
  'A',
  'ABC',
  'aBc',
  'A1',
  'A-1',
  '1-A',
  '-',
  'a-',
  '-a',
  '1-',
  '-1',
  '_',
  'a_',
  '_a',
  'a_b',
  '1_',
  '_1',
  '1_2',
  '.',
  'a.',
  '.a',
  'a.b',
  '1.',
  '.1',
  '1.2',
  ' ',
  'a ',
  ' a',
  'a b',
  '1 ',
  ' 1',
  '1 2',
  r('a', 64),
];
const SUBDOMAIN_GOOD = [
  'a',
  'ab',
  'abc',
  'a1',
  'a-1',
  'a--1--2--b',
  '0',
  '01',
  '012',
  '1a',
  '1-a',
  '1--a--b--2',
  'a.a',
  'ab.a',
  'abc.a',
  'a1.a',
  'a-1.a',
  'a--1--2--b.a',
  'a.1',
  'ab.1',
  'abc.1',
  'a1.1',
  'a-1.1',
  'a--1--2--b.1',
  '0.a',
  '01.a',
  '012.a',
  '1a.a',
  '1-a.a',
  '0.1',
  '01.1',
  '012.1',
  '1a.1',
  '1-a.1',
  '1--a--b--2.1',
  'a.b.c.d.e',
  'aa.bb.cc.dd.ee',
  '1.2.3.4.5',
  '11.22.33.44.55',
  r('a', 253),
];
const SUBDOMAIN_BAD = [
  '',
  'A',
  'ABC',
  'aBc',
  'A1',
  'A-1',
  '1-A',
  '-',
  'a-',
  '-a',
  '1-',
  '-1',
  '_',
  'a_',
  '_a',
  'a_b',
  '1_',
  '_1',
  '1_2',
  '.',
  'a.',
  '.a',
  'a..b',
  '1.',
  '.1',
  '1..2',
  ' ',
  'a ',
  ' a',
  'a b',
  '1 ',
  ' 1',
  '1 2',
  'A.a',
  'aB.a',
  'ab.A',
  'A1.a',
  'a1.A',
  'A.1',
  'aB.1',
  'A1.1',
  '1A.1',
  '0.A',
  '01.A',
  '012.A',
  '1A.a',
  '1a.A',
  'A.B.C.D.E',
  'AA.BB.CC.DD.EE',
  'a.B.c.d.e',
  'aa.bB.cc.dd.ee',
  'a@b',
  'a,b',
  'a;b',
  'a:b',
  'a%b',
  'a?b',
  'a$b',
  r('a', 254),
];
const DNS1035_GOOD = ['a', 'ab', 'abc', 'a1', 'a-1', 'a--1--2--b', r('a', 63)];
const DNS1035_BAD = ['0', '01', '012', '1a', '1-a', '1--a--b--2', ...LABEL_BAD];
const CONFIG_KEY_GOOD = [
  'a',
  'good',
  'good-good',
  'still.good',
  'this.is.also.good',
  '.so.is.this',
  'THIS_IS_GOOD',
  'so_is_this_17',
];
const CONFIG_KEY_BAD = ['.', '..', '..bad', 'b*d', 'bad!&bad', '', 'a/b', r('a', 254)];
/** The attacks of issue 12 that walk the path: no rule admits them, nor are they apiVersions or kinds. */
const PATH_WALKS = ['..', '.', 'a/../..', '../..', 'x/..', '%2e%2e', '%2E%2E', '..%2f..', 'a%2fb', ''];
/**
 * Query strings and fragments: no DNS rule admits them. RBAC names may hold them (apimachinery's path-segment rule
 * allows them), which is safe because the client encodes every segment: `a?x=1` stays one segment.
 */
const QUERY_LIKE = ['?', 'a?x=1', '#', 'a#b', 'a&b=c'];

describe('the DNS rules, with apimachinery’s cases', () => {
  it.each(LABEL_GOOD)('DNS-1123 label %j is valid', (v) => expect(isDns1123Label(v)).toBe(true));
  it.each(LABEL_BAD)('DNS-1123 label %j is invalid', (v) => expect(isDns1123Label(v)).toBe(false));
  it.each(SUBDOMAIN_GOOD)('DNS-1123 subdomain %j is valid', (v) => expect(isDns1123Subdomain(v)).toBe(true));
  it.each(SUBDOMAIN_BAD)('DNS-1123 subdomain %j is invalid', (v) => expect(isDns1123Subdomain(v)).toBe(false));
  it.each(DNS1035_GOOD)('DNS-1035 label %j is valid', (v) => expect(isDns1035Label(v)).toBe(true));
  it.each(DNS1035_BAD)('DNS-1035 label %j is invalid', (v) => expect(isDns1035Label(v)).toBe(false));
  it.each(CONFIG_KEY_GOOD)('ConfigMap key %j is valid', (v) => expect(isConfigMapKey(v)).toBe(true));
  it.each(CONFIG_KEY_BAD)('ConfigMap key %j is invalid', (v) => expect(isConfigMapKey(v)).toBe(false));
});

// apimachinery's TestIsQualifiedName and TestIsValidLabelValue (label and annotation keys, label values).
const QUALIFIED_GOOD = [
  'simple',
  'now-with-dashes',
  '1-starts-with-num',
  '1234',
  'simple/simple',
  'now-with-dashes/simple',
  'now-with-dashes/now-with-dashes',
  'now.with.dots/simple',
  'now-with.dashes-and.dots/simple',
  '1-num.2-num/3-num',
  '1234/5678',
  '1.2.3.4/5678',
  'Uppercase_Is_OK_123',
  'example.com/Uppercase_Is_OK_123',
  'requests.storage-foo',
  r('a', 63),
  `${r('a', 253)}/${r('b', 63)}`,
];
const QUALIFIED_BAD = [
  'nospecialchars%^=@',
  'cantendwithadash-',
  '-cantstartwithadash-',
  'only/one/slash',
  'Example.com/abc',
  'example_com/abc',
  'example.com/',
  '/simple',
  r('a', 64),
  `${r('a', 254)}/abc`,
  '',
];
const LABEL_VALUE_GOOD = [
  'simple',
  'now-with-dashes',
  '1-starts-with-num',
  'end-with-num-1',
  '1234',
  r('a', 63),
  '',
  'A',
  'AB',
  'AbC',
  'A-b',
  'a_b',
  'a.b',
];
const LABEL_VALUE_BAD = [
  'nospecialchars%^=@',
  'Tama-nui-te-rā',
  'á',
  r('a', 64),
  '-starts-with-dash',
  'ends-with-dash-',
  '.starts.with.dot',
  'ends.with.dot.',
  'a/b',
];

describe('label keys and values, with apimachinery’s cases', () => {
  it.each(QUALIFIED_GOOD)('qualified name %j', (v) => expect(isQualifiedName(v)).toBe(true));
  it.each(QUALIFIED_BAD)('not a qualified name: %j', (v) => expect(isQualifiedName(v)).toBe(false));
  it.each(LABEL_VALUE_GOOD)('label value %j', (v) => expect(isLabelValue(v)).toBe(true));
  it.each(LABEL_VALUE_BAD)('not a label value: %j', (v) => expect(isLabelValue(v)).toBe(false));
});

describe('path-segment names (RBAC objects)', () => {
  it.each(['system:controller:job-controller', 'Admin', 'a b', 'edit', '...', '.a', 'a..', 'a?b'])('%j is valid', (v) =>
    expect(isPathSegmentName(v)).toBe(true),
  );
  it.each(['.', '..', 'a/b', '../x', 'a%2e', '%2e%2e', ''])('%j is invalid', (v) =>
    expect(isPathSegmentName(v)).toBe(false),
  );
});

describe('apiVersion', () => {
  const good: [string, string, string][] = [
    ['v1', '', 'v1'],
    ['apps/v1', 'apps', 'v1'],
    ['batch/v1', 'batch', 'v1'],
    ['autoscaling/v2', 'autoscaling', 'v2'],
    ['networking.k8s.io/v1', 'networking.k8s.io', 'v1'],
    ['apiextensions.k8s.io/v1beta1', 'apiextensions.k8s.io', 'v1beta1'],
    ['example.com/v2alpha3', 'example.com', 'v2alpha3'],
    ['stable.example.com/v1', 'stable.example.com', 'v1'],
    // CRD versions are any DNS-1035 label (they sort after the Kubernetes-style ones).
    ['example.com/foo', 'example.com', 'foo'],
  ];
  it.each(good)('%j is group %j, version %j', (v, group, version) => {
    expect(apiVersionProblems(v)).toEqual([]);
    expect(parseApiVersion(v)).toEqual({ group, version });
  });
  const bad = [
    ...PATH_WALKS,
    '../api/v1?x=',
    'v1/../../api',
    'apps/v1/namespaces/x',
    '../../api/v1',
    'v1?x=',
    'v1#x',
    '%2e%2e/api/v1',
    'apps/v1/../../../api/v1',
    'V1',
    'apps/V1',
    'Apps/v1',
    '/v1',
    'v1/',
    'apps//v1',
    'apps/v1/',
    ' v1',
    'v1 ',
    'apps/1',
    '1',
    'apps/-v1',
    '-apps/v1',
    'apps_x/v1',
    `${r('a', 254)}/v1`,
    `apps/${r('v', 64)}`,
    'apps/v1/x',
  ];
  it.each(bad)('%j is refused', (v) => {
    expect(isApiVersion(v)).toBe(false);
    expect(parseApiVersion(v)).toBeUndefined();
  });
});

describe('kind', () => {
  it.each(['Pod', 'ConfigMap', 'HorizontalPodAutoscaler', 'CronJob', 'Widget2', 'x', r('K', 63)])('%j is a kind', (v) =>
    expect(isKind(v)).toBe(true),
  );
  it.each([
    ...PATH_WALKS,
    'ConfigMap/../..',
    'Config-Map',
    'Config_Map',
    '1Pod',
    'Pod ',
    ' Pod',
    'Pod?',
    'Pod.v1',
    r('K', 64),
  ])('%j is refused', (v) => expect(isKind(v)).toBe(false));
});

describe('resource names from discovery', () => {
  it.each(['pods', 'deployments', 'horizontalpodautoscalers', 'widgets', 'crontabs'])('%j is a collection', (v) =>
    expect(isResourceName(v)).toBe(true),
  );
  it.each(['pods/status', 'deployments/scale', '..', '../../api/v1/namespaces', 'Pods', '', 'a.b'])('%j is not', (v) =>
    expect(isResourceName(v)).toBe(false),
  );
});

describe('the name rule of each kind', () => {
  const rules: [string, string, string][] = [
    ['v1', 'Namespace', 'dns1123-label'],
    ['v1', 'Service', 'dns1035-label'],
    ['v1', 'Pod', 'dns1123-subdomain'],
    ['v1', 'Node', 'dns1123-subdomain'],
    ['v1', 'ConfigMap', 'dns1123-subdomain'],
    ['v1', 'Secret', 'dns1123-subdomain'],
    ['v1', 'ServiceAccount', 'dns1123-subdomain'],
    ['v1', 'PersistentVolumeClaim', 'dns1123-subdomain'],
    ['v1', 'PersistentVolume', 'dns1123-subdomain'],
    ['v1', 'Event', 'dns1123-subdomain'],
    ['apps/v1', 'Deployment', 'dns1123-subdomain'],
    ['apps/v1', 'StatefulSet', 'dns1123-subdomain'],
    ['apps/v1', 'DaemonSet', 'dns1123-subdomain'],
    ['apps/v1', 'ReplicaSet', 'dns1123-subdomain'],
    ['batch/v1', 'Job', 'dns1123-subdomain'],
    ['batch/v1', 'CronJob', 'dns1123-subdomain'],
    ['networking.k8s.io/v1', 'Ingress', 'dns1123-subdomain'],
    ['networking.k8s.io/v1', 'NetworkPolicy', 'dns1123-subdomain'],
    ['storage.k8s.io/v1', 'StorageClass', 'dns1123-subdomain'],
    ['autoscaling/v2', 'HorizontalPodAutoscaler', 'dns1123-subdomain'],
    ['apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'dns1123-subdomain'],
    ['rbac.authorization.k8s.io/v1', 'Role', 'path-segment'],
    ['rbac.authorization.k8s.io/v1', 'ClusterRole', 'path-segment'],
    ['rbac.authorization.k8s.io/v1', 'RoleBinding', 'path-segment'],
    ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'path-segment'],
    // A kind is looked up with its group: a custom resource called Namespace or Role is a custom resource.
    ['example.com/v1', 'Namespace', 'dns1123-subdomain'],
    ['example.com/v1', 'Role', 'dns1123-subdomain'],
    ['example.com/v1', 'Widget', 'dns1123-subdomain'],
  ];
  it.each(rules)('%s %s names are %s', (apiVersion, kind, rule) => expect(nameRuleOf(apiVersion, kind)).toBe(rule));

  it('checks a name by its kind', () => {
    expect(objectNameProblems('v1', 'Pod', 'web-1.a')).toEqual([]);
    expect(objectNameProblems('v1', 'Namespace', 'web-1.a')).not.toEqual([]);
    expect(objectNameProblems('v1', 'Service', '1-web')).not.toEqual([]);
    expect(objectNameProblems('v1', 'Pod', '1-web')).toEqual([]);
    expect(objectNameProblems('rbac.authorization.k8s.io/v1', 'ClusterRole', 'system:aggregate-to-edit')).toEqual([]);
    expect(objectNameProblems('v1', 'ConfigMap', 'system:aggregate-to-edit')).not.toEqual([]);
  });

  // The names the API server takes or refuses per kind: a dot ends a label, a colon or capital a DNS name.
  const verdicts: [string, string, string, boolean][] = [
    ['v1', 'Service', 'a.b', false],
    ['v1', 'Service', 'web', true],
    ['v1', 'Service', 'a-1', true],
    ['v1', 'Namespace', 'a.b', false],
    ['v1', 'Namespace', '1-web', true],
    ['v1', 'ConfigMap', 'a.b', true],
    ['v1', 'Secret', 'a.b', true],
    ['v1', 'Pod', 'a.b', true],
    ['apps/v1', 'Deployment', 'a.b', true],
    ['apps/v1', 'Deployment', 'A', false],
    ['rbac.authorization.k8s.io/v1', 'ClusterRole', 'system:foo', true],
    ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'System:Foo Bar', true],
    ['rbac.authorization.k8s.io/v1', 'Role', 'a/b', false],
    ['rbac.authorization.k8s.io/v1', 'RoleBinding', 'a%2F', false],
    ['rbac.authorization.k8s.io/v1', 'Role', '..', false],
    ['v1', 'ConfigMap', 'system:foo', false],
    ['example.com/v1', 'Role', 'system:foo', false],
  ];
  it.each(verdicts)('%s %s %j accepted: %s', (apiVersion, kind, name, ok) =>
    expect(objectNameProblems(apiVersion, kind, name).length === 0).toBe(ok),
  );

  it('names the problems in the API server`s words', () => {
    expect(objectNameProblems('v1', 'Service', 'a.b')).toEqual([
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    ]);
    expect(objectNameProblems('v1', 'Namespace', 'a.b')).toEqual([
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    ]);
    expect(objectNameProblems('rbac.authorization.k8s.io/v1', 'Role', 'a/b%')).toEqual([
      "may not contain '/'",
      "may not contain '%'",
    ]);
    expect(objectNameProblems('rbac.authorization.k8s.io/v1', 'Role', '..')).toEqual(["may not be '..'"]);
    expect(objectNameProblems('v1', 'Service', 'a'.repeat(64))).toEqual(['must be no more than 63 characters']);
  });

  it.each(PATH_WALKS)('no rule admits %j', (v) => {
    for (const [apiVersion, kind] of rules) expect(objectNameProblems(apiVersion, kind, v)).not.toEqual([]);
  });

  it.each(QUERY_LIKE)('no DNS rule admits %j', (v) => {
    for (const [apiVersion, kind, rule] of rules)
      if (rule !== 'path-segment') expect(objectNameProblems(apiVersion, kind, v)).not.toEqual([]);
    expect(isApiVersion(v)).toBe(false);
    expect(isKind(v)).toBe(false);
  });
});

/** The BAD_USER_INPUT a validator throws: its message and argument, or undefined when it passes. */
function refusal(f: () => void): { message: string; argument: unknown } | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(GraphQLError);
    const g = e as GraphQLError;
    expect(g.extensions.code).toBe('BAD_USER_INPUT');
    return { message: g.message, argument: g.extensions.argument };
  }
}

describe('validators: BAD_USER_INPUT naming the argument', () => {
  it('namespace, name, apiVersion and kind arguments', () => {
    expect(refusal(() => validateNamespace('shop'))).toBeUndefined();
    expect(refusal(() => validateNamespace('..'))).toMatchObject({
      argument: 'namespace',
      message: expect.stringContaining('RFC 1123 label'),
    });
    expect(refusal(() => validateNamespace(undefined, 'project'))).toMatchObject({ argument: 'project' });
    expect(refusal(() => validateName('dns1123-subdomain', 'web-1'))).toBeUndefined();
    expect(refusal(() => validateName('dns1123-subdomain', '..'))).toMatchObject({
      argument: 'name',
      message: expect.stringContaining('"..'),
    });
    expect(refusal(() => validateName('dns1123-subdomain', r('a', 254)))).toMatchObject({
      message: expect.stringContaining('must be no more than 253 characters'),
    });
    expect(refusal(() => validateApiVersion('v1/../../api'))).toMatchObject({ argument: 'apiVersion' });
    expect(refusal(() => validateKind('Pod/..'))).toMatchObject({ argument: 'kind' });
    expect(refusal(() => validateKind(3))).toMatchObject({
      argument: 'kind',
      message: expect.stringContaining('must be a string'),
    });
  });

  const ok: ObjectRef = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'settings' };
  const refs: [string, ObjectRef, string][] = [
    ['apiVersion', { ...ok, apiVersion: '../api/v1?x=' }, 'apiVersion'],
    ['kind', { ...ok, kind: 'ConfigMap/..' }, 'kind'],
    ['namespace', { ...ok, namespace: 'shop/..' }, 'namespace'],
    ['name', { ...ok, name: '..' }, 'name'],
    ['name by kind', { ...ok, kind: 'Namespace', namespace: undefined, name: 'a.b' }, 'name'],
  ];
  it('an object reference passes whole, or names the argument at fault', () => {
    expect(refusal(() => validateObjectRef(ok))).toBeUndefined();
    expect(refusal(() => validateObjectRef({ ...ok, namespace: null }))).toBeUndefined();
    expect(
      refusal(() =>
        validateObjectRef({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'system:view' }),
      ),
    ).toBeUndefined();
    for (const [, ref, argument] of refs) expect(refusal(() => validateObjectRef(ref))).toMatchObject({ argument });
  });

  it('with a prefix (applyYaml documents): the argument is the prefix, the field as in the object, after the label', () => {
    expect(refusal(() => validateObjectRef({ ...ok, name: '..' }, 'yaml', 'document 2'))).toMatchObject({
      argument: 'yaml',
      message: expect.stringMatching(/^document 2: invalid metadata\.name "\.\."/),
    });
    expect(refusal(() => validateObjectRef({ ...ok, namespace: '..' }, 'yaml'))).toMatchObject({
      argument: 'yaml',
      message: expect.stringMatching(/^invalid metadata\.namespace/),
    });
    expect(refusal(() => validateObjectRef({ ...ok, apiVersion: 'v1/../../api' }, 'yaml', 'document 1'))).toMatchObject(
      { argument: 'yaml', message: expect.stringMatching(/^document 1: invalid apiVersion/) },
    );
  });
});
