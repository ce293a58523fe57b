// Raw REST against the API server with the kubeconfig's credentials, and the mapping of every failure (a Status
// answer, client-node's ApiException, a refused watch, a network error) to KubeApiError or KubeUnreachableError.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type RequestOptions } from 'node:http';
import * as k8s from '@kubernetes/client-node';
import type { StoredObject } from '../../common/k8s/object.js';
import { compactObject } from './compact.js';
import { KINDS, sanitize, type KindName } from './kinds.js';
import { UnsafeRequestPathError } from './kube-paths.js';

/** A Status's `details` (the causes name fields: validation errors, server-side apply conflicts). */
export interface KubeStatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: { reason?: string; message?: string; field?: string }[];
}

export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
    readonly details?: KubeStatusDetails,
  ) {
    super(message);
  }
}

/** The API server could not be reached (connection refused, TLS failure, timeout). */
export class KubeUnreachableError extends Error {}

/** A JSON request to the API server with the kubeconfig's credentials. */
export async function rawRequest(
  kc: k8s.KubeConfig,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<unknown> {
  // Callers build paths from checked, encoded segments; a dot segment here (raw or encoded) means one slipped
  // through, and URL normalisation would turn it into another object's path.
  const segments = path.split('?')[0].split('/');
  if (
    segments.some(
      (seg) => seg.toLowerCase().replaceAll('%2e', '.') === '.' || seg.toLowerCase().replaceAll('%2e', '.') === '..',
    )
  ) {
    throw new UnsafeRequestPathError('name', path, ['a request path may not hold a "." or ".." segment']);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeUnreachableError('no current cluster in the kubeconfig');
  const url = new URL(cluster.server + path);
  const opts: RequestOptions & { headers: Record<string, string> } = {
    method,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port,
    path: url.pathname + url.search,
    headers: { Accept: 'application/json' },
  };
  await kc.applyToHTTPSOptions(opts);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  if (payload !== undefined) {
    opts.headers['Content-Type'] = contentType;
    opts.headers['Content-Length'] = String(Buffer.byteLength(payload));
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => reject(new KubeUnreachableError(e.message)));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          // not JSON: keep the text
        }
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve(parsed);
        const s = (parsed && typeof parsed === 'object' ? parsed : {}) as {
          reason?: string;
          message?: string;
          details?: KubeStatusDetails;
        };
        reject(
          new KubeApiError(
            status,
            s.reason ?? '',
            s.message ?? (typeof parsed === 'string' && parsed ? parsed : `HTTP ${status}`),
            s.details,
          ),
        );
      });
    });
    req.setTimeout(30_000, () => req.destroy(new Error('request timed out')));
    req.on('error', (e) => reject(new KubeUnreachableError(e.message)));
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/**
 * A whole LIST of a path, in chunks of `chunk` (limit/continue), items given their apiVersion and kind and kept as the
 * caches keep them (compact.ts).
 */
export async function listChunked(
  kc: k8s.KubeConfig,
  path: string,
  apiVersion: string,
  kind: string,
  chunk: number,
): Promise<{ items: StoredObject[]; resourceVersion: string }> {
  const items: StoredObject[] = [];
  let cont = '';
  let resourceVersion = '';
  do {
    const q = new URLSearchParams({ limit: String(chunk) });
    if (cont) q.set('continue', cont);
    const page = (await rawRequest(kc, 'GET', `${path}?${q}`)) as {
      items?: StoredObject[];
      metadata?: { resourceVersion?: string; continue?: string };
    };
    for (const o of page.items ?? []) {
      o.apiVersion ??= apiVersion;
      o.kind ??= kind;
      items.push(compactObject(kind in KINDS ? sanitize(kind as KindName, o) : o));
    }
    cont = page.metadata?.continue ?? '';
    resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
  } while (cont);
  return { items, resourceVersion };
}

/** Turns client-node failures into KubeApiError / KubeUnreachableError. */
export async function wrapKubeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw toKubeError(e);
  }
}

export function toKubeError(e: unknown): Error {
  if (e instanceof KubeApiError || e instanceof KubeUnreachableError) return e;
  if (e instanceof k8s.ApiException) {
    let body: unknown = e.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        // keep the text
      }
    }
    const s = (body && typeof body === 'object' ? body : {}) as {
      reason?: string;
      message?: string;
      details?: KubeStatusDetails;
    };
    return new KubeApiError(
      e.code,
      s.reason ?? '',
      s.message ?? (typeof body === 'string' ? body : e.message),
      s.details,
    );
  }
  // client-node's Watch reports a refused watch request as an Error with the HTTP status in `statusCode`.
  const status = (e as { statusCode?: unknown })?.statusCode;
  if (e instanceof Error && typeof status === 'number') return new KubeApiError(status, '', e.message);
  const err = e as { code?: string; type?: string; message?: string; cause?: { code?: string } };
  const code = err?.code ?? err?.cause?.code;
  if (
    err?.type === 'system' ||
    (code &&
      /^(ECONN|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|EPIPE|ECONNRESET|EAI_AGAIN|CERT_|DEPTH_ZERO|UNABLE_TO|SELF_SIGNED)/.test(
        code,
      ))
  ) {
    return new KubeUnreachableError(err.message ?? String(code));
  }
  return e instanceof Error ? e : new Error(String(e));
}
