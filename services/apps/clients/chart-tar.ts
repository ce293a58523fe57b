// A small streaming tar reader for chart archives (ustar, PAX `x`/`g` headers, GNU `L`/`K` long names): it is fed
// the gunzipped bytes as they come and keeps only the files asked for. Nothing is written to disk. Any entry whose
// path escapes the archive (`..` segments, absolute paths) and any symlink or hardlink pointing outside refuses the
// whole archive, as helm's own loader refuses such charts.
import { posix } from 'node:path';

export class UnsafeArchiveError extends Error {}

export interface TarReaderOptions {
  /** Whether to keep this regular file's bytes (path as in the archive, normalized). */
  want(path: string): boolean;
  /** Largest file kept. */
  maxFileBytes: number;
}

const BLOCK = 512;

/** Refuses paths that are absolute or climb out with `..`; returns the path normalized. */
export function safeEntryPath(raw: string): string {
  const path = raw.replace(/\\/g, '/');
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path))
    throw new UnsafeArchiveError(`entry ${JSON.stringify(raw)} is an absolute path`);
  if (path.split('/').includes('..'))
    throw new UnsafeArchiveError(`entry ${JSON.stringify(raw)} climbs out of the chart with ..`);
  return posix.normalize(path).replace(/\/$/, '');
}

function checkLink(entry: string, target: string, kind: 'symlink' | 'hardlink'): void {
  const t = target.replace(/\\/g, '/');
  if (t.startsWith('/') || /^[A-Za-z]:/.test(t))
    throw new UnsafeArchiveError(
      `${kind} ${JSON.stringify(entry)} points to the absolute path ${JSON.stringify(target)}`,
    );
  // A symlink resolves from its own directory; a hardlink names another entry of the archive.
  const resolved = posix.normalize(kind === 'symlink' ? posix.join(posix.dirname(entry), t) : t);
  if (resolved === '..' || resolved.startsWith('../'))
    throw new UnsafeArchiveError(
      `${kind} ${JSON.stringify(entry)} points out of the chart (${JSON.stringify(target)})`,
    );
}

function octal(buf: Buffer, offset: number, length: number): number {
  // Base-256 (GNU) for large numbers: the high bit of the first byte set.
  if (buf[offset] & 0x80) {
    let n = buf[offset] & 0x7f;
    for (let i = 1; i < length; i++) n = n * 256 + buf[offset + i];
    return n;
  }
  const text = buf
    .subarray(offset, offset + length)
    .toString('latin1')
    .replace(/[\0 ]+$/g, '')
    .trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new UnsafeArchiveError('the archive has a damaged tar header');
  return parseInt(text, 8);
}

const cstring = (buf: Buffer, offset: number, length: number) => {
  const slice = buf.subarray(offset, offset + length);
  const nul = slice.indexOf(0);
  return (nul === -1 ? slice : slice.subarray(0, nul)).toString('utf8');
};

function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) break;
    const len = Number(data.subarray(pos, space).toString('latin1'));
    if (!Number.isInteger(len) || len <= 0 || pos + len > data.length)
      throw new UnsafeArchiveError('the archive has a damaged PAX header');
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

interface Entry {
  path: string;
  type: string;
  size: number;
  linkpath: string;
}

/** Push gunzipped bytes in with `write`, call `end`; `files` then holds the wanted files by normalized path. */
export class TarReader {
  readonly files = new Map<string, Buffer>();
  /** Every regular file's normalized path (to find the chart's top directory). */
  readonly paths: string[] = [];
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private entry: Entry | undefined;
  /** Bytes of the current entry's data still to come, and padding after it. */
  private remaining = 0;
  private padding = 0;
  private keep: Buffer[] | undefined;
  private meta: 'pax' | 'gnu-name' | 'gnu-link' | 'skip' | undefined;
  private metaData: Buffer[] = [];
  private nextPax: Record<string, string> = {};
  private nextName: string | undefined;
  private nextLink: string | undefined;
  private ended = false;

  constructor(private readonly opts: TarReaderOptions) {}

  write(chunk: Buffer): void {
    if (this.ended) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    for (;;) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, this.pendingBytes);
        if (take === 0) return;
        const data = this.take(take);
        this.remaining -= take;
        if (this.meta) this.metaData.push(data);
        else this.keep?.push(data);
        if (this.remaining === 0) this.finishData();
        continue;
      }
      if (this.padding > 0) {
        const take = Math.min(this.padding, this.pendingBytes);
        if (take === 0) return;
        this.take(take);
        this.padding -= take;
        continue;
      }
      if (this.pendingBytes < BLOCK) return;
      const header = this.take(BLOCK);
      if (header.every((b) => b === 0)) {
        this.ended = true;
        return;
      }
      this.header(header);
    }
  }

  end(): void {
    if (this.remaining > 0 || this.entry) throw new UnsafeArchiveError('the archive ends in the middle of an entry');
  }

  private take(n: number): Buffer {
    const all = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    return out;
  }

  private header(h: Buffer): void {
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    if (octal(h, 148, 8) !== sum) throw new UnsafeArchiveError('the archive is not a tar file (header checksum)');
    const type = String.fromCharCode(h[156] || 48);
    const size = octal(h, 124, 12);
    let name = cstring(h, 0, 100);
    const magic = h.subarray(257, 262).toString('latin1');
    if (magic === 'ustar') {
      const prefix = cstring(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    this.remaining = size;
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      if (size > 1 << 20) throw new UnsafeArchiveError('the archive has an oversized extended header');
      this.meta = type === 'x' ? 'pax' : type === 'L' ? 'gnu-name' : type === 'K' ? 'gnu-link' : 'skip';
      this.metaData = [];
      if (size === 0) this.finishData();
      return;
    }
    const path = this.nextPax.path ?? this.nextName ?? name;
    const linkpath = this.nextPax.linkpath ?? this.nextLink ?? cstring(h, 157, 100);
    const paxSize = this.nextPax.size !== undefined ? Number(this.nextPax.size) : undefined;
    if (paxSize !== undefined) {
      if (!Number.isSafeInteger(paxSize) || paxSize < 0) throw new UnsafeArchiveError('the archive has a bad size');
      this.remaining = paxSize;
      this.padding = (BLOCK - (paxSize % BLOCK)) % BLOCK;
    }
    this.nextPax = {};
    this.nextName = this.nextLink = undefined;
    const normalized = safeEntryPath(path);
    if (type === '2') checkLink(normalized, linkpath, 'symlink');
    if (type === '1') checkLink(normalized, linkpath, 'hardlink');
    const regular = type === '0' || type === '7';
    this.entry = { path: normalized, type, size: this.remaining, linkpath };
    if (regular) {
      this.paths.push(normalized);
      if (this.opts.want(normalized)) {
        if (this.remaining > this.opts.maxFileBytes)
          throw new UnsafeArchiveError(`${normalized} is larger than ${this.opts.maxFileBytes} bytes`);
        this.keep = [];
      }
    }
    if (this.remaining === 0) this.finishData();
  }

  private finishData(): void {
    if (this.meta) {
      const data = Buffer.concat(this.metaData);
      if (this.meta === 'pax') this.nextPax = paxRecords(data);
      else if (this.meta === 'gnu-name') this.nextName = cstring(data, 0, data.length);
      else if (this.meta === 'gnu-link') this.nextLink = cstring(data, 0, data.length);
      this.meta = undefined;
      this.metaData = [];
      return;
    }
    if (this.entry && this.keep) this.files.set(this.entry.path, Buffer.concat(this.keep));
    this.entry = undefined;
    this.keep = undefined;
  }
}
