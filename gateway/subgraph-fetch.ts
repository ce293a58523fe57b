// The gateway's HTTP client for subgraph fetches (the `fetcher` of KubegraphDataSource): node:http(s) with a
// keep-alive agent per data source and one timer per request, instead of undici's fetch with an AbortSignal.timeout
// per fetch (WebStreams, Request/Response objects and the signal's timer were about a third of the gateway's CPU).
// It answers with the part of a fetch Response that @apollo/gateway's RemoteGraphQLDataSource reads: ok, status,
// statusText, url, headers.get, text() and json(), the body read whole before it resolves.
//
// Identical query fetches in flight at the same time share one HTTP request (see `shareKey`): under many clients
// asking the same thing, the subgraphs answer once instead of once per client, as Hive Gateway does by default.
import http from 'node:http';
import https from 'node:https';
import type { Fetcher, FetcherRequestInit, FetcherResponse } from '@apollo/utils.fetcher';

/** A fetch that did not answer within its deadline (the name the data source maps to "did not answer within"). */
export class SubgraphTimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** A subgraph's answer, read whole: shared by the fetches that joined the same request. */
interface Answer {
  url: string;
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** The request id is the one header that differs between clients' otherwise identical fetches. */
const NOT_IN_SHARE_KEY = 'x-request-id';

/**
 * The key under which a fetch may share another's request, or undefined when it must go alone: only queries (the
 * body's document starts with `query` or `{`; a mutation, a subscription or anything else goes alone), and only with
 * the same URL, body and headers — the forwarded identity, client address and user agent included — so that nobody
 * gets an answer made for another viewer. The joiner's own request id does not reach the subgraph (the first one's
 * does); the gateway still logs and counts each request itself.
 */
export function shareKey(url: string, init: FetcherRequestInit): string | undefined {
  const body = init.body;
  if (typeof body !== 'string' || (init.method ?? 'GET').toUpperCase() !== 'POST') return undefined;
  // RemoteGraphQLDataSource stringifies { query, ...rest }: the document is the first property.
  if (!body.startsWith('{"query":"query') && !body.startsWith('{"query":"{')) return undefined;
  const headers = Object.entries(init.headers ?? {})
    .filter(([name]) => name.toLowerCase() !== NOT_IN_SHARE_KEY)
    .map(([name, value]) => `${name.toLowerCase()}:${value}`)
    .sort();
  return `${url}\n${headers.join('\n')}\n${body}`;
}

class AnswerHeaders {
  constructor(private readonly raw: http.IncomingHttpHeaders) {}
  get(name: string): string | null {
    const v = this.raw[name.toLowerCase()];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  }
  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }
  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.raw)) yield [name, this.get(name)!];
  }
  keys(): IterableIterator<string> {
    return Object.keys(this.raw)[Symbol.iterator]();
  }
  *values(): IterableIterator<string> {
    for (const [, v] of this.entries()) yield v;
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
  append(): void {
    throw new TypeError('the headers of a subgraph response are read-only');
  }
  set(): void {
    this.append();
  }
  delete(): void {
    this.append();
  }
}

/** One caller's view of an answer: its own body reads (and its own JSON objects: callers may mutate them). */
class AnswerResponse implements FetcherResponse {
  readonly redirected = false;
  readonly headers: AnswerHeaders;
  bodyUsed = false;
  constructor(private readonly answer: Answer) {
    this.headers = new AnswerHeaders(answer.headers);
  }
  get url() {
    return this.answer.url;
  }
  get status() {
    return this.answer.status;
  }
  get statusText() {
    return this.answer.statusText;
  }
  get ok() {
    return this.answer.status >= 200 && this.answer.status < 300;
  }
  async text(): Promise<string> {
    if (this.bodyUsed) throw new TypeError('body used already');
    this.bodyUsed = true;
    return this.answer.body;
  }
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = Buffer.from(await this.text());
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }
  clone(): FetcherResponse {
    return new AnswerResponse(this.answer);
  }
}

export interface SubgraphFetcherOptions {
  /** Deadline of each HTTP request, from its start to its whole body. */
  timeoutMs: number;
  /** Largest answer read, in bytes (a subgraph is trusted, but a bug must not exhaust the gateway's memory). */
  maxBodyBytes?: number;
  /** Identical query fetches in flight share one request (shareKey); default true. */
  shareQueries?: boolean;
}

export interface SubgraphFetcher extends Fetcher {
  /** Closes the agent's idle connections. */
  close(): void;
}

export function createSubgraphFetcher(opts: SubgraphFetcherOptions): SubgraphFetcher {
  const maxBodyBytes = opts.maxBodyBytes ?? 256 * 1024 * 1024;
  // Keep-alive, no socket limit (the gateway's own limits bound concurrency), as @apollo/gateway's default fetcher.
  // An idle socket is closed after 4 s, or 1 s before the server's Keep-Alive hint (Node's server: 5 s): reusing one
  // the server is closing at that moment would fail the fetch. (Without an agent timeout Node ignores the hint.)
  const agentOptions = { keepAlive: true, scheduling: 'lifo', timeout: 4000 } as const;
  const agents = { 'http:': new http.Agent(agentOptions), 'https:': new https.Agent(agentOptions) };
  const inFlight = new Map<string, Promise<Answer>>();
  const share = opts.shareQueries ?? true;
  // A data source fetches one URL: parsed once.
  const urls = new Map<string, URL>();

  const send = (url: string, init: FetcherRequestInit): Promise<Answer> =>
    new Promise<Answer>((resolve, reject) => {
      let target = urls.get(url);
      if (!target) {
        target = new URL(url);
        if (urls.size < 100) urls.set(url, target);
      }
      const secure = target.protocol === 'https:';
      if (!secure && target.protocol !== 'http:') return reject(new TypeError(`unsupported URL ${target.protocol}`));
      const body = init.body === undefined ? undefined : Buffer.from(init.body);
      const headers: http.OutgoingHttpHeaders = { ...init.headers };
      if (body) headers['content-length'] = body.length;
      // Called at call time through the module object: the tracing preload patches it in place (traceparent).
      const req = (secure ? https : http).request(target, {
        method: init.method ?? 'GET',
        headers,
        agent: agents[secure ? 'https:' : 'http:'],
      });
      // Why the exchange was cut short by this side (the deadline, an answer too large): the error every path reports.
      let cause: Error | undefined;
      const abort = (e: Error) => {
        cause ??= e;
        req.destroy(e);
      };
      // One timer for the whole exchange: connect, send, and the body read to its end.
      const timer = setTimeout(
        () => abort(new SubgraphTimeoutError(`no answer within ${opts.timeoutMs} ms`)),
        opts.timeoutMs,
      );
      const fail = (e: Error) => {
        clearTimeout(timer);
        reject(cause ?? e);
      };
      req.once('error', fail);
      req.once('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBodyBytes) abort(new Error(`answer larger than ${maxBodyBytes} bytes`));
          else chunks.push(c);
        });
        res.once('error', fail);
        res.once('close', () => {
          if (!res.complete) fail(new Error('the connection closed before the answer ended'));
        });
        res.once('end', () => {
          clearTimeout(timer);
          resolve({
            url,
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            headers: res.headers,
            body: chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'),
          });
        });
      });
      req.end(body);
    });

  const fetcher = async (url: string, init: FetcherRequestInit = {}): Promise<FetcherResponse> => {
    const key = share ? shareKey(url, init) : undefined;
    if (key === undefined) return new AnswerResponse(await send(url, init));
    let answer = inFlight.get(key);
    if (!answer) {
      answer = send(url, init);
      inFlight.set(key, answer);
      const done = () => inFlight.delete(key);
      answer.then(done, done);
    }
    return new AnswerResponse(await answer);
  };
  return Object.assign(fetcher, {
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  });
}
