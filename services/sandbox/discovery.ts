// Discovery documents: what kubectl, helm and client libraries read to learn which resources the server has.
import { apiVersionOf, type Registry, type ResourceType } from './registry.js';

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const versionInfo = {
  major: '1',
  minor: '35',
  gitVersion: 'v1.35.0-kubegraph-sandbox',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.25.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export function apiVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupDoc(name: string, versions: string[]) {
  const gvs = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: gvs, preferredVersion: gvs[0] };
}

export function apiGroupList(registry: Registry) {
  const groups = [...registry.groups()].filter(([g]) => g !== '').sort(([a], [b]) => a.localeCompare(b));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(([name, versions]) => groupDoc(name, versions)) };
}

export function apiGroup(registry: Registry, group: string) {
  const versions = registry.groups().get(group);
  return versions && { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(group, versions) };
}

function subresourceEntries(rt: ResourceType) {
  return rt.subresources.map((sub) => {
    const base = { name: `${rt.plural}/${sub}`, singularName: '', namespaced: rt.namespaced };
    switch (sub) {
      case 'status':
        return { ...base, kind: rt.kind, verbs: ['get', 'patch', 'update'] };
      case 'scale':
        return { ...base, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] };
      case 'log':
        return { ...base, kind: 'Pod', verbs: ['get'] };
      case 'eviction':
        return { ...base, group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] };
    }
  });
}

export function apiResourceList(registry: Registry, group: string, version: string) {
  const types = registry.all().filter((rt) => rt.group === group && rt.version === version);
  if (!types.length) return undefined;
  const resources = types
    .sort((a, b) => a.plural.localeCompare(b.plural))
    .flatMap((rt) => [
      {
        name: rt.plural,
        singularName: rt.singular,
        namespaced: rt.namespaced,
        kind: rt.kind,
        verbs: VERBS,
        ...(rt.shortNames.length ? { shortNames: rt.shortNames } : {}),
        ...(rt.categories.length ? { categories: rt.categories } : {}),
      },
      ...subresourceEntries(rt),
    ]);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources };
}
