// The HTTP client of chart repositories: index.yaml and chart archives, fetched with node:http(s) so that every
// connection goes to an address url-check.ts has checked (no second DNS lookup), with a size cap enforced while
// reading (Content-Length first, then bytes as they come), one deadline for the whole exchange, redirects followed a
// few times and each one checked again, basic auth sent to the repository's own origin only (as helm's default
// --pass-credentials=false), and conditional requests (If-None-Match / If-Modified-Since) so an unchanged index costs
// a 304. The body is kept as the chunks it arrived in (no copy into one string) and hashed on the way.
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { badUserInput, upstreamUnavailable } from '../../common/errors.js';
import { IndexParser, type ParsedIndex } from './chart-repo-index.js';
import { checkUrlSyntax, pinnedLookup, resolveChecked, systemResolver, type Resolver } from './url-check.js';

export const SERVICE = 'chart-repository';

export interface BasicAuth {
  username: string;
  password: string;
}

export interface FetchOptions {
  resolver?: Resolver;
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Deadline for the whole exchange (redirects and body included). */
  timeoutMs: number;
  maxRedirects?: number;
  /** Sent only to `authOrigin` (the repository's origin), never to an origin a redirect leads to. */
  auth?: BasicAuth;
  authOrigin?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  /** What is fetched, for messages ("index.yaml of repository x"). */
  what: string;
  /** Takes the body's chunks as they arrive instead of keeping them (the result's `chunks` is then empty). */
  onChunk?: (chunk: Buffer) => void;
  /** Stops the exchange early (the catalog closing). */
  signal?: AbortSignal;
}

export type FetchResult =
  | { status: 'not-modified' }
  | {
      status: 'ok';
      chunks: Buffer[];
      size: number;
      /** sha256 hex of the body. */
      sha256: string;
      etag?: string;
      lastModified?: string;
      /** The URL finally answered (after redirects): relative chart URLs resolve against it. */
      url: string;
    };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** GETs a URL under the rules above; BAD_USER_INPUT for refused URLs and sizes, UPSTREAM_UNAVAILABLE otherwise. */
export async function fetchChecked(rawUrl: string, opts: FetchOptions): Promise<FetchResult> {
  const deadline = opts.signal
    ? AbortSignal.any([AbortSignal.timeout(opts.timeoutMs), opts.signal])
    : AbortSignal.timeout(opts.timeoutMs);
  let url = checkUrlSyntax(rawUrl, `URL of ${opts.what}`);
  for (let hop = 0; ; hop++) {
    const addresses = await resolveChecked(url, opts.resolver ?? systemResolver);
    const headers: Record<string, string> = { accept: '*/*', 'user-agent': 'kubegraph-apps' };
    if (opts.auth && opts.authOrigin === url.origin)
      headers.authorization =
        'Basic ' + Buffer.from(`${opts.auth.username}:${opts.auth.password}`, 'utf8').toString('base64');
    if (opts.ifNoneMatch) headers['if-none-match'] = opts.ifNoneMatch;
    if (opts.ifModifiedSince) headers['if-modified-since'] = opts.ifModifiedSince;
    const res = await send(url, headers, addresses, deadline, opts.what);
    const status = res.statusCode ?? 0;
    if (REDIRECTS.has(status)) {
      res.resume();
      const location = res.headers.location;
      if (!location) throw upstreamUnavailable(SERVICE, `${opts.what}: redirect ${status} without a Location`);
      if (hop >= (opts.maxRedirects ?? 5)) throw upstreamUnavailable(SERVICE, `${opts.what}: too many redirects`);
      url = checkUrlSyntax(new URL(location, url).toString(), `redirect target of ${opts.what}`);
      continue;
    }
    if (status === 304) {
      res.resume();
      return { status: 'not-modified' };
    }
    if (status === 401 || status === 403) {
      res.resume();
      throw badUserInput(`${opts.what}: the repository answered ${status} (check the username and password)`);
    }
    if (status === 404) {
      res.resume();
      throw badUserInput(`${opts.what}: not found at ${url.toString()} (404)`);
    }
    if (status < 200 || status > 299) {
      res.resume();
      throw upstreamUnavailable(SERVICE, `${opts.what}: the repository answered ${status}`);
    }
    const body = await readCapped(res, opts.maxBytes, deadline, opts.what, opts.onChunk);
    return {
      status: 'ok',
      ...body,
      etag: header(res, 'etag'),
      lastModified: header(res, 'last-modified'),
      url: url.toString(),
    };
  }
}

const header = (res: IncomingMessage, name: string) => {
  const v = res.headers[name];
  return typeof v === 'string' && v.length > 0 && v.length < 1024 ? v : undefined;
};

function send(
  url: URL,
  headers: Record<string, string>,
  addresses: Awaited<ReturnType<typeof resolveChecked>>,
  signal: AbortSignal,
  what: string,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // No pooled sockets (agent: false): each exchange connects to the addresses checked for it.
    const req = request(
      url,
      { method: 'GET', headers, lookup: pinnedLookup(addresses), signal, agent: false },
      resolve,
    );
    req.on('error', (e) => reject(networkError(e, signal, what)));
    req.end();
  });
}

function networkError(e: unknown, signal: AbortSignal, what: string) {
  if (signal.aborted) return upstreamUnavailable(SERVICE, `${what}: no answer in time`);
  return upstreamUnavailable(SERVICE, `${what}: ${(e as Error).message}`);
}

async function readCapped(
  res: IncomingMessage,
  maxBytes: number,
  signal: AbortSignal,
  what: string,
  onChunk?: (chunk: Buffer) => void,
): Promise<{ chunks: Buffer[]; size: number; sha256: string }> {
  const tooLarge = (n: string) =>
    badUserInput(`${what} is larger than the limit of ${maxBytes} bytes (${n}): refused`, { limit: maxBytes });
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    res.destroy();
    throw tooLarge(`${declared} bytes`);
  }
  const chunks: Buffer[] = [];
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        res.destroy();
        throw tooLarge(`more than that arrived`);
      }
      hash.update(chunk);
      if (onChunk) onChunk(chunk);
      else chunks.push(chunk);
    }
  } catch (e) {
    if ((e as { extensions?: unknown }).extensions) throw e;
    throw networkError(e, signal, what);
  }
  return { chunks, size, sha256: hash.digest('hex') };
}

export interface IndexFetchState {
  etag?: string;
  lastModified?: string;
  /** sha256 of the last index body parsed. */
  sha256?: string;
}

export type IndexFetch =
  | { changed: false; state: IndexFetchState }
  | { changed: true; state: IndexFetchState; index: ParsedIndex; url: string };

export interface IndexFetchOptions extends Omit<
  FetchOptions,
  'what' | 'ifNoneMatch' | 'ifModifiedSince' | 'authOrigin' | 'onChunk'
> {
  /** Bodies not in helm's own layout are parsed whole; this caps that (default 16 MiB). */
  fullParseMaxBytes?: number;
}

/** The index URL of a repository URL (helm's rule: <url>/index.yaml). */
export const indexUrlOf = (repoUrl: string) => repoUrl.replace(/\/+$/, '') + '/index.yaml';

/**
 * Fetches and parses a repository's index as it arrives (the body is never held whole: see IndexParser), unless the
 * server says it is unchanged (304). A body with the digest of the last one parsed counts as unchanged too: its
 * parse is thrown away and the index in use stays (servers that send ETag or Last-Modified cost a 304 instead).
 */
export async function fetchIndex(
  repoUrl: string,
  previous: IndexFetchState,
  opts: IndexFetchOptions & { repository: string },
): Promise<IndexFetch> {
  const url = indexUrlOf(repoUrl);
  const what = `index.yaml of repository ${opts.repository}`;
  const parser = new IndexParser({ fullParseMaxBytes: opts.fullParseMaxBytes, what });
  const res = await fetchChecked(url, {
    ...opts,
    what,
    authOrigin: new URL(url).origin,
    ifNoneMatch: previous.sha256 ? previous.etag : undefined,
    ifModifiedSince: previous.sha256 ? previous.lastModified : undefined,
    onChunk: (chunk) => parser.push(chunk),
  });
  if (res.status === 'not-modified') return { changed: false, state: previous };
  const state = { etag: res.etag, lastModified: res.lastModified, sha256: res.sha256 };
  const index = parser.end();
  if (previous.sha256 === res.sha256) return { changed: false, state };
  return { changed: true, state, index, url: res.url };
}
