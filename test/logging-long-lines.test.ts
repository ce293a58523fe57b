// Lines longer than `log.keyword`'s ignore_above (256 under Elasticsearch's default dynamic mapping, which this
// stand-in has: no index template) are not in log.keyword: `contains` and `excludes` still find them, as a phrase of
// the analysed `log` field; and the start of the subgraph warns, naming the template to install.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from './harness/graphql.js';
import { startTestEs, type TestEs } from './harness/es.js';
import type { Logger } from '../services/common/log.js';
import { startLoggingSubgraph, type LoggingSubgraph } from '../services/logging/server.js';
import { bulkLoad, LINES_QUERY, type LogsPage } from './logging-helpers.js';

const BASE = Date.parse('2026-12-06T09:00:00Z');
const filler = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`).join(' ');
const TEXTS = [
  'short line with Disk Full inside',
  'short line without it',
  `long start ${filler(60)} then the DISK FULL error ${filler(20)} end`,
  `long start ${filler(80)} nothing of the kind here ${filler(10)} end`,
  `long start ${filler(70)} full disk reversed words ${filler(10)} end`,
];

const warnings: string[] = [];
const capture: Logger = {
  debug: () => {},
  info: () => {},
  warn: (m) => warnings.push(m),
  error: () => {},
};

let es: TestEs;
let logging: LoggingSubgraph;
beforeAll(async () => {
  es = await startTestEs();
  await bulkLoad(
    es.url,
    TEXTS.map((log, i) => ({ t: BASE + i, namespace: 'long-lines', pod: 'p-0', log })),
  );
  // A second prefix whose indices hold 8191-character lines (the template the README advises): no warning for it.
  const template = await fetch(`${es.url}/_index_template/roomy`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      index_patterns: ['roomy-*'],
      template: {
        mappings: {
          properties: { log: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 8191 } } } },
        },
      },
    }),
  });
  expect(template.status).toBe(200);
  const put = await fetch(`${es.url}/roomy-2026.12.06/_doc?refresh=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ '@timestamp': new Date(BASE).toISOString(), log: 'x' }),
  });
  expect(put.status).toBe(201);
  logging = await startLoggingSubgraph({ port: 0, log: capture, elasticsearch: { url: es.url } });
}, 60_000);
afterAll(async () => {
  await logging?.close();
  await es?.close();
});

const search = async (filter: Record<string, unknown>) => {
  const r = await gql<LogsPage>(logging.url, LINES_QUERY, {
    filter: { namespaces: ['long-lines'], ...filter },
    first: 100,
  });
  expect(r.errors).toBeUndefined();
  return r.data!.logs.edges.map((e) => e.node.message).sort();
};

describe('lines longer than ignore_above', () => {
  it('the long lines are not in log.keyword (the default mapping)', async () => {
    expect(TEXTS[2]!.length).toBeGreaterThan(256);
    const r = await fetch(`${es.url}/ks-logstash-log-*/_count`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: { exists: { field: 'log.keyword' } } }),
    });
    expect(((await r.json()) as { count: number }).count).toBe(2);
  });

  it('contains finds them by phrase, case-insensitively, besides the short lines by substring', async () => {
    expect(await search({ contains: ['disk full'] })).toEqual([TEXTS[0], TEXTS[2]].sort());
    // A substring of a short line still matches anywhere; a phrase in another order does not match a long line.
    expect(await search({ contains: ['isk ful'] })).toEqual([TEXTS[0]]);
    expect(await search({ contains: ['full disk'] })).toEqual([TEXTS[4]]);
  });

  it('excludes leaves them out the same way', async () => {
    expect(await search({ excludes: ['disk full'] })).toEqual([TEXTS[1], TEXTS[3], TEXTS[4]].sort());
    expect(await search({ contains: ['long start'], excludes: ['nothing of the kind'] })).toEqual(
      [TEXTS[2], TEXTS[4]].sort(),
    );
  });

  it('warns at start that log.keyword holds 256 characters, naming the template to install', async () => {
    const short = await logging.mappingChecked;
    expect(short).toEqual([{ index: 'ks-logstash-log-2026.12.06', holds: 256 }]);
    const warning = warnings.find((w) => w.includes('log.keyword'));
    expect(warning).toContain('at most 256 characters');
    expect(warning).toContain('ELASTICSEARCH_LONGEST_LINE=8191');
    expect(warning).toContain('PUT _index_template/ks-logstash-log');
    expect(warning).toContain('"ignore_above":8191');

    const roomy = await startLoggingSubgraph({
      port: 0,
      log: capture,
      elasticsearch: { url: es.url },
      indexPrefix: 'roomy',
    });
    try {
      expect(await roomy.mappingChecked).toEqual([]);
      // Asking for longer lines than the template holds warns again.
    } finally {
      await roomy.close();
    }
    const strict = await startLoggingSubgraph({
      port: 0,
      log: capture,
      elasticsearch: { url: es.url },
      indexPrefix: 'roomy',
      longestLine: 16_000,
    });
    try {
      expect(await strict.mappingChecked).toEqual([{ index: 'roomy-2026.12.06', holds: 8191 }]);
    } finally {
      await strict.close();
    }
  });
});
