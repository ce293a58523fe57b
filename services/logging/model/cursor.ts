// Opaque cursors of log lines: where a page ends (the point in time and the hit's sort values, for search_after) and
// which line it is (for logContext). Signed with an HMAC, so a caller can neither forge a point in time nor point
// logContext at another container: what a cursor says was said by this service.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { badUserInput } from '../../common/errors.js';

export interface LineCursor {
  /** The point in time the page was read from (undefined: read without one). */
  pit?: string;
  /** The hit's sort values (search_after). */
  sort: (string | number | null)[];
  /** The line's time (ms) and identity. */
  at: number;
  index: string;
  id: string;
  namespace: string;
  pod: string;
  container: string;
  /** The order of the page: newest first (desc) or oldest first. */
  desc: boolean;
  /**
   * The _ids of the lines at the millisecond `at` returned so far, this line included (null: too many to carry).
   * They continue a walk exactly where the server's tie-breaker cannot: Elasticsearch 7.10-7.11 (no implicit
   * `_shard_doc`), and a new point in time after one expired (`_shard_doc` values differ between points in time).
   */
  seen?: string[] | null;
}

/** A cursor carries up to MAX_SEEN_END ids (search.ts): about 60 kB. */
const MAX_CURSOR_LENGTH = 131_072;

export class CursorCodec {
  private readonly key: Buffer;

  /** `secret`: shared by replicas (the identity secret) so a cursor works on any of them; default: per process. */
  constructor(secret?: string) {
    this.key = createHmac('sha256', 'kubegraph-logging-cursor')
      .update(secret ?? randomBytes(32))
      .digest();
  }

  encode(c: LineCursor): string {
    const body = Buffer.from(
      JSON.stringify([
        c.pit ?? null,
        c.sort,
        c.at,
        c.index,
        c.id,
        c.namespace,
        c.pod,
        c.container,
        c.desc ? 1 : 0,
        c.seen === undefined ? 0 : c.seen,
      ]),
    ).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  decode(cursor: string, argument: string): LineCursor {
    const bad = () => badUserInput(`${argument} is not a cursor of this service (or has been altered)`, { argument });
    if (typeof cursor !== 'string' || cursor.length > MAX_CURSOR_LENGTH) throw bad();
    const dot = cursor.lastIndexOf('.');
    if (dot < 0) throw bad();
    const body = cursor.slice(0, dot);
    const given = Buffer.from(cursor.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.mac(body), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw bad();
    const v = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown[];
    const [pit, sort, at, index, id, namespace, pod, container, desc, seen] = v;
    return {
      ...(typeof pit === 'string' ? { pit } : {}),
      sort: sort as LineCursor['sort'],
      at: at as number,
      index: index as string,
      id: id as string,
      namespace: namespace as string,
      pod: pod as string,
      container: container as string,
      desc: desc === 1,
      ...(seen === null || Array.isArray(seen) ? { seen: seen as string[] | null } : {}),
    };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
