// Chart archives (.tgz): downloaded once under a size cap, checked against the sha256 the index gives, kept in a
// memory cache bounded by bytes and keyed by that digest (an archive never changes under its digest, so entries never
// go stale), and read as a stream (node:zlib gunzip into chart-tar.ts's reader) for the files the catalog shows:
// Chart.yaml, README.md, values.yaml and values.schema.json of the chart's top directory. Nothing is extracted to disk.
import { createGunzip } from 'node:zlib';
import { badUserInput } from '../../common/errors.js';
import { fetchChecked, type BasicAuth } from './chart-repo.js';
import { TarReader, UnsafeArchiveError } from './chart-tar.js';
import type { Resolver } from './url-check.js';

export interface ChartFiles {
  chartYaml: string;
  readme: string | null;
  values: string | null;
  /** values.schema.json parsed; null when the chart has none. */
  valuesSchema: unknown;
}

export interface ChartArchiveOptions {
  resolver?: Resolver;
  /** Largest archive downloaded (default 20 MiB). */
  maxArchiveBytes?: number;
  /** Most bytes the gunzipped tar may have (default 200 MiB: a gzip bomb stops there). */
  maxUnpackedBytes?: number;
  /** Largest single file kept (default 4 MiB). */
  maxFileBytes?: number;
  /** Bytes of archives kept in memory (default 64 MiB). */
  cacheBytes?: number;
  timeoutMs?: number;
  /** Aborts every download (the catalog closing). */
  signal?: AbortSignal;
}

/** A map in least-recently-used order whose values' sizes add up to at most `maxBytes`. */
export class ByteLru<V> {
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private total = 0;
  constructor(private readonly maxBytes: number) {}
  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }
  set(key: string, value: V, bytes: number): void {
    if (bytes > this.maxBytes) return;
    const old = this.entries.get(key);
    if (old) {
      this.total -= old.bytes;
      this.entries.delete(key);
    }
    this.entries.set(key, { value, bytes });
    this.total += bytes;
    for (const [k, e] of this.entries) {
      if (this.total <= this.maxBytes) break;
      this.entries.delete(k);
      this.total -= e.bytes;
    }
  }
  get size(): number {
    return this.total;
  }
}

const README = /^readme(\.md|\.txt)?$/i;

/** Reads the catalog's files from an archive's bytes, as a stream; BAD_USER_INPUT for an unsafe or broken archive. */
export async function readChartFiles(
  archive: Buffer,
  opts: { maxUnpackedBytes?: number; maxFileBytes?: number; what?: string } = {},
): Promise<ChartFiles> {
  const what = opts.what ?? 'the chart archive';
  const maxUnpacked = opts.maxUnpackedBytes ?? 200 << 20;
  // Only files one directory deep (the chart's own, not its subcharts') are kept.
  const reader = new TarReader({
    want: (p) => {
      const parts = p.split('/');
      return (
        parts.length === 2 &&
        (parts[1] === 'Chart.yaml' ||
          parts[1] === 'values.yaml' ||
          parts[1] === 'values.schema.json' ||
          README.test(parts[1]))
      );
    },
    maxFileBytes: opts.maxFileBytes ?? 4 << 20,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const gunzip = createGunzip();
      let unpacked = 0;
      gunzip.on('data', (chunk: Buffer) => {
        unpacked += chunk.length;
        try {
          if (unpacked > maxUnpacked) throw new UnsafeArchiveError(`it unpacks to more than ${maxUnpacked} bytes`);
          reader.write(chunk);
        } catch (e) {
          gunzip.destroy();
          reject(e as Error);
        }
      });
      gunzip.on('error', (e) => reject(new UnsafeArchiveError(`it is not a gzip file (${e.message})`)));
      gunzip.on('end', () => {
        try {
          reader.end();
          resolve();
        } catch (e) {
          reject(e as Error);
        }
      });
      gunzip.end(archive);
    });
  } catch (e) {
    if (e instanceof UnsafeArchiveError) throw badUserInput(`${what} is refused: ${e.message}`);
    throw e;
  }
  // The chart's directory: the top directory holding Chart.yaml (helm packages one, named after the chart).
  const top = [...reader.files.keys()].find((p) => p.endsWith('/Chart.yaml'))?.split('/')[0];
  if (top === undefined) throw badUserInput(`${what} is refused: it has no Chart.yaml in a top directory`);
  const text = (name: string) => reader.files.get(`${top}/${name}`)?.toString('utf8') ?? null;
  const readmeName = [...reader.files.keys()]
    .filter((p) => p.startsWith(`${top}/`) && README.test(p.slice(top.length + 1)))
    .sort((a, b) => readmeRank(a) - readmeRank(b))[0];
  const schemaText = text('values.schema.json');
  let valuesSchema: unknown = null;
  if (schemaText !== null) {
    try {
      valuesSchema = JSON.parse(schemaText);
    } catch {
      throw badUserInput(`${what}: its values.schema.json is not JSON`);
    }
  }
  return {
    chartYaml: text('Chart.yaml')!,
    readme: readmeName ? reader.files.get(readmeName)!.toString('utf8') : null,
    values: text('values.yaml'),
    valuesSchema,
  };
}

const readmeRank = (p: string) => (p.endsWith('/README.md') ? 0 : /\.md$/i.test(p) ? 1 : 2);

export interface ArchiveRequest {
  /** Absolute URL of the archive. */
  url: string;
  /** sha256 hex the index gives. */
  digest: string;
  auth?: BasicAuth;
  /** The repository's origin: credentials go there only. */
  authOrigin?: string;
  /** For messages: "chart webapp 1.0.0 of repository x". */
  what: string;
}

/** Downloads, verifies and caches archives; reads their files (also cached). */
export class ChartArchives {
  private readonly archives: ByteLru<Buffer>;
  private readonly files: ByteLru<ChartFiles>;
  private readonly inFlight = new Map<string, Promise<Buffer>>();

  constructor(private readonly opts: ChartArchiveOptions = {}) {
    const cacheBytes = opts.cacheBytes ?? 64 << 20;
    this.archives = new ByteLru(cacheBytes);
    this.files = new ByteLru(Math.max(1 << 20, cacheBytes >> 2));
  }

  /** The archive's bytes, verified against `digest`; one download per digest however many ask at once. */
  async archive(req: ArchiveRequest): Promise<Buffer> {
    const digest = req.digest.replace(/^sha256:/, '').toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(digest))
      throw badUserInput(`${req.what}: the index gives no sha256 digest for it, so it cannot be verified`);
    const cached = this.archives.get(digest);
    if (cached) return cached;
    let pending = this.inFlight.get(digest);
    if (!pending) {
      pending = this.download(req, digest).finally(() => this.inFlight.delete(digest));
      this.inFlight.set(digest, pending);
    }
    return pending;
  }

  private async download(req: ArchiveRequest, digest: string): Promise<Buffer> {
    const res = await fetchChecked(req.url, {
      resolver: this.opts.resolver,
      maxBytes: this.opts.maxArchiveBytes ?? 20 << 20,
      timeoutMs: this.opts.timeoutMs ?? 30_000,
      signal: this.opts.signal,
      auth: req.auth,
      authOrigin: req.authOrigin,
      what: req.what,
    });
    if (res.status !== 'ok') throw new Error('unexpected 304 for an unconditional request');
    if (res.sha256 !== digest)
      throw badUserInput(
        `${req.what}: the archive's sha256 is ${res.sha256}, the index says ${digest}: refused (changed or tampered with)`,
      );
    const bytes = Buffer.concat(res.chunks);
    this.archives.set(digest, bytes, bytes.length);
    return bytes;
  }

  /** The catalog's files of an archive (README, values, schema, Chart.yaml). */
  async chartFiles(req: ArchiveRequest): Promise<ChartFiles> {
    return (await this.verified(req, false)).files;
  }

  /** The archive's bytes, read through once (an unsafe archive is refused here), and its files. */
  async verifiedArchive(req: ArchiveRequest): Promise<{ bytes: Buffer; files: ChartFiles }> {
    const { bytes, files } = await this.verified(req, true);
    return { bytes: bytes!, files };
  }

  private async verified(req: ArchiveRequest, wantBytes: boolean): Promise<{ bytes?: Buffer; files: ChartFiles }> {
    const digest = req.digest.replace(/^sha256:/, '').toLowerCase();
    const cached = this.files.get(digest);
    if (cached && !wantBytes) return { files: cached };
    const bytes = await this.archive(req);
    if (cached) return { bytes, files: cached };
    const files = await readChartFiles(bytes, {
      maxUnpackedBytes: this.opts.maxUnpackedBytes,
      maxFileBytes: this.opts.maxFileBytes,
      what: req.what,
    });
    const size =
      files.chartYaml.length +
      (files.readme?.length ?? 0) +
      (files.values?.length ?? 0) +
      JSON.stringify(files.valuesSchema ?? null).length;
    this.files.set(digest, files, size);
    return { bytes, files };
  }
}
