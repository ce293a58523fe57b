// A Helm chart repository for tests, served over HTTP on 127.0.0.1 and made with the real helm binary
// (`npm run tools` unpacks Helm 4 into .tools/bin): `helm create`, edited, `helm package`, `helm repo index`.
//
//   buildChartRepo(): Promise<BuiltChartRepo>        the standard repository below, in a temporary directory
//   serveChartRepo(dir, opts?): Promise<ChartRepoServer>   any directory over HTTP (ETag, Last-Modified, 304,
//                                                     optional basic auth, redirects, a request log)
//   tarGz(entries): Buffer                           a .tgz written byte by byte (for hostile archives helm refuses
//                                                     to make: `../` paths, symlinks out, PAX/GNU long names)
//   indexYaml(entries): string                       an index.yaml in helm's own layout for hand-made archives
//   sha256(bytes): string                            the digest helm writes into an index
//   helm(args, cwd?): Promise<string>                the helm binary with a private HELM_* home (no user config)
//
// The standard repository (STANDARD_CHARTS lists it):
//   webapp    0.1.0, 0.2.0, 1.0.0, 1.1.0-rc.1 (prerelease); keywords web, nginx; values.schema.json from 0.2.0 on
//             (replicaCount: integer >= 0, image.tag: string); README.md in every version
//   withdep   1.0.0, depends on webapp 1.0.0 (vendored into charts/ by `helm dependency update` from file://)
//   legacy    0.9.0, `deprecated: true`
//   onlybeta  0.1.0-beta.1 and 0.1.0-alpha.1 (only prereleases)
//   nginx-proxy, proxy (keyword nginx), cachebox (description mentions nginx): for search ranking
//   broken    0.1.0: its Deployment has `replicas: -1` (values replicaCount: -1), which the API server rejects;
//             `--set replicaCount=1` (or values `replicaCount: 1`) makes it install
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { parse as parseYaml, stringify as toYaml } from 'yaml';

export const HELM_BIN = resolve(import.meta.dirname, '../../.tools/bin/helm');
const run = promisify(execFile);

export const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

let helmHome: string | undefined;
/** Runs helm with its config, cache and data in a private temporary directory; rejects with stderr. */
export async function helm(args: string[], cwd?: string): Promise<string> {
  if (helmHome === undefined) {
    const home = (helmHome = mkdtempSync(join(tmpdir(), 'kubegraph-helm-home-')));
    process.once('exit', () => rmSync(home, { recursive: true, force: true }));
  }
  try {
    const { stdout } = await run(HELM_BIN, args, {
      cwd,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: helmHome,
        HELM_CONFIG_HOME: join(helmHome, 'config'),
        HELM_CACHE_HOME: join(helmHome, 'cache'),
        HELM_DATA_HOME: join(helmHome, 'data'),
      },
      maxBuffer: 16 << 20,
    });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`helm ${args.join(' ')}: ${err.stderr || err.message}`, { cause: e });
  }
}

export interface ChartSpec {
  name: string;
  version: string;
  appVersion?: string;
  description?: string;
  keywords?: string[];
  deprecated?: boolean;
  /** Written as values.schema.json. */
  valuesSchema?: object;
  readme?: string;
  /** Merged over helm create's values.yaml. */
  values?: Record<string, unknown>;
  dependencies?: { name: string; version: string; repository: string }[];
}

/** Makes a chart with `helm create`, edits Chart.yaml/values/README/schema, packages it into `outDir`. */
export async function makeChart(workDir: string, outDir: string, spec: ChartSpec): Promise<string> {
  const srcParent = join(workDir, `${spec.name}-${spec.version}`);
  mkdirSync(srcParent, { recursive: true });
  const src = join(srcParent, spec.name);
  await helm(['create', spec.name], srcParent);
  const chartYaml = parseYaml(readFileSync(join(src, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
  Object.assign(chartYaml, {
    version: spec.version,
    appVersion: spec.appVersion ?? spec.version,
    description: spec.description ?? `The ${spec.name} chart`,
    ...(spec.keywords ? { keywords: spec.keywords } : {}),
    ...(spec.deprecated ? { deprecated: true } : {}),
    ...(spec.dependencies ? { dependencies: spec.dependencies } : {}),
  });
  writeFileSync(join(src, 'Chart.yaml'), toYaml(chartYaml));
  if (spec.values) {
    const values = parseYaml(readFileSync(join(src, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(src, 'values.yaml'), toYaml({ ...values, ...spec.values }));
  }
  if (spec.valuesSchema) writeFileSync(join(src, 'values.schema.json'), JSON.stringify(spec.valuesSchema, null, 2));
  writeFileSync(join(src, 'README.md'), spec.readme ?? `# ${spec.name}\n\nVersion ${spec.version}.\n`);
  if (spec.dependencies) await helm(['dependency', 'update', src]);
  await helm(['package', src, '-d', outDir]);
  return join(outDir, `${spec.name}-${spec.version}.tgz`);
}

const WEBAPP_SCHEMA = {
  $schema: 'https://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: {
    replicaCount: { type: 'integer', minimum: 0 },
    image: { type: 'object', properties: { tag: { type: 'string' } } },
  },
};

export const STANDARD_CHARTS: ChartSpec[] = [
  ...['0.1.0', '0.2.0', '1.0.0', '1.1.0-rc.1'].map((version) => ({
    name: 'webapp',
    version,
    appVersion: `app-${version}`,
    description: 'A web application served by nginx',
    keywords: ['web', 'nginx'],
    readme: `# webapp\n\nThe webapp chart, version ${version}.\n`,
    ...(version === '0.1.0' ? {} : { valuesSchema: WEBAPP_SCHEMA }),
  })),
  { name: 'legacy', version: '0.9.0', deprecated: true, description: 'An old chart' },
  { name: 'onlybeta', version: '0.1.0-alpha.1', description: 'Only prereleases' },
  { name: 'onlybeta', version: '0.1.0-beta.1', description: 'Only prereleases' },
  { name: 'nginx-proxy', version: '2.0.0', description: 'A reverse proxy', keywords: ['proxy'] },
  { name: 'proxy', version: '1.0.0', description: 'A generic proxy', keywords: ['nginx', 'haproxy'] },
  { name: 'cachebox', version: '1.0.0', description: 'A cache in front of nginx', keywords: ['cache'] },
  {
    name: 'broken',
    version: '0.1.0',
    description: 'A Deployment the API server rejects',
    values: { replicaCount: -1 },
  },
];

export interface BuiltChartRepo {
  /** The directory holding index.yaml and the .tgz files. */
  dir: string;
  /** The charts in it. */
  charts: ChartSpec[];
  /** Removes the directories. */
  cleanup(): void;
}

/** The standard repository (see the top of this file); takes a few seconds (one helm call per step). */
export async function buildChartRepo(charts: ChartSpec[] = STANDARD_CHARTS): Promise<BuiltChartRepo> {
  const root = mkdtempSync(join(tmpdir(), 'kubegraph-charts-'));
  const work = join(root, 'src');
  const dir = join(root, 'repo');
  mkdirSync(dir, { recursive: true });
  const all = [...charts];
  for (const spec of charts) await makeChart(work, dir, spec);
  if (charts === STANDARD_CHARTS || charts.some((c) => c.name === 'webapp' && c.version === '1.0.0')) {
    const withdep: ChartSpec = {
      name: 'withdep',
      version: '1.0.0',
      description: 'A chart with a dependency',
      dependencies: [
        { name: 'webapp', version: '1.0.0', repository: `file://${join(work, 'webapp-1.0.0', 'webapp')}` },
      ],
    };
    await makeChart(work, dir, withdep);
    all.push(withdep);
  }
  await helm(['repo', 'index', dir]);
  return { dir, charts: all, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export interface ServedRequest {
  method: string;
  path: string;
  status: number;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  authorization?: string;
}

export interface ServeOptions {
  /** Basic auth every request must carry (401 otherwise). */
  auth?: { username: string; password: string };
  /** Send ETag (default true) and Last-Modified (default true) and honour the conditional headers. */
  etag?: boolean;
  lastModified?: boolean;
  /** path → Location: a 302 to wherever (absolute or relative). */
  redirects?: Record<string, string>;
}

export interface ChartRepoServer {
  /** http://127.0.0.1:<port>/ : the repository URL (index at url + 'index.yaml'). */
  url: string;
  dir: string;
  /** Every request served, in order. */
  requests: ServedRequest[];
  /** Writes (or replaces) a file in the served directory. */
  writeFile(path: string, content: Buffer | string): void;
  close(): Promise<void>;
}

/** Serves `dir` over HTTP on 127.0.0.1 (GET/HEAD of files only). */
export async function serveChartRepo(dir: string, opts: ServeOptions = {}): Promise<ChartRepoServer> {
  const requests: ServedRequest[] = [];
  const root = resolve(dir);
  const server: Server = createServer((req: IncomingMessage, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const log: ServedRequest = {
      method: req.method ?? 'GET',
      path,
      status: 200,
      ifNoneMatch: req.headers['if-none-match'],
      ifModifiedSince: req.headers['if-modified-since'],
      authorization: req.headers.authorization,
    };
    requests.push(log);
    const send = (status: number, body = '', headers: Record<string, string> = {}) => {
      log.status = status;
      res.writeHead(status, headers).end(body);
    };
    if (opts.auth) {
      const want = 'Basic ' + Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64');
      if (req.headers.authorization !== want) return send(401, 'unauthorized', { 'www-authenticate': 'Basic' });
    }
    const redirect = opts.redirects?.[path];
    if (redirect !== undefined) return send(302, '', { location: redirect });
    const file = normalize(join(root, path));
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) return send(404, 'not found');
    const body = readFileSync(file);
    const stat = statSync(file);
    const etag = `"${sha256(body).slice(0, 32)}"`;
    const modified = new Date(Math.floor(stat.mtimeMs / 1000) * 1000);
    const headers: Record<string, string> = {
      'content-type': file.endsWith('.tgz') ? 'application/gzip' : 'text/yaml',
      'content-length': String(body.length),
    };
    if (opts.etag !== false) headers.etag = etag;
    if (opts.lastModified !== false) headers['last-modified'] = modified.toUTCString();
    if (opts.etag !== false && req.headers['if-none-match'] === etag) return send(304, '', headers);
    const since = req.headers['if-modified-since'];
    if (opts.lastModified !== false && opts.etag === false && since && Date.parse(since) >= modified.getTime())
      return send(304, '', headers);
    log.status = 200;
    res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    dir: root,
    requests,
    writeFile: (path, content) => {
      const target = join(root, path);
      mkdirSync(join(target, '..'), { recursive: true });
      writeFileSync(target, content);
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

export interface TarEntry {
  path: string;
  /** file (default), dir, symlink, hardlink. */
  type?: 'file' | 'dir' | 'symlink' | 'hardlink';
  content?: string | Buffer;
  /** symlink / hardlink target. */
  linkpath?: string;
  /** Write the path in a PAX extended header (also done automatically for paths over 100 bytes). */
  pax?: boolean;
  /** Write the path as a GNU long name ('L') instead. */
  gnuLongName?: boolean;
}

const TYPE_FLAG = { file: '0', dir: '5', symlink: '2', hardlink: '1' } as const;

function tarHeader(name: string, size: number, type: string, linkpath = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write(linkpath.slice(0, 100), 157, 'utf8');
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

const padded = (data: Buffer) => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return `${len}${body}`;
}

/** A gzip'd tar written byte by byte (ustar; PAX or GNU long names when asked or needed). */
export function tarGz(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'file';
    const data = type === 'file' ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
    let name = e.path;
    if (e.gnuLongName) {
      const longName = Buffer.from(e.path + '\0');
      parts.push(tarHeader('././@LongLink', longName.length, 'L'), padded(longName));
      name = e.path.slice(0, 100);
    } else if (e.pax || Buffer.byteLength(e.path) > 100) {
      const pax = Buffer.from(paxRecord('path', e.path) + (e.linkpath ? paxRecord('linkpath', e.linkpath) : ''));
      parts.push(tarHeader('PaxHeader', pax.length, 'x'), padded(pax));
      name = 'PaxHeader-name-ignored';
    }
    parts.push(tarHeader(name, data.length, TYPE_FLAG[type], e.linkpath ?? ''), padded(data));
  }
  parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts));
}

export interface IndexEntry {
  name: string;
  version: string;
  /** sha256 hex of the archive (what helm writes); omitted: none. */
  digest?: string;
  urls: string[];
  description?: string;
  appVersion?: string;
  deprecated?: boolean;
  keywords?: string[];
}

/** An index.yaml in helm's layout (apiVersion, entries by chart, newest first as helm sorts them, generated). */
export function indexYaml(entries: IndexEntry[]): string {
  const byName: Record<string, object[]> = {};
  for (const e of entries)
    (byName[e.name] ??= []).push({ apiVersion: 'v2', created: new Date().toISOString(), type: 'application', ...e });
  return toYaml({ apiVersion: 'v1', entries: byName, generated: new Date().toISOString() });
}

/** Removes a directory made by these helpers (for afterAll). */
export const removeDir = (dir: string) => rmSync(dir, { recursive: true, force: true });
