// applyYaml: server-side apply of a multi-document YAML, all or nothing. Every document is parsed and checked before
// anything changes — its shape and names, authorization, what the caller may have kubegraph apply (escalation.ts),
// then a server-side dry run (dryRun=All) of the very apply — and the documents are applied only when all passed.
// Without `force`, a field another manager owns is a CONFLICT (as `kubectl apply --server-side` reports it) instead
// of being taken over silently; `dryRun` stops after the checks and answers what would have been applied.
import type { GraphQLError } from 'graphql';
import { parseAllDocuments } from 'yaml';
import { apiError, badUserInput, ErrorCode } from '../../common/errors.js';
import { validateNamespace, validateObjectRef } from '../../common/k8s/names.js';
import { authorize, type Viewer } from '../../common/authz.js';
import type { StoredObject } from '../../common/k8s/object.js';
import { KINDS, type KindName } from '../clients/kinds.js';
import { KubeApiError, toKubeError } from '../clients/kube-rest.js';
import type { ModelDeps } from './common.js';
import { kubeCall, mapKubeError } from './errors.js';
import { checkEscalation, docLabel } from './escalation.js';

export interface AppliedRef {
  apiVersion: string;
  kind: string;
  namespace: string | null;
  name: string;
}

export interface ApplyOptions {
  /** Check everything (the API server's dry run included), change nothing. */
  dryRun?: boolean;
  /** Take over fields other managers own (`--force-conflicts`). */
  force?: boolean;
}

/** Each document costs a dry run and an apply; a YAML with more is refused before any request. */
export const MAX_DOCUMENTS = 500;

interface Doc {
  /** 1-based position in the YAML (empty documents count, as an editor shows them). */
  index: number;
  object: StoredObject;
}

/** Server-side apply of every document (field manager kubegraph), all or nothing; see the module comment. */
export async function applyYaml(
  deps: ModelDeps,
  viewer: Viewer,
  namespace: string | null | undefined,
  yaml: string,
  opts: ApplyOptions = {},
): Promise<AppliedRef[]> {
  if (namespace !== null && namespace !== undefined) {
    validateNamespace(namespace);
    // Documents may only go to this namespace (or be cluster-scoped, checked below): who may not write in it learns
    // nothing more about the YAML than that.
    authorize(viewer, 'update', namespace);
  }
  const docs = parseDocuments(yaml);

  // 1. Each document: its kind on this cluster, its namespace, who may apply it. Nothing is sent but discovery.
  for (const { index, object: o } of docs) {
    const namespaced = await kubeCall(() => deps.kube.namespaced(o.apiVersion!, o.kind!));
    if (namespaced === undefined)
      throw badUserInput(`${docLabel(index, o)}: no kind ${o.kind} in ${o.apiVersion} on this cluster`, {
        argument: 'yaml',
        document: index,
      });
    if (namespaced) {
      o.metadata.namespace ??= namespace ?? 'default';
      if (namespace && o.metadata.namespace !== namespace)
        throw badUserInput(
          `${docLabel(index, o)}: namespace ${o.metadata.namespace} does not match the namespace argument ${namespace}`,
          { argument: 'yaml', document: index },
        );
    } else delete o.metadata.namespace;
    authorize(viewer, 'update', o.metadata.namespace);
  }
  for (const { index, object: o } of docs)
    await checkEscalation(
      deps,
      viewer,
      index,
      o,
      docs.map((d) => d.object),
    );

  // 2. The API server's verdict on each, without storing anything: validation, admission (Pod Security), conflicts.
  const created = new Set(
    docs
      .filter((d) => d.object.kind === 'Namespace' && d.object.apiVersion === 'v1')
      .map((d) => d.object.metadata.name),
  );
  const previews: StoredObject[] = [];
  for (const d of docs) {
    try {
      previews.push(await deps.kube.apply(structuredClone(d.object), { force: opts.force, dryRun: true }));
    } catch (e) {
      // An object in a namespace that an earlier document creates cannot be dry-run before that namespace exists; it
      // is checked when applied (only platform admins can create namespaces here).
      const err = toKubeError(e);
      if (
        err instanceof KubeApiError &&
        err.statusCode === 404 &&
        err.details?.kind === 'namespaces' &&
        created.has(d.object.metadata.namespace ?? '')
      ) {
        previews.push(d.object);
        continue;
      }
      throw documentError(d, e);
    }
  }
  if (opts.dryRun) return previews.map((p, i) => refOf(p, docs[i].object));

  // 3. Apply, in order. A failure now (the cluster changed since the dry run) names the document and what was applied.
  const out: AppliedRef[] = [];
  for (const d of docs) {
    let applied: StoredObject;
    try {
      applied = await deps.kube.apply(d.object, { force: opts.force });
    } catch (e) {
      throw documentError(
        d,
        e,
        out.length ? `documents before it were applied (${out.map((r) => `${r.kind} ${r.name}`).join(', ')}); ` : '',
      );
    }
    const kind = (applied.kind ?? d.object.kind) as string;
    if (kind in KINDS && (applied.apiVersion ?? d.object.apiVersion) === KINDS[kind as KindName].apiVersion) {
      // Read-your-writes: the caches have the object when the mutation answers (bounded wait).
      await deps.kube.waitForVersion(
        kind as KindName,
        applied.metadata?.namespace,
        applied.metadata?.name ?? d.object.metadata.name,
        applied.metadata?.resourceVersion,
      );
    }
    out.push(refOf(applied, d.object));
  }
  return out;
}

function refOf(applied: StoredObject, sent: StoredObject): AppliedRef {
  return {
    apiVersion: applied.apiVersion ?? sent.apiVersion!,
    kind: applied.kind ?? sent.kind!,
    namespace: applied.metadata?.namespace ?? null,
    name: applied.metadata?.name ?? sent.metadata.name,
  };
}

/** The documents of the YAML as objects; anything that is not one is BAD_USER_INPUT naming the document. */
function parseDocuments(yaml: string): Doc[] {
  const bad = (index: number, message: string) =>
    badUserInput(`document ${index}: ${message}`, { argument: 'yaml', document: index });
  const docs: Doc[] = [];
  for (const [i, doc] of [...parseAllDocuments(yaml)].entries()) {
    const index = i + 1;
    if (doc.errors.length) throw bad(index, `invalid YAML: ${doc.errors[0].message}`);
    let value: unknown;
    try {
      // The yaml library stops alias expansion past its limit (a "billion laughs" document); that is the input's fault.
      value = doc.toJS();
    } catch (e) {
      throw bad(index, `invalid YAML: ${(e as Error).message}`);
    }
    if (value === null || value === undefined) continue; // an empty document (a trailing ---)
    if (typeof value !== 'object' || Array.isArray(value)) throw bad(index, 'expected a Kubernetes object');
    const o = value as Partial<StoredObject>;
    if (
      typeof o.apiVersion !== 'string' ||
      typeof o.kind !== 'string' ||
      !o.metadata ||
      typeof o.metadata !== 'object' ||
      typeof o.metadata.name !== 'string' ||
      !o.metadata.name
    ) {
      throw bad(index, 'apiVersion, kind and metadata.name are required');
    }
    if (o.kind.endsWith('List')) throw bad(index, 'lists are not supported; give one document per object');
    // The names gate (section 2 of issue 12): apiVersion, kind, namespace and name by Kubernetes' rules, before any request.
    validateObjectRef(
      { apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name },
      'yaml',
      `document ${index}`,
    );
    docs.push({ index, object: o as StoredObject });
    if (docs.length > MAX_DOCUMENTS)
      throw badUserInput(`the YAML holds more than ${MAX_DOCUMENTS} objects; apply it in parts`, { argument: 'yaml' });
  }
  if (!docs.length) throw badUserInput('the YAML holds no object', { argument: 'yaml' });
  return docs;
}

/**
 * A Kubernetes failure of one document: its code as mapKubeError decides, the message led by the document (position,
 * kind, name), and in extensions the API server's reason and field causes; a conflict also lists the fields and
 * managers, as `kubectl apply --server-side` prints them.
 */
function documentError(d: Doc, e: unknown, note = ''): Error {
  const mapped = mapKubeError(e);
  if (!isGraphQLError(mapped)) return mapped; // not a failure of the document (a bug): left as it is
  const err = toKubeError(e);
  const ext: Record<string, unknown> = {
    ...(mapped.extensions ?? {}),
    argument: 'yaml',
    document: d.index,
    kind: d.object.kind,
    name: d.object.metadata.name,
  };
  if (err instanceof KubeApiError) {
    ext.reason = err.reason;
    const causes = err.details?.causes ?? [];
    if (causes.length) ext.causes = causes;
    const conflicts = causes
      .filter((c) => c.reason === 'FieldManagerConflict')
      .map((c) => ({
        field: c.field ?? '',
        manager: /^conflict with "((?:[^"\\]|\\.)*)"/.exec(c.message ?? '')?.[1] ?? c.message ?? '',
      }));
    if (conflicts.length) {
      ext.conflicts = conflicts;
      ext.managers = [...new Set(conflicts.map((c) => c.manager))].sort();
    }
  }
  const code = (ext.code as ErrorCode | undefined) ?? ErrorCode.BAD_USER_INPUT;
  const hint = ext.conflicts ? ' (apply with force: true to take these fields over)' : '';
  return apiError(code, `${docLabel(d.index, d.object)}: ${note}${mapped.message}${hint}`, ext);
}

const isGraphQLError = (e: Error): e is GraphQLError => typeof (e as GraphQLError).extensions?.code === 'string';
