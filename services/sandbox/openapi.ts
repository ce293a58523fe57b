// OpenAPI documents for kubectl and helm.
//
// What real clients read from them (kubectl 1.35, helm 4):
// - Field validation: kubectl and helm look up, in /openapi/v3/<group-version>, the PATCH operation whose
//   `x-kubernetes-group-version-kind` is the object's kind, and use server-side validation (`fieldValidation=Strict`)
//   when that operation lists a `fieldValidation` query parameter. Otherwise they fall back to client-side validation
//   against the protobuf /openapi/v2 document, which this server does not serve.
// - Client-side `kubectl apply` computes its strategic merge patch from the OpenAPI v3 schema only when the PATCH
//   operation accepts `application/strategic-merge-patch+json`. The schemas here are loose (no patch strategies or
//   merge keys), so builtin kinds do not advertise it and kubectl uses the patch metadata compiled into it, which is
//   exact; custom resources get JSON merge patches, as from a real server.
// Builtin kinds are described loosely (an object with apiVersion, kind and metadata, every other field preserved);
// custom resources carry the schema of their CRD version.
import { createHash } from 'node:crypto';
import { apiVersionOf, type Registry, type ResourceType } from './registry.js';
import type { JsonObject } from './types.js';

/** Go package prefix of each builtin group's definitions, as the real server names its schemas. */
const GROUP_PACKAGES: Record<string, string> = {
  '': 'io.k8s.api.core',
  apps: 'io.k8s.api.apps',
  batch: 'io.k8s.api.batch',
  'networking.k8s.io': 'io.k8s.api.networking',
  'storage.k8s.io': 'io.k8s.api.storage',
  autoscaling: 'io.k8s.api.autoscaling',
  'rbac.authorization.k8s.io': 'io.k8s.api.rbac',
  'apiextensions.k8s.io': 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions',
};

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

/** The schema name of a kind: `io.k8s.api.apps.v1.Deployment`, or `com.example.v1.Widget` for a custom resource. */
export function definitionName(rt: Pick<ResourceType, 'group' | 'version' | 'kind' | 'crdName'>): string {
  const pkg =
    !rt.crdName && GROUP_PACKAGES[rt.group] !== undefined
      ? GROUP_PACKAGES[rt.group]
      : rt.group.split('.').reverse().join('.');
  return `${pkg}.${rt.version}.${rt.kind}`;
}

const gvk = (rt: ResourceType) => ({ group: rt.group, version: rt.version, kind: rt.kind });

const typeMetaProps = {
  apiVersion: {
    type: 'string',
    description: 'APIVersion defines the versioned schema of this representation of an object.',
  },
  kind: {
    type: 'string',
    description: 'Kind is a string value representing the REST resource this object represents.',
  },
};

function objectSchema(rt: ResourceType): JsonObject {
  if (rt.schema && typeof rt.schema === 'object') {
    const s = structuredClone(rt.schema);
    s.type ??= 'object';
    const properties = s.properties;
    s.properties = {
      ...typeMetaProps,
      ...(properties && typeof properties === 'object' && !Array.isArray(properties) ? properties : {}),
      metadata: { $ref: `#/components/schemas/${META}.ObjectMeta` },
    };
    s['x-kubernetes-group-version-kind'] = [gvk(rt)];
    return s;
  }
  return {
    description: `${rt.kind} (described loosely by the sandbox: fields other than apiVersion, kind and metadata are not typed)`,
    type: 'object',
    properties: {
      ...typeMetaProps,
      metadata: { $ref: `#/components/schemas/${META}.ObjectMeta`, description: "Standard object's metadata." },
    },
    'x-kubernetes-preserve-unknown-fields': true,
    'x-kubernetes-group-version-kind': [gvk(rt)],
  };
}

function listSchema(rt: ResourceType): JsonObject {
  return {
    description: `${rt.kind}List is a list of ${rt.kind}.`,
    type: 'object',
    required: ['items'],
    properties: {
      ...typeMetaProps,
      items: { type: 'array', items: { $ref: `#/components/schemas/${definitionName(rt)}` } },
      metadata: { $ref: `#/components/schemas/${META}.ListMeta` },
    },
    'x-kubernetes-group-version-kind': [{ ...gvk(rt), kind: `${rt.kind}List` }],
  };
}

const metaSchemas: Record<string, JsonObject> = {
  [`${META}.ObjectMeta`]: {
    description: 'ObjectMeta is metadata that all persisted resources must have.',
    type: 'object',
    properties: {
      name: { type: 'string' },
      generateName: { type: 'string' },
      namespace: { type: 'string' },
      uid: { type: 'string' },
      resourceVersion: { type: 'string' },
      generation: { type: 'integer', format: 'int64' },
      creationTimestamp: { type: 'string', format: 'date-time' },
      deletionTimestamp: { type: 'string', format: 'date-time' },
      deletionGracePeriodSeconds: { type: 'integer', format: 'int64' },
      labels: { type: 'object', additionalProperties: { type: 'string', default: '' } },
      annotations: { type: 'object', additionalProperties: { type: 'string', default: '' } },
      finalizers: {
        type: 'array',
        items: { type: 'string', default: '' },
        'x-kubernetes-list-type': 'set',
        'x-kubernetes-patch-strategy': 'merge',
      },
      ownerReferences: {
        type: 'array',
        items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        'x-kubernetes-list-map-keys': ['uid'],
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-patch-merge-key': 'uid',
        'x-kubernetes-patch-strategy': 'merge',
      },
      managedFields: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
    },
  },
  [`${META}.ListMeta`]: {
    type: 'object',
    properties: {
      resourceVersion: { type: 'string' },
      continue: { type: 'string' },
      remainingItemCount: { type: 'integer', format: 'int64' },
    },
  },
  [`${META}.Status`]: {
    type: 'object',
    properties: {
      ...typeMetaProps,
      status: { type: 'string' },
      message: { type: 'string' },
      reason: { type: 'string' },
      code: { type: 'integer', format: 'int32' },
    },
    'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Status' }],
  },
  [`${META}.Patch`]: {
    type: 'object',
    description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.',
  },
  [`${META}.DeleteOptions`]: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
};

const queryParam = (name: string, description: string, type = 'string'): JsonObject => ({
  name,
  in: 'query',
  description,
  schema: { type, uniqueItems: true },
});
const pathParam = (name: string, description: string): JsonObject => ({
  name,
  in: 'path',
  description,
  required: true,
  schema: { type: 'string', uniqueItems: true },
});

const dryRun = queryParam(
  'dryRun',
  'When present, indicates that modifications should not be persisted. Valid value: All.',
);
const fieldManager = queryParam(
  'fieldManager',
  'a name associated with the actor or entity that is making these changes.',
);
const fieldValidation = queryParam(
  'fieldValidation',
  'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values: Ignore, Warn, Strict.',
);
const force = queryParam(
  'force',
  'Force is going to "force" Apply requests. It must be unset for non-apply patch requests.',
  'boolean',
);
const pretty = queryParam('pretty', "If 'true', then the output is pretty printed.");

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const body = (schemaName: string, types: string[]) => ({
  content: Object.fromEntries(types.map((t) => [t, { schema: ref(schemaName) }])),
  required: true,
});
const responses = (schemaName: string, codes: string[]) =>
  Object.fromEntries(
    codes.map((c) => [
      c,
      {
        description: c === '201' ? 'Created' : c === '202' ? 'Accepted' : 'OK',
        content: { 'application/json': { schema: ref(schemaName) } },
      },
    ]),
  );

function operation(rt: ResourceType, action: string, verb: string, extra: JsonObject = {}): JsonObject {
  const scope = rt.namespaced ? 'Namespaced' : '';
  return {
    tags: [`${(rt.group || 'core').split('.')[0]}_${rt.version}`],
    description: `${action} ${rt.kind}`,
    operationId: `${verb}${scope}${rt.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk(rt),
    ...extra,
  };
}

function pathsFor(rt: ResourceType): Record<string, JsonObject> {
  const prefix = rt.group ? `/apis/${rt.group}/${rt.version}` : '/api/v1';
  const base = rt.namespaced ? `${prefix}/namespaces/{namespace}/${rt.plural}` : `${prefix}/${rt.plural}`;
  const def = definitionName(rt);
  const nsParam = rt.namespaced
    ? [pathParam('namespace', 'object name and auth scope, such as for teams and projects')]
    : [];
  // Builtins accept strategic merge patches on the server, but these loose schemas carry no patch metadata; not
  // advertising it makes kubectl compute client-side apply patches from the types compiled into it instead.
  const patchTypes = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];
  if (rt.crdName === undefined) patchTypes.push('application/apply-patch+cbor');
  const writeParams = [dryRun, fieldManager, fieldValidation];
  const paths: Record<string, JsonObject> = {
    [base]: {
      get: operation(rt, 'list', 'list', { responses: responses(`${def}List`, ['200']) }),
      post: operation(rt, 'post', 'create', {
        parameters: writeParams,
        requestBody: body(def, ['*/*']),
        responses: responses(def, ['200', '201', '202']),
      }),
      delete: operation(rt, 'deletecollection', 'deleteCollection', {
        responses: responses(`${META}.Status`, ['200']),
      }),
      parameters: [...nsParam, pretty],
    },
    [`${base}/{name}`]: {
      get: operation(rt, 'get', 'read', { responses: responses(def, ['200']) }),
      put: operation(rt, 'put', 'replace', {
        parameters: writeParams,
        requestBody: body(def, ['*/*']),
        responses: responses(def, ['200', '201']),
      }),
      patch: operation(rt, 'patch', 'patch', {
        parameters: [...writeParams, force],
        requestBody: body(`${META}.Patch`, patchTypes),
        responses: responses(def, ['200', '201']),
      }),
      delete: operation(rt, 'delete', 'delete', {
        requestBody: body(`${META}.DeleteOptions`, ['*/*']),
        responses: responses(`${META}.Status`, ['200', '202']),
      }),
      parameters: [pathParam('name', `name of the ${rt.kind}`), ...nsParam, pretty],
    },
  };
  // A review kind (auth/reviews.ts) is create-only: a POST on the collection, nothing else.
  if (rt.review) {
    const create = paths[base];
    return { [base]: { post: create.post, parameters: create.parameters } };
  }
  if (rt.subresources.includes('status')) {
    paths[`${base}/{name}/status`] = {
      get: operation(rt, 'get', 'read', {
        operationId: `read${rt.namespaced ? 'Namespaced' : ''}${rt.kind}Status`,
        responses: responses(def, ['200']),
      }),
      put: operation(rt, 'put', 'replace', {
        operationId: `replace${rt.namespaced ? 'Namespaced' : ''}${rt.kind}Status`,
        parameters: writeParams,
        requestBody: body(def, ['*/*']),
        responses: responses(def, ['200', '201']),
      }),
      patch: operation(rt, 'patch', 'patch', {
        operationId: `patch${rt.namespaced ? 'Namespaced' : ''}${rt.kind}Status`,
        parameters: [...writeParams, force],
        requestBody: body(`${META}.Patch`, patchTypes),
        responses: responses(def, ['200', '201']),
      }),
      parameters: [pathParam('name', `name of the ${rt.kind}`), ...nsParam, pretty],
    };
  }
  return paths;
}

/** `api/v1` for the core group, `apis/<group>/<version>` otherwise: the keys of the /openapi/v3 index. */
const gvPath = (rt: Pick<ResourceType, 'group' | 'version'>) => (rt.group ? `apis/${apiVersionOf(rt)}` : 'api/v1');

function buildV3Document(types: ResourceType[]): JsonObject {
  const schemas: Record<string, JsonObject> = { ...metaSchemas };
  const paths: Record<string, JsonObject> = {};
  for (const rt of [...types].sort((a, b) => a.plural.localeCompare(b.plural))) {
    schemas[definitionName(rt)] = objectSchema(rt);
    schemas[`${definitionName(rt)}List`] = listSchema(rt);
    Object.assign(paths, pathsFor(rt));
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.35.0' },
    paths,
    components: {
      schemas,
      securitySchemes: {
        BearerToken: {
          type: 'apiKey',
          description: 'Bearer Token authentication',
          name: 'authorization',
          in: 'header',
        },
      },
    },
    security: [{ BearerToken: [] }],
  };
}

function typesByGroupVersion(registry: Registry): Map<string, ResourceType[]> {
  const out = new Map<string, ResourceType[]>();
  for (const rt of registry.all()) {
    const p = gvPath(rt);
    out.set(p, [...(out.get(p) ?? []), rt]);
  }
  return out;
}

const hashOf = (doc: unknown) => createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase();

/** GET /openapi/v3: one entry per group-version, its URL carrying a hash of the document as the real server's do. */
export function openApiV3Index(registry: Registry) {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  const byGv = typesByGroupVersion(registry);
  for (const p of [...byGv.keys()].sort()) {
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hashOf(buildV3Document(byGv.get(p)!))}` };
  }
  return { paths };
}

/** GET /openapi/v3/<api/v1 | apis/<group>/<version>>; undefined for a group-version the server does not serve. */
export function openApiV3Document(registry: Registry, path: string): unknown {
  const types = typesByGroupVersion(registry).get(path.replace(/^\/+|\/+$/g, ''));
  return types && buildV3Document(types);
}

/** GET /openapi/v2 as JSON (Swagger 2.0), for clients that ask for JSON. */
export function openApiV2(registry: Registry) {
  const definitions: Record<string, unknown> = { ...metaSchemas };
  for (const rt of registry.all()) {
    const s = objectSchema(rt);
    definitions[definitionName(rt)] = JSON.parse(
      JSON.stringify(s).replaceAll('#/components/schemas/', '#/definitions/'),
    );
  }
  return { swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.35.0' }, paths: {}, definitions };
}

const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

/** True when a request for /openapi/v2 wants the protobuf encoding (client-go asks for nothing else). */
export function wantsOpenApiV2Protobuf(accept: string | undefined): boolean {
  return !!accept && accept.includes(OPENAPI_V2_PROTOBUF) && !/application\/json/.test(accept);
}

/**
 * GET /openapi/v2 as client-go reads it: a gnostic `openapi_v2.Document` in protobuf, here with no paths and no
 * definitions. kubectl and helm consult it only for kinds whose OpenAPI v3 PATCH operation does not list
 * `fieldValidation` (a custom resource whose CRD is created by the same apply), to validate client-side; a kind
 * absent from it is not validated there, as a real server's document treats a CRD it does not know yet. Builtin
 * kinds are validated by the server (`fieldValidation=Strict`), and client-side apply falls back to the strategic
 * merge metadata compiled into kubectl.
 */
export function openApiV2Protobuf(): Buffer {
  const str = (field: number, value: string) => {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([Buffer.from([(field << 3) | 2, bytes.length]), bytes]);
  };
  const msg = (field: number, body: Buffer) => Buffer.concat([Buffer.from([(field << 3) | 2, body.length]), body]);
  // Document { swagger = 1; info = 2 { title = 1; version = 2 } }
  return Buffer.concat([str(1, '2.0'), msg(2, Buffer.concat([str(1, 'Kubernetes'), str(2, 'v1.35.0')]))]);
}
