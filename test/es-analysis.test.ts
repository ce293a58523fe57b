// The stand-in's standard tokenizer and analyzer against Elasticsearch's: the examples of the reference
// documentation (standard tokenizer and analyzer pages, the _analyze API page) and the word boundaries of Unicode
// UAX #29 that Lucene's StandardTokenizer implements (underscore joins, `.` `'` `:` between letters, `.` `,` between
// digits), through `_analyze` and through what `match` finds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEs, type EsServer } from '../services/es/server.js';

let es: EsServer;
beforeAll(async () => {
  es = await startEs();
});
afterAll(async () => {
  await es?.close();
});

interface AnalyzeToken {
  token: string;
  start_offset: number;
  end_offset: number;
  type: string;
  position: number;
}

async function analyze(body: Record<string, unknown>, path = '/_analyze'): Promise<AnalyzeToken[]> {
  const r = await fetch(`${es.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await r.json()) as { tokens: AnalyzeToken[] };
  expect(r.status, JSON.stringify(json)).toBe(200);
  return json.tokens;
}
const words = async (text: string) => (await analyze({ analyzer: 'standard', text })).map((t) => t.token);

// The example sentence of the standard tokenizer's page and its documented tokens.
const SENTENCE = "The 2 QUICK Brown-Foxes jumped over the lazy dog's bone.";
const SENTENCE_TOKENS = "The 2 QUICK Brown Foxes jumped over the lazy dog's bone".split(' ');

describe('the standard tokenizer (reference examples)', () => {
  it('splits the documented sentence as the standard tokenizer page shows', async () => {
    const tokens = await analyze({ tokenizer: 'standard', text: SENTENCE });
    expect(tokens.map((t) => t.token)).toEqual(SENTENCE_TOKENS);
  });

  it('lowercases with the standard analyzer', async () => {
    expect(await words(SENTENCE)).toEqual(SENTENCE_TOKENS.map((t) => t.toLowerCase()));
  });

  it('cuts tokens at max_token_length (the page example with 5)', async () => {
    const tokens = await analyze({ tokenizer: { type: 'standard', max_token_length: 5 }, text: SENTENCE });
    expect(tokens.map((t) => t.token)).toEqual(SENTENCE_TOKENS.flatMap((t) => (t === 'jumped' ? ['jumpe', 'd'] : [t])));
  });

  it('answers the _analyze page example with offsets, types and positions', async () => {
    expect(await analyze({ analyzer: 'standard', text: 'Quick Brown Foxes!' })).toEqual([
      { token: 'quick', start_offset: 0, end_offset: 5, type: '<ALPHANUM>', position: 0 },
      { token: 'brown', start_offset: 6, end_offset: 11, type: '<ALPHANUM>', position: 1 },
      { token: 'foxes', start_offset: 12, end_offset: 17, type: '<ALPHANUM>', position: 2 },
    ]);
  });

  it('analyzes an array of texts as one stream (offset gap 1, position gap 100)', async () => {
    const tokens = await analyze({ analyzer: 'standard', text: ['this is a test', 'the second text'] });
    expect(tokens.map((t) => [t.token, t.start_offset, t.position])).toEqual([
      ['this', 0, 0],
      ['is', 5, 1],
      ['a', 8, 2],
      ['test', 10, 3],
      ['the', 15, 104],
      ['second', 19, 105],
      ['text', 26, 106],
    ]);
  });
});

describe('UAX #29 word boundaries', () => {
  const table: [string, string[]][] = [
    // ExtendNumLet (underscore) joins letters and digits, and may lead or trail a word; alone it is no word.
    ['node_cpu_usage', ['node_cpu_usage']],
    ['_private_ x__y ___', ['_private_', 'x__y']],
    ['cpu_1 2_3', ['cpu_1', '2_3']],
    // Letters and digits join.
    ['abc123 123abc k8s', ['abc123', '123abc', 'k8s']],
    // MidNumLet (.) and MidLetter (:) and the apostrophe between letters; the full stop and comma between digits.
    ["you're my 'favorite'.", ["you're", 'my', 'favorite']],
    ['U.S.A. e.g. a..b', ['u.s.a', 'e.g', 'a', 'b']],
    ['foo:bar a::b 1:2', ['foo:bar', 'a', 'b', '1', '2']],
    ['3.14 1,000,000 1.a v1.2', ['3.14', '1,000,000', '1', 'a', 'v1.2']],
    ['10.233.30.76', ['10.233.30.76']],
    // Hyphens, slashes, @ and the like separate.
    ['redis-ha-announce-0.kubesphere-system.svc', ['redis', 'ha', 'announce', '0', 'kubesphere', 'system.svc']],
    ['foo@bar.com a/b x+y', ['foo', 'bar.com', 'a', 'b', 'x', 'y']],
    // Combining marks stay with their letter.
    ['cafe\u0301 naïve', ['cafe\u0301', 'naïve']],
    // Han and hiragana: one token per character; katakana and hangul: runs.
    ['日本語のテキスト', ['日', '本', '語', 'の', 'テキスト']],
    ['한국어 텍스트', ['한국어', '텍스트']],
  ];
  it.each(table)('%j', async (text, expected) => {
    expect(await words(text)).toEqual(expected);
  });

  it('types tokens as Lucene does', async () => {
    const tokens = await analyze({ tokenizer: 'standard', text: 'abc 42 日 の カナ 한국' });
    expect(tokens.map((t) => t.type)).toEqual([
      '<ALPHANUM>',
      '<NUM>',
      '<IDEOGRAPHIC>',
      '<HIRAGANA>',
      '<KATAKANA>',
      '<HANGUL>',
    ]);
  });
});

describe('what match finds follows the tokens', () => {
  it('"cpu" does not find node_cpu_usage in a text field, "node_cpu_usage" does', async () => {
    const put = await fetch(`${es.url}/tok/_doc/1?refresh=true`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ msg: 'node_cpu_usage high on node-1' }),
    });
    expect(put.status).toBe(201);
    const count = async (query: unknown) => {
      const r = await fetch(`${es.url}/tok/_count`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query }),
      });
      return ((await r.json()) as { count: number }).count;
    };
    expect(await count({ match: { msg: 'cpu' } })).toBe(0);
    expect(await count({ match: { msg: 'node_cpu_usage' } })).toBe(1);
    expect(await count({ match: { msg: 'NODE' } })).toBe(1);
    expect(await count({ match_phrase: { msg: 'node cpu usage' } })).toBe(0);
    // Through the index: a text field uses the standard analyzer, its keyword sub-field the keyword analyzer.
    const field = await analyze({ field: 'msg', text: 'Node_CPU x' }, '/tok/_analyze');
    expect(field.map((t) => t.token)).toEqual(['node_cpu', 'x']);
    const keyword = await analyze({ field: 'msg.keyword', text: 'Node_CPU x' }, '/tok/_analyze');
    expect(keyword.map((t) => t.token)).toEqual(['Node_CPU x']);
  });
});
