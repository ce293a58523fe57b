// Bad input to the chart catalog (issue 16 §3), each a clear error with nothing stored or served: malformed and
// oversized indexes, hostile chart archives (`../`, absolute paths, links out, digest mismatch), URLs that are not
// http(s), and hosts in the link-local range, checked with a stub resolver only (tests reach 127.0.0.1 and nothing
// else). Also the index parser on the other layouts an index may come in (JSON, indented sequences).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Viewer } from '../services/common/authz.js';
import { fetchChecked } from '../services/apps/clients/chart-repo.js';
import { parseIndex } from '../services/apps/clients/chart-repo-index.js';
import { openRepositoryStore } from '../services/apps/clients/repository-store.js';
import { isRefusedAddress, resolveChecked, type Resolver } from '../services/apps/clients/url-check.js';
import { Catalog } from '../services/apps/model/catalog.js';
import {
  buildChartRepo,
  indexYaml,
  removeDir,
  serveChartRepo,
  sha256,
  tarGz,
  type BuiltChartRepo,
  type ChartRepoServer,
  type TarEntry,
} from './harness/charts.js';

const ADMIN: Viewer = { username: 'admin', platformRole: 'platform-admin' };
const CAP = 64 << 10;

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    const code = (e as { extensions?: { code?: unknown } }).extensions?.code;
    return { code: String(code ?? `not a GraphQL error: ${e}`), message: (e as Error).message };
  }
  return { code: 'no error', message: '' };
}

/** A resolver that answers from a table and records every name asked (never the network). */
function stubResolver(table: Record<string, string[]>): Resolver & { asked: string[] } {
  const asked: string[] = [];
  const resolver = async (host: string) => {
    asked.push(host);
    const addrs = table[host];
    if (!addrs) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
    return addrs.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }));
  };
  return Object.assign(resolver, { asked });
}

let repo: BuiltChartRepo;
let server: ChartRepoServer;
let hostile: ChartRepoServer;
let catalog: Catalog;
const resolver = stubResolver({});
const hostileDir = mkdtempSync(join(tmpdir(), 'kubegraph-hostile-'));

const chartYaml = (name: string) => `apiVersion: v2\nname: ${name}\nversion: 1.0.0\n`;
const hostileCharts: Record<string, TarEntry[]> = {
  dotdot: [
    { path: 'dotdot/Chart.yaml', content: chartYaml('dotdot') },
    { path: 'dotdot/../../../etc/cron.d/evil', content: '* * * * * root sh' },
  ],
  absolute: [
    { path: 'absolute/Chart.yaml', content: chartYaml('absolute') },
    { path: '/etc/passwd', content: 'root::0:0' },
  ],
  symlinkout: [
    { path: 'symlinkout/Chart.yaml', content: chartYaml('symlinkout') },
    { path: 'symlinkout/templates/secret.yaml', type: 'symlink', linkpath: '../../../../etc/shadow' },
  ],
  hardlinkout: [
    { path: 'hardlinkout/Chart.yaml', content: chartYaml('hardlinkout') },
    { path: 'hardlinkout/values.yaml', type: 'hardlink', linkpath: '../etc/passwd' },
  ],
  paxdotdot: [
    { path: 'paxdotdot/Chart.yaml', content: chartYaml('paxdotdot') },
    { path: 'paxdotdot/../escape.yaml', content: 'x', pax: true },
  ],
  mismatch: [{ path: 'mismatch/Chart.yaml', content: chartYaml('mismatch') }],
  // Harmless, in the less common encodings: PAX and GNU long names, a symlink that stays inside.
  longnames: [
    { path: 'longnames/Chart.yaml', content: chartYaml('longnames'), pax: true },
    { path: 'longnames/values.yaml', content: 'greeting: hello\n', gnuLongName: true },
    { path: `longnames/templates/${'deep/'.repeat(30)}x.yaml`, content: 'kind: ConfigMap\n' },
    { path: 'longnames/README.md', type: 'symlink', linkpath: 'docs/README.md' },
    { path: 'longnames/values.schema.json', content: '{"type":"object"}' },
  ],
};

beforeAll(async () => {
  repo = await buildChartRepo();
  server = await serveChartRepo(repo.dir);
  const entries = Object.entries(hostileCharts).map(([name, tar]) => {
    const bytes = tarGz(tar);
    return { name, bytes, digest: name === 'mismatch' ? sha256('something else') : sha256(bytes) };
  });
  hostile = await serveChartRepo(hostileDir);
  for (const e of entries) hostile.writeFile(`${e.name}-1.0.0.tgz`, e.bytes);
  hostile.writeFile(
    'index.yaml',
    indexYaml(
      entries.map((e) => ({ name: e.name, version: '1.0.0', digest: e.digest, urls: [`${e.name}-1.0.0.tgz`] })),
    ),
  );
  catalog = await Catalog.open({
    store: await openRepositoryStore({}),
    credentialsSecret: 'another-test-secret-0123456789',
    syncIntervalMs: 0,
    indexMaxBytes: CAP,
    resolver,
  });
  await catalog.addRepository(ADMIN, { name: 'hostile', url: hostile.url });
}, 120_000);

afterAll(async () => {
  await catalog?.close();
  await server?.close();
  await hostile?.close();
  repo?.cleanup();
  removeDir(hostileDir);
});

describe('indexes', () => {
  it('refuses a malformed index, and one that is no index, storing nothing', async () => {
    const bad = await serveChartRepo(mkdtempSync(join(tmpdir(), 'kubegraph-bad-index-')));
    try {
      bad.writeFile('broken/index.yaml', 'apiVersion: v1\nentries:\n  web:\n  - version: [1.0\n    name: web\n');
      bad.writeFile('html/index.yaml', '<html><body>Welcome to nginx!</body></html>\n');
      bad.writeFile('tabs/index.yaml', 'apiVersion: v1\nentries:\n\tweb: {}\n');
      for (const path of ['broken', 'html', 'tabs']) {
        const f = await failure(catalog.addRepository(ADMIN, { name: `bad-${path}`, url: `${bad.url}${path}/` }));
        expect(f.code).toBe('BAD_USER_INPUT');
        expect(f.message).toMatch(/malformed|not a Helm repository index/);
        expect(await catalog.repository(ADMIN, `bad-${path}`)).toBeNull();
      }
      const missing = await failure(catalog.addRepository(ADMIN, { name: 'bad-missing', url: `${bad.url}nothing/` }));
      expect(missing).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('404') });
      removeDir(bad.dir);
    } finally {
      await bad.close();
    }
  });

  it('refuses an index ten times over the size cap, declared or streamed', async () => {
    const big = readFileSync(join(repo.dir, 'index.yaml'), 'utf8');
    const padding = `# ${'x'.repeat(1000)}\n`.repeat(Math.ceil((10 * CAP) / 1000));
    const huge = await serveChartRepo(mkdtempSync(join(tmpdir(), 'kubegraph-huge-')));
    huge.writeFile('index.yaml', big + padding);
    const f = await failure(catalog.addRepository(ADMIN, { name: 'huge', url: huge.url }));
    expect(f).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining(`${CAP} bytes`) });
    expect(await catalog.repository(ADMIN, 'huge')).toBeNull();
    removeDir(huge.dir);
    await huge.close();
    // No Content-Length: the cap stops the body as it arrives.
    let sent = 0;
    const chunked = createServer((_req, res) => {
      const chunk = Buffer.alloc(16 << 10, 'a');
      const push = () => {
        while (sent < 10 * CAP && res.write(chunk)) sent += chunk.length;
        if (sent < 10 * CAP) res.once('drain', push);
        else res.end();
      };
      push();
    });
    await new Promise<void>((ok) => chunked.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(chunked.address() as AddressInfo).port}/index.yaml`;
    const streamed = await failure(fetchChecked(url, { maxBytes: CAP, timeoutMs: 10_000, what: 'the index' }));
    expect(streamed).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining(`${CAP} bytes`) });
    chunked.closeAllConnections();
    await new Promise((ok) => chunked.close(ok));
  });

  it('reads the same charts from helm’s layout, indented sequences and JSON', () => {
    const text = readFileSync(join(repo.dir, 'index.yaml'), 'utf8');
    const doc = parseYaml(text) as object;
    const summary = (buf: string) =>
      parseIndex([Buffer.from(buf)]).charts.map((c) => [c.name, c.latest.version, c.versions.map((v) => v.digest)]);
    const helmLayout = summary(text);
    expect(helmLayout.map((c) => c[0])).toContain('webapp');
    expect(summary(toYaml(doc, { indentSeq: true }))).toEqual(helmLayout);
    expect(summary(JSON.stringify(doc))).toEqual(helmLayout);
    // Another layout is parsed whole, so only up to a cap.
    expect(() => parseIndex([Buffer.from(JSON.stringify(doc))], { fullParseMaxBytes: 1000 })).toThrow(
      /not in helm's index layout and is larger than 1000 bytes/,
    );
    // Split anywhere (even inside a multi-byte character), the chunks give the same result.
    const bytes = Buffer.from(text.replaceAll('A web application', 'Ä wéb äpplication'));
    const chunks = [];
    for (let i = 0; i < bytes.length; i += 7) chunks.push(bytes.subarray(i, i + 7));
    const chunked = parseIndex(chunks).charts.find((c) => c.name === 'webapp')!;
    expect(chunked.description).toBe('Ä wéb äpplication served by nginx');
    // Versions as YAML numbers stay as written; invalid versions are left out and counted.
    const odd = parseIndex([
      Buffer.from('apiVersion: v1\nentries:\n  a:\n  - version: 1.10\n    urls: [a.tgz]\n  - version: latest\n'),
    ]);
    expect(odd.charts[0].versions.map((v) => v.version)).toEqual(['1.10']);
    expect(odd.charts[0].versions[0].urls).toEqual(['a.tgz']);
    expect(odd.skipped).toBe(1);
  });
});

it('syncs an index served as JSON', async () => {
  const text = readFileSync(join(repo.dir, 'index.yaml'), 'utf8');
  hostile.writeFile('json/index.yaml', JSON.stringify(parseYaml(text)));
  hostile.writeFile('json/webapp-1.0.0.tgz', readFileSync(join(repo.dir, 'webapp-1.0.0.tgz')));
  await catalog.addRepository(ADMIN, { name: 'as-json', url: `${hostile.url}json/` });
  const webapp = await catalog.chart(ADMIN, 'as-json', 'webapp');
  expect(webapp?.versions.map((v) => v.version)).toEqual(['1.1.0-rc.1', '1.0.0', '0.2.0', '0.1.0']);
  expect((await catalog.fetchChartArchive(ADMIN, 'as-json', 'webapp')).version).toBe('1.0.0');
});

describe('hostile chart archives', () => {
  for (const [name, why] of [
    ['dotdot', /climbs out/],
    ['absolute', /absolute path/],
    ['symlinkout', /symlink .* points out/],
    ['hardlinkout', /hardlink .* points out/],
    ['paxdotdot', /climbs out/],
    ['mismatch', /sha256/],
  ] as const) {
    it(`refuses ${name} for its files and for installs`, async () => {
      for (const call of [
        () => catalog.chartVersionFiles(ADMIN, 'hostile', name, '1.0.0'),
        () => catalog.fetchChartArchive(ADMIN, 'hostile', name),
      ]) {
        const f = await failure(call());
        expect(f.code).toBe('BAD_USER_INPUT');
        expect(f.message).toMatch(why);
      }
    });
  }

  it('reads PAX and GNU long names and leaves symlinks inside the chart unfollowed', async () => {
    const files = await catalog.chartVersionFiles(ADMIN, 'hostile', 'longnames', '1.0.0');
    expect(files).toEqual({ readme: null, values: 'greeting: hello\n', valuesSchema: { type: 'object' } });
  });
});

describe('repository URLs', () => {
  it('takes http(s) only, without credentials in it', async () => {
    for (const url of [
      'oci://registry.example/charts',
      'file:///etc/',
      'ftp://example/x',
      'not a url',
      'http://u:p@h/',
      `http://h/${'x'.repeat(3000)}`,
    ])
      expect(await failure(catalog.addRepository(ADMIN, { name: 'scheme', url }))).toMatchObject({
        code: 'BAD_USER_INPUT',
      });
    expect(resolver.asked).toEqual([]);
  });

  it('validates names and workspaces', async () => {
    for (const name of ['Bad_Name', '', 'a'.repeat(64), '-x', 'a.b', 'x\u0000'])
      expect((await failure(catalog.addRepository(ADMIN, { name, url: server.url }))).code).toBe('BAD_USER_INPUT');
    expect(
      (await failure(catalog.addRepository(ADMIN, { name: 'ok', url: server.url, workspace: '../ws' }))).code,
    ).toBe('BAD_USER_INPUT');
    expect((await failure(catalog.charts(ADMIN, { repository: 'No/Such' }))).code).toBe('BAD_USER_INPUT');
  });

  it('refuses hosts that resolve into the link-local range, checking every address (stub resolver)', async () => {
    const stub = stubResolver({
      'metadata.internal': ['169.254.169.254'],
      'v6.internal': ['fe80::a9fe:a9fe'],
      'mixed.example': ['127.0.0.1', '169.254.0.1'],
      'mapped.example': ['::ffff:169.254.169.254'],
      'fine.example': ['127.0.0.1', '::1'],
    });
    for (const host of ['metadata.internal', 'v6.internal', 'mixed.example', 'mapped.example']) {
      const f = await failure(resolveChecked(new URL(`http://${host}/charts`), stub));
      expect(f).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('link-local') });
    }
    expect(stub.asked).toEqual(['metadata.internal', 'v6.internal', 'mixed.example', 'mapped.example']);
    // Literal addresses, however written, are checked without asking DNS.
    for (const url of ['http://169.254.169.254/', 'http://[fe80::1]/', 'http://2852039166/', 'https://0xa9fea9fe/'])
      expect((await failure(resolveChecked(new URL(url), stub))).code).toBe('BAD_USER_INPUT');
    expect(stub.asked).toHaveLength(4);
    expect(await resolveChecked(new URL('http://fine.example/'), stub)).toHaveLength(2);
    expect((await failure(resolveChecked(new URL('http://unknown.example/'), stub))).code).toBe('BAD_USER_INPUT');
    for (const ok of ['127.0.0.1', '10.0.0.1', '::1', '169.253.255.255', '169.255.0.0', 'fec0::1'])
      expect(isRefusedAddress(ok)).toBe(false);
    for (const bad of ['169.254.0.0', '169.254.255.255', 'fe80::', 'febf:ffff::1', 'fe80::1%eth0'])
      expect(isRefusedAddress(bad)).toBe(true);
  });

  it('refuses such a repository when it is added, and connects to the address it checked', async () => {
    const stub = stubResolver({ 'metadata.internal': ['169.254.169.254'], 'charts.test': ['127.0.0.1'] });
    const guarded = await Catalog.open({
      store: await openRepositoryStore({}),
      credentialsSecret: 'another-test-secret-0123456789',
      syncIntervalMs: 0,
      resolver: stub,
    });
    try {
      const f = await failure(guarded.addRepository(ADMIN, { name: 'meta', url: 'http://metadata.internal/' }));
      expect(f.code).toBe('BAD_USER_INPUT');
      expect(await guarded.repository(ADMIN, 'meta')).toBeNull();
      // charts.test exists only in the stub: reaching the harness through it shows the checked address is the one used.
      const port = new URL(server.url).port;
      await guarded.addRepository(ADMIN, { name: 'named', url: `http://charts.test:${port}/` });
      expect((await guarded.chart(ADMIN, 'named', 'webapp'))?.latestVersion.version).toBe('1.0.0');
      expect(stub.asked).toContain('charts.test');
      // A redirect into the link-local range is refused before any connection is made there.
      const redirecting = await serveChartRepo(repo.dir, {
        redirects: { '/index.yaml': 'http://metadata.internal/latest/meta-data/' },
      });
      const r = await failure(guarded.addRepository(ADMIN, { name: 'redirect', url: redirecting.url }));
      expect(r).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('link-local') });
      expect(stub.asked.at(-1)).toBe('metadata.internal');
      await redirecting.close();
    } finally {
      await guarded.close();
    }
  });
});
