// OpenAPI documents for kubectl and helm. Kept minimal: enough to describe which kinds exist.
import { apiVersionOf, type Registry } from './registry.js';

export function openApiV2(registry: Registry) {
  const definitions: Record<string, unknown> = {};
  for (const rt of registry.all()) {
    definitions[`${rt.group || 'core'}.${rt.version}.${rt.kind}`] = {
      type: 'object',
      'x-kubernetes-group-version-kind': [{ group: rt.group, version: rt.version, kind: rt.kind }],
    };
  }
  return { swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.35.0' }, paths: {}, definitions };
}

export function openApiV3Index(registry: Registry) {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const rt of registry.all()) {
    const p = rt.group ? `apis/${apiVersionOf(rt)}` : 'api/v1';
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}` };
  }
  return { paths };
}

export function openApiV3Document(_registry: Registry, _path: string): unknown {
  return undefined;
}
