// One HTTPS GET with a bearer token and no client library, the body as raw bytes: how the sandbox benchmarks read
// the API server when what they measure or serve is the bytes, not a parsed answer.
import { request as httpsRequest } from 'node:https';

export interface RawGetOptions {
  ca: Buffer | string;
  token: string;
  /** false: a fresh connection (as client-node makes per call); default: Node's global agent. */
  agent?: false;
}

/** GETs `url`; an answer other than 200 rejects with `failure(status, body)`. */
export function getRaw(
  url: string,
  opts: RawGetOptions,
  failure: (status: number | undefined, body: Buffer) => Error,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        ca: opts.ca,
        ...(opts.agent === false ? { agent: false } : {}),
        headers: { Authorization: `Bearer ${opts.token}`, Accept: 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(Buffer.concat(chunks))
            : reject(failure(res.statusCode, Buffer.concat(chunks))),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
