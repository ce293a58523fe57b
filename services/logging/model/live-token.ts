// Where a live log stream stands, per container, and the resume token that carries it to a later subscription.
//
// A container's position is the timestamp of the last line delivered plus how many lines with exactly that timestamp
// were delivered (a stack trace is many lines with one timestamp). Resuming asks the API server from the whole second
// of that timestamp (sinceTime has second precision there) and drops the overlap with a ResumeFilter: every line
// before the timestamp, and the first `n` lines at it. Nothing is lost, nothing repeated, as long as the kubelet
// serves the same lines in the same order, which it does for a log file.
import { badUserInput } from '../../common/errors.js';
import { timestampKey } from '../clients/pod-logs.js';

export interface Position {
  /** timestampKey of the last line delivered. */
  key: string;
  /** Lines delivered with exactly that timestamp. */
  n: number;
}

/** The position after `key` has been delivered once more. Keys out of order (a clock step back) keep the later one. */
export function advance(p: Position | undefined, key: string): Position {
  if (!p || key > p.key) return { key, n: 1 };
  if (key === p.key) return { key, n: p.n + 1 };
  return p;
}

/** Drops the lines at or before a position (the overlap of a resumed read); passes everything after it. */
export class ResumeFilter {
  private skipped = 0;
  private open: boolean;
  /**
   * Set when the log read again no longer holds the lines delivered at the position (a later line came first): the
   * log was rotated (or the container replaced) since, so lines after the position may be gone too.
   */
  gap = false;

  constructor(private readonly after: Position | undefined) {
    this.open = after === undefined;
  }

  passes(key: string): boolean {
    if (this.open) return true;
    const after = this.after!;
    if (key < after.key) return false;
    if (key === after.key && this.skipped < after.n) {
      this.skipped++;
      return false;
    }
    if (this.skipped < after.n) this.gap = true;
    this.open = true;
    return true;
  }
}

/** What a subscription carries from one connection to the next. */
export interface ResumeState {
  /** timestampKey of when the subscription first started: containers with no position resume from here. */
  since: string;
  /** Pod name → its uid and each container's position. */
  pods: Map<string, { uid: string; containers: Map<string, Position> }>;
}

interface TokenJson {
  v: 1;
  s: string;
  p: Record<string, { u: string; c: Record<string, [string, number]> }>;
}

/** Tokens past this size are not ours (a workload of some hundred pods stays far below). */
const MAX_TOKEN_LENGTH = 256 * 1024;

export function encodeToken(state: ResumeState): string {
  const json: TokenJson = { v: 1, s: state.since, p: {} };
  for (const [pod, { uid, containers }] of state.pods) {
    const c: Record<string, [string, number]> = {};
    for (const [name, pos] of containers) c[name] = [pos.key, pos.n];
    json.p[pod] = { u: uid, c };
  }
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

const invalidToken = () =>
  badUserInput('resumeToken is not a token this server issued (pass the resumeToken of a LogChunk)', {
    argument: 'resumeToken',
  });

const isKey = (v: unknown): v is string => typeof v === 'string' && timestampKey(v) === v;

/** A token from a client: checked field by field (it is the caller's input), BAD_USER_INPUT when malformed. */
export function decodeToken(token: string): ResumeState {
  if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]*$/.test(token)) throw invalidToken();
  let json: TokenJson;
  try {
    json = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as TokenJson;
  } catch {
    throw invalidToken();
  }
  if (!json || typeof json !== 'object' || json.v !== 1 || !isKey(json.s) || typeof json.p !== 'object' || !json.p)
    throw invalidToken();
  const pods: ResumeState['pods'] = new Map();
  for (const [pod, entry] of Object.entries(json.p)) {
    if (!entry || typeof entry !== 'object' || typeof entry.u !== 'string' || typeof entry.c !== 'object' || !entry.c)
      throw invalidToken();
    const containers = new Map<string, Position>();
    for (const [name, pos] of Object.entries(entry.c)) {
      if (!Array.isArray(pos) || pos.length !== 2 || !isKey(pos[0]) || !Number.isSafeInteger(pos[1]) || pos[1] < 0)
        throw invalidToken();
      containers.set(name, { key: pos[0], n: pos[1] });
    }
    pods.set(pod, { uid: entry.u, containers });
  }
  return { since: json.s, pods };
}

/** The timestampKey of a wall-clock time (ms). */
export const keyOfTime = (ms: number): string => `${new Date(ms).toISOString().slice(0, 23)}000000Z`;
