// One index in memory: documents by sequence number (append-only, so a point in time is a sequence bound plus a write
// generation), the current document of each _id, and per leaf field the values of each document plus an inverted
// list (keyword-like fields: exact values; text fields: analyzed words) for the term-level queries.
import { randomBytes } from 'node:crypto';
import { analyze } from './analysis.js';
import {
  leavesOf,
  mergeMapping,
  objectPaths,
  parseDocument,
  type LeafField,
  type LeafValue,
  type TypeMapping,
} from './mapping.js';

export interface StoredDoc {
  id: string;
  /** The source as JSON text: a fraction of the memory of the parsed object, parsed again only for the hits shown. */
  sourceText: string;
  version: number;
  seqNo: number;
}

export const sourceOf = (doc: StoredDoc): Record<string, unknown> =>
  JSON.parse(doc.sourceText) as Record<string, unknown>;

/** A column cell: one value as itself (most fields of most documents), several as an array. */
export type Cell = LeafValue | LeafValue[] | undefined;

/** The values of a cell as a list. */
export const cellValues = (cell: Cell): LeafValue[] | undefined =>
  cell === undefined ? undefined : Array.isArray(cell) ? cell : [cell];

export interface FieldColumn {
  leaf: LeafField;
  /** Values of each document by sequence number (undefined: none). */
  values: Cell[];
  /** keyword, ip, boolean: exact value -> sequence numbers; text: word -> sequence numbers (ascending). */
  postings?: Map<LeafValue, number[]>;
  /** Text fields: words of each document's values (BM25's field length). */
  lengths?: number[];
  /** Text fields: how often a word is in a document, where more than once (word -> seq -> count). */
  freqs?: Map<LeafValue, Map<number, number>>;
}

export interface IndexSettings {
  number_of_shards: string;
  number_of_replicas: string;
  max_result_window: number;
  /** Every other setting, kept as given (flattened `index.` keys). */
  other: Record<string, unknown>;
}

export const newUuid = (): string => randomBytes(16).toString('base64url').slice(0, 22);

/** A view of an index as of a moment: what a point in time keeps. */
export interface Snapshot {
  index: EsIndex;
  /** Documents with a sequence number below this were written before. */
  maxSeq: number;
  /** The cluster write generation at that moment: a document deleted after it is still visible. */
  generation: number;
}

export class EsIndex {
  readonly uuid = newUuid();
  readonly createdAt = Date.now();
  mapping: TypeMapping = {};
  leaves = new Map<string, LeafField>();
  objects = new Set<string>();
  readonly docs: StoredDoc[] = [];
  /** The generation a document was deleted or replaced at (undefined: live). */
  readonly deletedAt: (number | undefined)[] = [];
  /** _id -> sequence number of its live document. */
  readonly ids = new Map<string, number>();
  readonly columns = new Map<string, FieldColumn>();
  readonly aliases = new Map<string, Record<string, unknown>>();
  deletedCount = 0;
  storeBytes = 0;
  private nextSeqNo = 0;

  constructor(
    readonly name: string,
    readonly settings: IndexSettings,
    mapping: TypeMapping,
  ) {
    this.setMapping(mapping);
  }

  get liveCount(): number {
    return this.ids.size;
  }

  setMapping(mapping: TypeMapping): void {
    this.mapping = mapping;
    this.leaves = leavesOf(mapping);
    this.objects = objectPaths(mapping);
    for (const [path, leaf] of this.leaves) {
      const column = this.columns.get(path);
      if (column) column.leaf = leaf;
    }
  }

  putMapping(update: TypeMapping): void {
    this.setMapping(mergeMapping(this.mapping, update));
  }

  snapshot(generation: number): Snapshot {
    return { index: this, maxSeq: this.docs.length, generation };
  }

  /**
   * Parses and stores a document (replacing the live one with the same _id). Throws the document's mapping errors
   * before anything changes.
   */
  write(
    id: string,
    source: Record<string, unknown>,
    generation: number,
    sourceText = JSON.stringify(source),
  ): StoredDoc {
    const parsed = parseDocument(source, this.mapping, id);
    // parseDocument never changes the mapping it is given: an update is a new object.
    if (parsed.mappingUpdate) this.setMapping(parsed.mappingUpdate);
    const previous = this.ids.get(id);
    let version = 1;
    if (previous !== undefined) {
      version = this.docs[previous].version + 1;
      this.deletedAt[previous] = generation;
      this.deletedCount++;
    }
    const seq = this.docs.length;
    const doc: StoredDoc = { id, sourceText, version, seqNo: this.nextSeqNo++ };
    this.docs.push(doc);
    this.deletedAt.push(undefined);
    this.ids.set(id, seq);
    this.storeBytes += 200 + sourceText.length;
    for (const [path, values] of parsed.values) {
      const leaf = this.leaves.get(path);
      if (!leaf) continue;
      let column = this.columns.get(path);
      if (!column) {
        column = { leaf, values: [], postings: leaf.kind === 'number' || leaf.kind === 'date' ? undefined : new Map() };
        if (leaf.kind === 'text') column.lengths = [];
        this.columns.set(path, column);
      }
      column.values[seq] = values.length === 1 ? values[0] : values;
      if (column.postings && leaf.indexed) {
        const { postings, lengths } = column;
        const add = (key: LeafValue) => {
          const list = postings.get(key);
          if (!list) postings.set(key, [seq]);
          // Each document once per key: a repeated word is counted (text fields), a repeated value is already listed.
          else if (list[list.length - 1] !== seq) list.push(seq);
          else if (lengths) {
            const freqs = (column.freqs ??= new Map());
            let perDoc = freqs.get(key);
            if (!perDoc) freqs.set(key, (perDoc = new Map()));
            perDoc.set(seq, (perDoc.get(seq) ?? 1) + 1);
          }
        };
        let words = 0;
        for (const v of values) {
          if (leaf.kind !== 'text') add(v);
          else
            for (const word of analyze(String(v))) {
              add(word);
              words++;
            }
        }
        if (lengths) lengths[seq] = words;
      }
    }
    return doc;
  }

  /** Deletes the live document with this _id; returns it, or undefined when there is none. */
  delete(id: string, generation: number): StoredDoc | undefined {
    const seq = this.ids.get(id);
    if (seq === undefined) return undefined;
    this.deletedAt[seq] = generation;
    this.ids.delete(id);
    this.deletedCount++;
    this.nextSeqNo++;
    return this.docs[seq];
  }

  get(id: string): StoredDoc | undefined {
    const seq = this.ids.get(id);
    return seq === undefined ? undefined : this.docs[seq];
  }

  seqNoNext(): number {
    return this.nextSeqNo;
  }
}

/** Whether a document (by sequence number) is part of a snapshot. */
export function visible(s: Snapshot, seq: number): boolean {
  if (seq >= s.maxSeq) return false;
  const d = s.index.deletedAt[seq];
  return d === undefined || d > s.generation;
}
