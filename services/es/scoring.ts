// BM25 as Elasticsearch scores with its default similarity (Lucene's BM25 with the `(k1 + 1)` factor Elasticsearch
// keeps, k1 = 1.2, b = 0.75): score = boost * (k1 + 1) * idf * freq / (freq + k1 * (1 - b + b * dl / avgdl)), with
// idf = ln(1 + (N - n + 0.5) / (n + 0.5)), N the documents that have the field, n those that hold the term, dl the
// field's length in words as Lucene stores it (one byte: exact up to 23, then 4 significant bits), avgdl the words of
// the field over N. Statistics are those of the snapshot's index as one shard. Fields without norms (keyword, ip,
// boolean) have dl = 1 and freq = 1. Phrases score with the sum of their words' idf and the phrase's frequency.
import { cellValues, visible, type FieldColumn, type Snapshot } from './index.js';
import type { LeafValue } from './mapping.js';

export const K1 = 1.2;
export const B = 0.75;

/** Lucene's SmallFloat.intToByte4 then byte4ToInt: the field length a norm byte gives back. */
const FREE = 24;
function int4ToLong(i: number): number {
  const bits = i & 0x07;
  const shift = (i >>> 3) - 1;
  return shift === -1 ? bits : (bits | 0x08) * 2 ** shift;
}
function longToInt4(i: number): number {
  const numBits = Math.floor(Math.log2(i)) + 1;
  if (numBits < 4) return i;
  const shift = numBits - 4;
  return (Math.floor(i / 2 ** shift) & 0x07) | ((shift + 1) << 3);
}
export function storedLength(words: number): number {
  if (words < FREE) return words;
  return FREE + int4ToLong(longToInt4(words - FREE));
}

export const idf = (docFreq: number, docCount: number): number =>
  Math.fround(Math.log(1 + (docCount - docFreq + 0.5) / (docFreq + 0.5)));

interface FieldStats {
  key: string;
  docCount: number;
  avgdl: number;
}
const statsCache = new WeakMap<FieldColumn, FieldStats>();

/** N and avgdl of a field in a snapshot (computed once per snapshot state). */
export function fieldStats(column: FieldColumn, s: Snapshot): FieldStats {
  const key = `${s.maxSeq}/${s.generation}/${s.index.deletedCount}`;
  const cached = statsCache.get(column);
  if (cached?.key === key) return cached;
  let docCount = 0;
  let total = 0;
  const limit = Math.min(s.maxSeq, column.values.length);
  for (let seq = 0; seq < limit; seq++) {
    const cell = column.values[seq];
    if (cell === undefined || !visible(s, seq)) continue;
    docCount++;
    total += column.lengths ? (column.lengths[seq] ?? 0) : new Set(cellValues(cell)).size;
  }
  const stats = { key, docCount, avgdl: docCount ? total / docCount : 1 };
  statsCache.set(column, stats);
  return stats;
}

/** Documents of the snapshot a postings list names. */
export function docFreq(list: number[] | undefined, s: Snapshot): number {
  let n = 0;
  for (const seq of list ?? []) {
    if (seq >= s.maxSeq) break;
    if (visible(s, seq)) n++;
  }
  return n;
}

/** How often a word is in a document's field (text fields; 1 for every other). */
export const termFreq = (column: FieldColumn, key: LeafValue, seq: number): number =>
  column.freqs?.get(key)?.get(seq) ?? 1;

/** The BM25 score of a document, given the summed idf of the query's words and the frequency found. */
export function scorer(
  column: FieldColumn,
  s: Snapshot,
  boost: number,
  sumIdf: number,
): (seq: number, freq: number) => number {
  const { avgdl } = fieldStats(column, s);
  const weight = Math.fround(boost * (K1 + 1) * sumIdf);
  return (seq, freq) => {
    const dl = column.lengths ? storedLength(column.lengths[seq] ?? 0) : 1;
    return weight * (freq / (freq + K1 * (1 - B + (B * dl) / avgdl)));
  };
}

/** The BM25 score of one term's documents: seq -> score. */
export function termScorer(column: FieldColumn, key: LeafValue, s: Snapshot, boost: number): (seq: number) => number {
  const list = column.postings?.get(key);
  const score = scorer(column, s, boost, idf(docFreq(list, s), fieldStats(column, s).docCount));
  return (seq) => score(seq, termFreq(column, key, seq));
}

/** The phrase's frequency in the words: exact matches count 1, sloppy ones 1 / (1 + the slop they used). */
export function phraseIn(tokens: string[], phrase: string[], slop: number, prefix: boolean): number {
  const last = phrase.length - 1;
  let freq = 0;
  for (let start = 0; start < tokens.length; start++) {
    let pos = start;
    let slack = slop;
    let ok = true;
    for (let k = 0; k <= last; k++) {
      const want = phrase[k];
      const hit = (t: string) => (prefix && k === last ? t.startsWith(want) : t === want);
      if (pos < tokens.length && hit(tokens[pos])) {
        pos++;
        continue;
      }
      let found = false;
      while (slack > 0 && pos < tokens.length) {
        slack--;
        pos++;
        if (pos < tokens.length && hit(tokens[pos])) {
          pos++;
          found = true;
          break;
        }
      }
      if (!found) {
        ok = false;
        break;
      }
    }
    if (ok) freq += 1 / (1 + slop - slack);
  }
  return freq;
}
