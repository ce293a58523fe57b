// Discovery documents: what kubectl, helm and client libraries read to learn which resources the server has.
import { apiVersionOf, type Registry, type ResourceType } from './registry.js';

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const verbsOf = (rt: ResourceType) => (rt.review ? ['create'] : ALL_VERBS);

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
        verbs: verbsOf(rt),
        ...(rt.shortNames.length ? { shortNames: rt.shortNames } : {}),
        ...(rt.categories.length ? { categories: rt.categories } : {}),
      },
      ...subresourceEntries(rt),
    ]);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources };
}

// ------------------------------------------------------------------ aggregated discovery (apidiscovery.k8s.io/v2)

/** The media type of an aggregated discovery answer; client-go checks the response's Content-Type against it. */
export const AGGREGATED_DISCOVERY_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/**
 * True when a request for /api or /apis accepts aggregated discovery (kubectl and helm ask for it first and fall back
 * to the classic documents): one answer then describes every resource, instead of one request per group-version.
 */
export function wantsAggregatedDiscovery(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => {
    const [type, ...params] = part.split(';').map((s) => s.trim());
    if (type !== 'application/json') return false;
    const p = Object.fromEntries(params.map((kv) => kv.split('=').map((s) => s.trim())));
    return p.g === 'apidiscovery.k8s.io' && p.v === 'v2' && p.as === 'APIGroupDiscoveryList';
  });
}

function subresourceDiscovery(rt: ResourceType) {
  return subresourceEntries(rt).map((e) => ({
    subresource: e.name.slice(rt.plural.length + 1),
    responseKind: {
      group: 'group' in e ? e.group : rt.group,
      version: 'version' in e ? e.version : rt.version,
      kind: e.kind,
    },
    verbs: e.verbs,
  }));
}

function resourceDiscovery(rt: ResourceType) {
  const subresources = subresourceDiscovery(rt);
  return {
    resource: rt.plural,
    responseKind: { group: rt.group, version: rt.version, kind: rt.kind },
    scope: rt.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: rt.singular,
    verbs: verbsOf(rt),
    ...(rt.shortNames.length ? { shortNames: rt.shortNames } : {}),
    ...(rt.categories.length ? { categories: rt.categories } : {}),
    ...(subresources.length ? { subresources } : {}),
  };
}

/** GET /api (core: true) or /apis as an `APIGroupDiscoveryList`. */
export function aggregatedDiscovery(registry: Registry, core: boolean) {
  const groups = [...registry.groups()]
    .filter(([g]) => (core ? g === '' : g !== ''))
    .sort(([a], [b]) => a.localeCompare(b));
  const types = registry.all();
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: groups.map(([name, versions]) => ({
      metadata: name ? { name, creationTimestamp: null } : { creationTimestamp: null },
      versions: versions.map((version) => ({
        version,
        resources: types
          .filter((rt) => rt.group === name && rt.version === version)
          .sort((a, b) => a.plural.localeCompare(b.plural))
          .map(resourceDiscovery),
        freshness: 'Current',
      })),
    })),
  };
}
