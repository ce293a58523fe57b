import { describe, expect, it } from 'vitest';
import { applyPatch } from '../services/sandbox/patch.js';
import { Registry, makeResourceType } from '../services/sandbox/registry.js';
import type { Container, EnvVar, KObject, Volume } from '../services/sandbox/types.js';
import { apiError } from './harness/api-error.js';

const registry = new Registry();
const deployments = registry.get('apps', 'v1', 'deployments')!;
const pods = registry.get('', 'v1', 'pods')!;
const widgets = makeResourceType({
  group: 'example.com',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  crdName: 'widgets.example.com',
  schema: {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        properties: {
          size: { type: 'integer' },
          items: {
            type: 'array',
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['id'],
            items: { type: 'object' },
          },
        },
      },
    },
  },
});

const SMP = 'application/strategic-merge-patch+json';
const MERGE = 'application/merge-patch+json';
const JSONPATCH = 'application/json-patch+json';
const APPLY = 'application/apply-patch+yaml';

function deployment(): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: 'u-1',
      resourceVersion: '7',
      labels: { app: 'web', tier: 'frontend' },
      finalizers: ['example.com/a', 'example.com/b', 'example.com/c'],
    },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'nginx:1.25',
              ports: [{ containerPort: 80, protocol: 'TCP' }],
              env: [
                { name: 'MODE', value: 'prod' },
                { name: 'LOG', value: 'info' },
              ],
            },
            { name: 'sidecar', image: 'envoy:1.29', env: [{ name: 'PORT', value: '9901' }] },
          ],
        },
      },
    },
    status: { replicas: 2 },
  };
}

const patch = (
  type: string,
  current: KObject | undefined,
  body: unknown,
  ctx: Partial<Parameters<typeof applyPatch>[3]> = {},
) => applyPatch(type, current, typeof body === 'string' ? body : JSON.stringify(body), { rt: deployments, ...ctx });

const containers = (o: KObject): Container[] => o.spec.template.spec.containers;

describe('strategic merge patch', () => {
  it('changes one container by name and keeps the other, without touching the input', () => {
    const current = deployment();
    const before = structuredClone(current);
    const out = patch(SMP, current, {
      spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } } },
    });
    expect(containers(out).map((c) => [c.name, c.image])).toEqual([
      ['app', 'nginx:1.27'],
      ['sidecar', 'envoy:1.29'],
    ]);
    expect(containers(out)[0].env).toHaveLength(2);
    expect(current).toEqual(before);
  });

  it('merges env by name inside a container, adds new items and deletes with null', () => {
    const out = patch(SMP, deployment(), {
      metadata: { labels: { tier: null } },
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'app',
                env: [
                  { name: 'LOG', value: 'debug' },
                  { name: 'NEW', value: '1' },
                ],
              },
            ],
          },
        },
      },
    });
    expect(containers(out)[0].env).toEqual([
      { name: 'MODE', value: 'prod' },
      { name: 'LOG', value: 'debug' },
      { name: 'NEW', value: '1' },
    ]);
    expect(out.metadata.labels).toEqual({ app: 'web' });
  });

  it('deletes a container with $patch: delete', () => {
    const out = patch(SMP, deployment(), {
      spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } } },
    });
    expect(containers(out).map((c) => c.name)).toEqual(['app']);
  });

  it('honours $setElementOrder', () => {
    const out = patch(SMP, deployment(), {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'app' }],
            containers: [{ name: 'app', image: 'nginx:1.27' }],
          },
        },
      },
    });
    expect(containers(out).map((c) => c.name)).toEqual(['sidecar', 'app']);
    expect(containers(out)[1].image).toBe('nginx:1.27');
  });

  it('keeps only $retainKeys in a union field (kubectl apply switching strategy to Recreate)', () => {
    const out = patch(SMP, deployment(), {
      spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null } },
    });
    expect(out.spec.strategy).toEqual({ type: 'Recreate' });
  });

  it('removes finalizers with $deleteFromPrimitiveList and merges finalizers as a set', () => {
    const out = patch(SMP, deployment(), {
      metadata: {
        '$deleteFromPrimitiveList/finalizers': ['example.com/b'],
        finalizers: ['example.com/a', 'example.com/d'],
      },
    });
    expect(out.metadata.finalizers).toEqual(['example.com/a', 'example.com/c', 'example.com/d']);
  });

  it('replaces lists without a merge key and whole maps with $patch: replace', () => {
    const out = patch(SMP, deployment(), {
      spec: {
        template: {
          spec: { tolerations: [{ key: 'a', operator: 'Exists' }], containers: [{ name: 'app', args: ['--x'] }] },
          metadata: { labels: { $patch: 'replace', app: 'web', v: '2' } },
        },
      },
    });
    expect(out.spec.template.spec.tolerations).toEqual([{ key: 'a', operator: 'Exists' }]);
    expect(out.spec.template.metadata.labels).toEqual({ app: 'web', v: '2' });
    const again = patch(SMP, out, { spec: { template: { spec: { containers: [{ name: 'app', args: ['--y'] }] } } } });
    expect(containers(again)[0].args).toEqual(['--y']);
  });

  it('replaces the pod template with $patch: replace (kubectl rollout undo of a StatefulSet)', () => {
    const template = {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'app', image: 'nginx:1.24' }] },
    };
    const out = patch(SMP, deployment(), { spec: { template: { ...template, $patch: 'replace' } } });
    expect(out.spec.template).toEqual(template);
    expect(out.spec.replicas).toBe(2);
  });

  it('does kubectl rollout restart', () => {
    const at = '2024-05-01T10:00:00Z';
    const out = patch(SMP, deployment(), {
      spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': at } } } },
    });
    expect(out.spec.template.metadata).toEqual({
      labels: { app: 'web' },
      annotations: { 'kubectl.kubernetes.io/restartedAt': at },
    });
  });

  it('merges container ports by containerPort and a pod’s volumes by name', () => {
    const pod: KObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default' },
      spec: {
        containers: [
          {
            name: 'c',
            image: 'i',
            ports: [{ containerPort: 80 }],
            volumeMounts: [{ name: 'data', mountPath: '/data' }],
          },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    };
    const out = applyPatch(
      SMP,
      pod,
      JSON.stringify({
        spec: {
          containers: [{ name: 'c', ports: [{ containerPort: 80, name: 'http' }, { containerPort: 443 }] }],
          volumes: [{ name: 'cache', emptyDir: { medium: 'Memory' } }],
        },
      }),
      { rt: pods },
    );
    expect(out.spec.containers[0].ports).toEqual([{ containerPort: 80, name: 'http' }, { containerPort: 443 }]);
    expect(out.spec.volumes.map((v: Volume) => v.name)).toEqual(['data', 'cache']);
  });

  it('is refused for custom resources with 415 and for unparsable bodies with 400', () => {
    const cr: KObject = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1 } };
    const e = apiError(() => applyPatch(SMP, cr, '{"spec":{"size":2}}', { rt: widgets }));
    expect(e.code).toBe(415);
    expect(e.reason).toBe('UnsupportedMediaType');
    expect(e.message).toBe(
      'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
    );
    expect(apiError(() => patch(SMP, deployment(), '{nope')).code).toBe(400);
    const noKey = { spec: { template: { spec: { containers: [{ image: 'x' }] } } } };
    expect(apiError(() => patch(SMP, deployment(), noKey)).message).toBe(
      'map: {"image":"x"} does not contain declared merge key: name',
    );
  });
});

describe('JSON merge patch', () => {
  it('merges maps, replaces lists and removes keys set to null; strips charset parameters', () => {
    const out = patch(`${MERGE}; charset=utf-8`, deployment(), {
      metadata: { labels: { tier: null, team: 'x' } },
      spec: { replicas: 5, strategy: null, template: { spec: { containers: [{ name: 'only', image: 'busybox' }] } } },
    });
    expect(out.metadata.labels).toEqual({ app: 'web', team: 'x' });
    expect(out.spec.replicas).toBe(5);
    expect(out.spec).not.toHaveProperty('strategy');
    expect(containers(out)).toEqual([{ name: 'only', image: 'busybox' }]);
  });

  it('answers 400 for a body that is not JSON', () => {
    expect(apiError(() => patch(MERGE, deployment(), 'not json')).code).toBe(400);
  });
});

describe('JSON patch', () => {
  it('applies add, remove, replace, move, copy and test with pointer escapes and append', () => {
    const out = patch(JSONPATCH, deployment(), [
      { op: 'test', path: '/spec/replicas', value: 2 },
      { op: 'replace', path: '/spec/replicas', value: 3 },
      { op: 'add', path: '/metadata/annotations', value: {} },
      { op: 'add', path: '/metadata/annotations/example.com~1owner', value: 'team~a' },
      { op: 'add', path: '/spec/template/spec/containers/0/env/-', value: { name: 'X', value: '1' } },
      { op: 'remove', path: '/spec/template/spec/containers/0/env/0' },
      { op: 'copy', from: '/metadata/labels/app', path: '/metadata/labels/copied' },
      { op: 'move', from: '/metadata/labels/tier', path: '/metadata/labels/layer' },
      { op: 'add', path: '/metadata/finalizers/0', value: 'first' },
    ]);
    expect(out.spec.replicas).toBe(3);
    expect(out.metadata.annotations).toEqual({ 'example.com/owner': 'team~a' });
    expect(containers(out)[0].env!.map((e: EnvVar) => e.name)).toEqual(['LOG', 'X']);
    expect(out.metadata.labels).toEqual({ app: 'web', copied: 'web', layer: 'frontend' });
    expect(out.metadata.finalizers?.[0]).toBe('first');
  });

  it('fails a test with 422 Invalid, as the real server does', () => {
    const e = apiError(() => patch(JSONPATCH, deployment(), [{ op: 'test', path: '/spec/replicas', value: 9 }]));
    expect(e.code).toBe(422);
    expect(e.reason).toBe('Invalid');
    expect(e.message).toBe('the server rejected our request due to an error in our request');
    expect(e.details?.causes?.[0].message).toBe('testing value /spec/replicas failed: test failed');
  });

  it('answers 422 for paths that do not exist and 400 for a body that is not a list', () => {
    expect(apiError(() => patch(JSONPATCH, deployment(), [{ op: 'remove', path: '/spec/nothing' }])).code).toBe(422);
    expect(apiError(() => patch(JSONPATCH, deployment(), [{ op: 'replace', path: '/spec/a/b', value: 1 }])).code).toBe(
      422,
    );
    expect(
      apiError(() =>
        patch(JSONPATCH, deployment(), [{ op: 'add', path: '/spec/template/spec/containers/7', value: {} }]),
      ).code,
    ).toBe(422);
    expect(apiError(() => patch(JSONPATCH, deployment(), { op: 'remove' })).code).toBe(400);
  });
});

describe('server-side apply', () => {
  const manifest = (replicas: number | undefined, extra: Record<string, string> = {}) => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels:
    app: web
${Object.entries(extra)
  .map(([k, v]) => `    ${k}: ${v}`)
  .join('\n')}
spec:
${replicas === undefined ? '' : `  replicas: ${replicas}`}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        ports:
        - containerPort: 80
`;

  it('creates the object and records the manager in FieldsV1 format', () => {
    const out = patch(APPLY, undefined, manifest(2), { fieldManager: 'kubectl' });
    expect(out.spec.replicas).toBe(2);
    const [entry] = out.metadata.managedFields!;
    expect(entry).toMatchObject({
      manager: 'kubectl',
      operation: 'Apply',
      apiVersion: 'apps/v1',
      fieldsType: 'FieldsV1',
    });
    expect(entry.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(entry.fieldsV1).toEqual({
      'f:metadata': { 'f:labels': { 'f:app': {} } },
      'f:spec': {
        'f:replicas': {},
        'f:selector': {},
        'f:template': {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:containers': {
              'k:{"name":"app"}': {
                '.': {},
                'f:image': {},
                'f:name': {},
                'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
              },
            },
          },
        },
      },
    });
  });

  it('accepts JSON bodies, merges into the live object and keeps fields nobody applied', () => {
    const live = deployment();
    const out = patch(
      APPLY,
      live,
      JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', resourceVersion: '7' },
        spec: { replicas: 4 },
      }),
      {
        fieldManager: 'ci',
      },
    );
    expect(out.spec.replicas).toBe(4);
    expect(containers(out)).toHaveLength(2);
    expect(out.metadata.resourceVersion).toBe('7');
    expect(out.status).toEqual({ replicas: 2 });
    expect(live.metadata.managedFields).toBeUndefined();
  });

  it('removes a field the same manager applied before and no longer applies', () => {
    const first = patch(APPLY, undefined, manifest(2, { tier: 'frontend' }), { fieldManager: 'kubectl' });
    const second = patch(APPLY, first, manifest(undefined), { fieldManager: 'kubectl' });
    expect(second.spec).not.toHaveProperty('replicas');
    expect(second.metadata.labels).toEqual({ app: 'web' });
    expect(second.metadata.managedFields).toHaveLength(1);
    expect(second.metadata.managedFields![0].fieldsV1!['f:spec']).not.toHaveProperty('f:replicas');
  });

  it('keeps a dropped field that another manager also owns', () => {
    const first = patch(APPLY, undefined, manifest(2), { fieldManager: 'kubectl' });
    const shared = patch(
      APPLY,
      first,
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 2}\n',
      { fieldManager: 'hpa' },
    );
    const dropped = patch(APPLY, shared, manifest(undefined), { fieldManager: 'kubectl' });
    expect(dropped.spec.replicas).toBe(2);
  });

  it('refuses to change a field another manager owns with 409, and force takes it over', () => {
    const first = patch(APPLY, undefined, manifest(2), { fieldManager: 'other' });
    const body =
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: default}\nspec: {replicas: 5}\n';
    const e = apiError(() => patch(APPLY, first, body, { fieldManager: 'mine' }));
    expect(e.code).toBe(409);
    expect(e.reason).toBe('Conflict');
    expect(e.message).toBe('Apply failed with 1 conflict: conflict with "other": .spec.replicas');
    expect(e.details?.causes).toEqual([
      { reason: 'FieldManagerConflict', message: 'conflict with "other"', field: '.spec.replicas' },
    ]);

    const forced = patch(APPLY, first, body, { fieldManager: 'mine', force: true });
    expect(forced.spec.replicas).toBe(5);
    const [other, mine] = forced.metadata.managedFields!;
    expect(other.manager).toBe('other');
    expect(other.fieldsV1!['f:spec']).not.toHaveProperty('f:replicas');
    expect(other.fieldsV1!['f:spec']).toHaveProperty('f:template');
    expect(mine).toMatchObject({ manager: 'mine', fieldsV1: { 'f:spec': { 'f:replicas': {} } } });
  });

  it('lists several conflicts per manager, keyed list items included', () => {
    const first = patch(APPLY, undefined, manifest(2), { fieldManager: 'other' });
    const body = manifest(3).replace('nginx:1.25', 'nginx:1.27');
    const e = apiError(() => patch(APPLY, first, body, { fieldManager: 'mine' }));
    expect(e.message).toBe(
      'Apply failed with 2 conflicts: conflicts with "other":\n- .spec.replicas\n- .spec.template.spec.containers[name="app"].image',
    );
  });

  it('does not conflict when the value is the same, and a no-op apply changes nothing', () => {
    const first = patch(APPLY, undefined, manifest(2), { fieldManager: 'other' });
    const second = patch(APPLY, first, manifest(2), { fieldManager: 'mine' });
    expect(second.metadata.managedFields!.map((m) => m.manager)).toEqual(['other', 'mine']);
    const third = patch(APPLY, second, manifest(2), { fieldManager: 'mine' });
    expect(third).toEqual(second);
  });

  it('uses the CRD schema list types for custom resources', () => {
    const body = (items: string) =>
      `apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  items: ${items}\n`;
    const first = applyPatch(APPLY, undefined, body('[{id: a, n: 1}]'), { rt: widgets, fieldManager: 'one' });
    const second = applyPatch(APPLY, first, body('[{id: b, n: 2}]'), { rt: widgets, fieldManager: 'two' });
    expect(second.spec.items).toEqual([
      { id: 'a', n: 1 },
      { id: 'b', n: 2 },
    ]);
    expect(second.metadata.managedFields![1].fieldsV1).toEqual({
      'f:spec': { 'f:items': { 'k:{"id":"b"}': { '.': {}, 'f:id': {}, 'f:n': {} } } },
    });
  });

  it('requires a field manager', () => {
    const e = apiError(() => patch(APPLY, undefined, manifest(1)));
    expect(e.code).toBe(422);
    expect(e.message).toBe(
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
  });
});

describe('content types', () => {
  it('answers 415 with the accepted types for anything else', () => {
    const e = apiError(() => patch('application/json', deployment(), {}));
    expect(e.code).toBe(415);
    expect(e.message).toContain(
      'application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml',
    );
  });
});
