// Reading a request body within a size limit: one implementation for the subgraphs' HTTP layer
// (services/common/http.ts), the Elasticsearch stand-in and the sandbox API server, each with its own error for a body
// that is too large.
import type { IncomingMessage } from 'node:http';

export interface ReadBodyOptions {
  /** The error the read rejects with once the body passes the limit (`size`: the bytes received by then). */
  tooLarge: (size: number) => Error;
  /** Past the limit: 'destroy' the request, or 'drain' (resume) it so that a response can still be written. */
  overflow: 'destroy' | 'drain';
}

export function readBody(req: IncomingMessage, limit: number, opts: ReadBodyOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(opts.tooLarge(size));
        if (opts.overflow === 'destroy') req.destroy();
        else req.resume();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
