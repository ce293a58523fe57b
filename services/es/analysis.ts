// The `standard` analyzer as Lucene's StandardTokenizer and LowerCaseFilter make it: word boundaries of Unicode
// UAX #29 (letters and digits join; `_` and the other ExtendNumLet characters join letters, digits and katakana, and
// may lead or trail a word; `'` `.` `:` join two letters, `'` `.` `,` `;` join two digits; combining marks and format
// characters stay with the character before), then lowercased. Only word-like runs are tokens, with Lucene's types:
// <ALPHANUM>, <NUM>, <IDEOGRAPHIC> (each Han character alone), <HIRAGANA> (each alone), <KATAKANA> (runs),
// <HANGUL> (runs), <SOUTHEAST_ASIAN> (runs of Thai, Lao, Myanmar, Khmer, ... left whole). A token longer than
// max_token_length (255) is split every 255 characters. Not done: emoji tokens, Hebrew's quote rules (WB7a-c).
import { EsError } from './errors.js';

export interface Token {
  token: string;
  start_offset: number;
  end_offset: number;
  type: string;
  position: number;
}

/** Word-break classes: letter, numeric, katakana, hiragana, ideograph, hangul, SE-Asian, ExtendNumLet, mids, other. */
type Cls = 'L' | 'N' | 'K' | 'H' | 'I' | 'G' | 'S' | 'E' | 'ML' | 'MNL' | 'Q' | 'MN' | 'X' | 'O';

const EXTEND = /[\p{M}\p{Cf}]/u;
const IDEOGRAPHIC = /[\p{Ideographic}]/u;
const HIRAGANA = /\p{Script=Hiragana}/u;
const KATAKANA = /[\p{Script=Katakana}\u3031-\u3035\u309B\u309C\u30A0\u30FC\uFF70]/u;
const HANGUL = /\p{Script=Hangul}/u;
const SE_ASIAN =
  /[\p{Script=Thai}\p{Script=Lao}\p{Script=Myanmar}\p{Script=Khmer}\p{Script=Tai_Le}\p{Script=New_Tai_Lue}\p{Script=Tai_Tham}\p{Script=Tai_Viet}]/u;
const LETTER = /[\p{Alphabetic}\u02C2-\u02C5\u02D2-\u02D7\u02DE\u02DF\u05F3]/u;
const NUMERIC = /\p{Nd}/u;
const EXTEND_NUM_LET = /[_\u202F\u203F\u2040\u2054\uFE33\uFE34\uFE4D-\uFE4F\uFF3F]/u;
const MID_LETTER = /[:\u00B7\u0387\u055F\u05F4\u2027\uFE13\uFE55\uFF1A]/u;
const MID_NUM_LET = /[.\u2018\u2019\u2024\uFE52\uFF07\uFF0E]/u;
const MID_NUM = /[,;\u037E\u0589\u060C\u060D\u066C\u07F8\u2044\uFE10\uFE14\uFE50\uFE54\uFF0C\uFF1B]/u;

function classOf(ch: string): Cls {
  if (ch === "'") return 'Q';
  if (ch === '\u200B') return 'O';
  if (EXTEND.test(ch)) return 'X';
  if (EXTEND_NUM_LET.test(ch)) return 'E';
  if (NUMERIC.test(ch)) return 'N';
  if (KATAKANA.test(ch)) return 'K';
  if (HIRAGANA.test(ch)) return 'H';
  if (IDEOGRAPHIC.test(ch)) return 'I';
  if (SE_ASIAN.test(ch)) return 'S';
  if (HANGUL.test(ch)) return 'G';
  if (LETTER.test(ch)) return 'L';
  if (MID_LETTER.test(ch)) return 'ML';
  if (MID_NUM_LET.test(ch)) return 'MNL';
  if (MID_NUM.test(ch)) return 'MN';
  return 'O';
}

interface Unit {
  cls: Cls;
  start: number;
  end: number;
}

/** Characters with their trailing Extend/Format characters (WB4), each with its class and UTF-16 offsets. */
function unitsOf(text: string): Unit[] {
  const units: Unit[] = [];
  let offset = 0;
  for (const ch of text) {
    const cls = classOf(ch);
    const last = units[units.length - 1];
    if (cls === 'X' && last && last.cls !== 'O') last.end += ch.length;
    else units.push({ cls: cls === 'X' ? 'O' : cls, start: offset, end: offset + ch.length });
    offset += ch.length;
  }
  return units;
}

const WORDISH = new Set<Cls>(['L', 'N', 'K', 'E', 'G']);
const joins = (a: Cls, b: Cls): boolean =>
  ((a === 'L' || a === 'G') && (b === 'L' || b === 'G' || b === 'N')) ||
  (a === 'N' && (b === 'N' || b === 'L' || b === 'G')) ||
  (a === 'K' && b === 'K') ||
  (a !== 'E' && b === 'E') ||
  (a === 'E' && b === 'E') ||
  (a === 'E' && (b === 'L' || b === 'G' || b === 'N' || b === 'K'));
const midJoins = (a: Cls, mid: Cls, b: Cls): boolean =>
  ((a === 'L' || a === 'G') && (b === 'L' || b === 'G') && (mid === 'ML' || mid === 'MNL' || mid === 'Q')) ||
  (a === 'N' && b === 'N' && (mid === 'MN' || mid === 'MNL' || mid === 'Q'));

export const MAX_TOKEN_LENGTH = 255;

/** The standard tokenizer's tokens (not lowercased), with offsets, types and positions. */
export function standardTokens(text: string, maxTokenLength = MAX_TOKEN_LENGTH): Token[] {
  const units = unitsOf(text);
  const out: Token[] = [];
  const emit = (start: number, end: number, type: string) => {
    for (let s = start; s < end; s += maxTokenLength) {
      const e = Math.min(end, s + maxTokenLength);
      out.push({ token: text.slice(s, e), start_offset: s, end_offset: e, type, position: out.length });
    }
  };
  let i = 0;
  while (i < units.length) {
    const u = units[i];
    if (u.cls === 'I' || u.cls === 'H') {
      emit(u.start, u.end, u.cls === 'I' ? '<IDEOGRAPHIC>' : '<HIRAGANA>');
      i++;
      continue;
    }
    if (u.cls === 'S') {
      let j = i + 1;
      while (j < units.length && units[j].cls === 'S') j++;
      emit(u.start, units[j - 1].end, '<SOUTHEAST_ASIAN>');
      i = j;
      continue;
    }
    if (!WORDISH.has(u.cls)) {
      i++;
      continue;
    }
    const seen = new Set<Cls>([u.cls]);
    let j = i + 1;
    let prev: Cls = u.cls;
    for (;;) {
      const next = units[j];
      if (!next) break;
      if (WORDISH.has(next.cls) && joins(prev, next.cls)) {
        seen.add(next.cls);
        prev = next.cls;
        j++;
        continue;
      }
      const after = units[j + 1];
      if (after && midJoins(prev, next.cls, after.cls)) {
        seen.add(after.cls);
        prev = after.cls;
        j += 2;
        continue;
      }
      break;
    }
    if (seen.has('L') || seen.has('N') || seen.has('K') || seen.has('G')) {
      const type = seen.has('L') ? '<ALPHANUM>' : seen.has('G') ? '<HANGUL>' : seen.has('K') ? '<KATAKANA>' : '<NUM>';
      emit(u.start, units[j - 1].end, type);
    }
    i = j;
  }
  return out;
}

/** The `standard` analyzer: the tokenizer's tokens, lowercased. */
export function analyze(text: string): string[] {
  return standardTokens(text).map((t) => t.token.toLowerCase());
}

type Obj = Record<string, unknown>;

/** `_analyze` with the built-in analyzers and tokenizers the stand-in has (`standard`, `keyword`, `whitespace`). */
export function analyzeApi(body: unknown, fieldAnalyzer?: (field: string) => string | undefined): Obj {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Obj;
  const texts = Array.isArray(b.text) ? b.text.map(String) : b.text === undefined ? [] : [String(b.text)];
  if (texts.length === 0)
    throw new EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: text is missing;');
  let analyzer = typeof b.analyzer === 'string' ? b.analyzer : undefined;
  if (typeof b.field === 'string' && !analyzer) analyzer = fieldAnalyzer?.(b.field) ?? 'standard';
  // A tokenizer by name, or defined inline (`{"type": "standard", "max_token_length": 5}`).
  const inline = typeof b.tokenizer === 'object' && b.tokenizer !== null ? (b.tokenizer as Obj) : undefined;
  const tokenizer = typeof b.tokenizer === 'string' ? b.tokenizer : inline ? String(inline.type) : undefined;
  const maxLength = inline?.max_token_length === undefined ? MAX_TOKEN_LENGTH : Number(inline.max_token_length);
  const filters = Array.isArray(b.filter) ? b.filter.map(String) : [];
  const name = analyzer ?? tokenizer ?? 'standard';
  for (const f of filters)
    if (f !== 'lowercase')
      throw new EsError(400, 'illegal_argument_exception', `failed to find global token filter under [${f}]`);
  // The standard analyzer lowercases; a bare tokenizer does only with the lowercase filter.
  const lower = analyzer === 'standard' || (!analyzer && !tokenizer) || filters.includes('lowercase');
  const tokens: Token[] = [];
  // Several texts are one stream: offsets go on after each text plus 1, positions after a gap of 100.
  let base = 0;
  for (const text of texts) {
    let these: Token[];
    if (name === 'standard') these = standardTokens(text, maxLength);
    else if (name === 'keyword')
      these = [{ token: text, start_offset: 0, end_offset: text.length, type: 'word', position: 0 }];
    else if (name === 'whitespace') {
      these = [...text.matchAll(/\S+/gu)].map((m, k) => ({
        token: m[0],
        start_offset: m.index,
        end_offset: m.index + m[0].length,
        type: 'word',
        position: k,
      }));
    } else if (analyzer !== undefined) {
      throw new EsError(400, 'illegal_argument_exception', `failed to find global analyzer [${name}]`);
    } else throw new EsError(400, 'illegal_argument_exception', `failed to find global tokenizer under [${name}]`);
    const first = tokens.length ? tokens[tokens.length - 1].position + 101 : 0;
    for (const t of these) {
      tokens.push({
        ...t,
        token: lower ? t.token.toLowerCase() : t.token,
        start_offset: t.start_offset + base,
        end_offset: t.end_offset + base,
        position: t.position + first,
      });
    }
    base += text.length + 1;
  }
  return { tokens };
}
