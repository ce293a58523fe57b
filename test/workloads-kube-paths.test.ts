// The workloads subgraph's Kubernetes client builds request paths from checked, encoded parts only, whatever the
// caller or a discovery document holds: against a loopback stand-in API server that records every request and serves
// the discovery documents a hostile cluster object could (a resource name that walks the path, a subresource listed
// before its collection).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnsafeRequestPathError } from '../services/workloads/clients/kube-paths.js';
import { KubeClient } from '../services/workloads/clients/kube.js';
import { quietLogger } from './harness/stack.js';

const DISCOVERY: Record<string, unknown> = {
  '/api/v1': {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      { name: 'pods/status', kind: 'Pod', namespaced: true, verbs: ['get'] },
      { name: 'pods', kind: 'Pod', namespaced: true, verbs: ['delete'] },
    ],
  },
  '/apis/evil.example.com/v1': {
    kind: 'APIResourceList',
    groupVersion: 'evil.example.com/v1',
    resources: [{ name: '../../../api/v1/namespaces', kind: 'Widget', namespaced: false, verbs: ['delete'] }],
  },
  '/apis/dots.example.com/v1': {
    kind: 'APIResourceList',
    groupVersion: 'dots.example.com/v1',
    resources: [{ name: '..', kind: 'Widget', namespaced: false, verbs: ['delete'] }],
  },
  '/apis/rbac.authorization.k8s.io/v1': {
    kind: 'APIResourceList',
    groupVersion: 'rbac.authorization.k8s.io/v1',
    resources: [{ name: 'clusterroles', kind: 'ClusterRole', namespaced: false, verbs: ['delete'] }],
  },
};

let server: Server;
let kube: KubeClient;
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const doc = req.method === 'GET' ? DISCOVERY[req.url ?? ''] : undefined;
    res.writeHead(doc || req.method !== 'GET' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(
        doc ?? (req.method === 'GET' ? { kind: 'Status', code: 404 } : { kind: 'Status', status: 'Success' }),
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [
      { name: 'stand-in', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true },
    ],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'c', cluster: 'stand-in', user: 'u' }],
    currentContext: 'c',
  });
  kube = new KubeClient({ kubeConfig: kc, log: quietLogger });
});

afterAll(async () => {
  await kube?.stop();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

async function requests(op: () => Promise<unknown>): Promise<{ error?: unknown; requests: string[] }> {
  seen.length = 0;
  try {
    await op();
    return { requests: [...seen] };
  } catch (error) {
    return { error, requests: [...seen] };
  }
}

describe('the Kubernetes client builds paths from checked parts', () => {
  it('takes the collection from discovery, not a subresource listed first', async () => {
    const r = await requests(() =>
      kube.delete({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'shop', name: 'web-1' } }),
    );
    expect(r.error).toBeUndefined();
    expect(r.requests).toEqual(['GET /api/v1', 'DELETE /api/v1/namespaces/shop/pods/web-1']);
  });

  it('refuses a discovery document whose resource name walks the path, after reading only the discovery document', async () => {
    // With a '/', the entry reads as a subresource: there is no collection of the kind to write to.
    const r = await requests(() =>
      kube.delete({ apiVersion: 'evil.example.com/v1', kind: 'Widget', metadata: { name: 'victim' } }),
    );
    expect(r.error).toBeInstanceOf(Error);
    expect(r.requests).toEqual(['GET /apis/evil.example.com/v1']);
    const d = await requests(() =>
      kube.delete({ apiVersion: 'dots.example.com/v1', kind: 'Widget', metadata: { name: 'victim' } }),
    );
    expect(d.error).toBeInstanceOf(UnsafeRequestPathError);
    expect((d.error as UnsafeRequestPathError).field).toBe('resource');
    expect(d.requests).toEqual(['GET /apis/dots.example.com/v1']);
  });

  it.each([
    ['apiVersion', { apiVersion: '../api/v1?x=', kind: 'Pod', metadata: { namespace: 'shop', name: 'web-1' } }],
    ['apiVersion', { apiVersion: 'v1/../../api', kind: 'Pod', metadata: { namespace: 'shop', name: 'web-1' } }],
    ['kind', { apiVersion: 'v1', kind: 'Pod/..', metadata: { namespace: 'shop', name: 'web-1' } }],
    ['namespace', { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: '..', name: 'web-1' } }],
    ['name', { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'shop', name: '..' } }],
    ['name', { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'shop', name: '%2e%2e' } }],
    ['name', { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'shop', name: 'Web-1' } }],
  ])('refuses a bad %s in a write before its request', async (field, obj) => {
    const r = await requests(() => kube.delete(obj));
    expect(r.error).toBeInstanceOf(UnsafeRequestPathError);
    expect((r.error as UnsafeRequestPathError).field).toBe(field);
    expect(r.requests.filter((q) => !q.startsWith('GET /api/v1'))).toEqual([]);
  });

  it('keeps a name of another rule as one encoded segment (RBAC names may hold ":" and capitals)', async () => {
    const r = await requests(() =>
      kube.delete({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'system:Weird?x=1' },
      }),
    );
    expect(r.error).toBeUndefined();
    expect(r.requests.at(-1)).toBe('DELETE /apis/rbac.authorization.k8s.io/v1/clusterroles/system%3AWeird%3Fx%3D1');
  });

  it('refuses dot segments in raw requests and bad names in JSON patches and namespaced watches', async () => {
    for (const path of [
      '/api/v1/namespaces/shop/pods/..',
      '/api/v1/namespaces/shop/pods/%2E%2e',
      '/api/v1/namespaces/./pods',
    ]) {
      const r = await requests(() => kube.rawRequest('DELETE', path));
      expect(r.error).toBeInstanceOf(UnsafeRequestPathError);
      expect(r.requests).toEqual([]);
    }
    const p = await requests(() => kube.jsonPatch('Deployment', 'shop', '..', []));
    expect(p.error).toBeInstanceOf(UnsafeRequestPathError);
    expect(p.requests).toEqual([]);
    const w = await requests(() =>
      kube.watchFrom(
        'Pod',
        { namespace: '..', resourceVersion: '1' },
        () => {},
        () => {},
      ),
    );
    expect(w.error).toBeInstanceOf(UnsafeRequestPathError);
    expect(w.requests).toEqual([]);
  });
});
