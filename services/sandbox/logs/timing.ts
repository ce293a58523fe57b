// Timing: what kind of log an image writes and when each of its lines falls due.
import type { Instance } from './instance.js';
import { hash32 } from './random.js';
import { bannerSize } from './lines.js';
import type { ScriptLine } from './script.js';

export type Flavor = 'web' | 'json' | 'java' | 'redis' | 'postgres' | 'mysql' | 'crash' | 'plain';

/** What kind of log an image writes, from the image's name (registry and tag aside). */
export function flavorOf(image: string): Flavor {
  const name = image
    .toLowerCase()
    .replace(/@sha256:.*$/, '')
    .replace(/:[^/]*$/, '');
  const base = name.split('/').pop() ?? name;
  const tokens = name.split(/[/._-]+/);
  if (name.includes('crash')) return 'crash';
  if (/nginx|httpd|apache|envoy|traefik|haproxy/.test(base)) return 'web';
  if (/java|spring|tomcat|jetty|openjdk|jdk|jre|kafka/.test(name)) return 'java';
  if (base.includes('redis')) return 'redis';
  if (/postgres|postgis/.test(base)) return 'postgres';
  if (/mysql|mariadb/.test(base)) return 'mysql';
  if (/json|node|api/.test(name) || tokens.includes('go') || name.includes('golang')) return 'json';
  return 'plain';
}

/** Milliseconds between lines (before the speed setting) per kind of log. */
const PERIOD_MS: Record<Flavor, number> = {
  web: 1000,
  json: 1500,
  java: 2000,
  redis: 5000,
  postgres: 4000,
  mysql: 6000,
  crash: 1500,
  plain: 2000,
};

const BANNER_STEP_MS = 7;

/** When each line (event) of an instance falls due. Events are 0..banner-1 (startup) then periodic ones. */
export class Schedule {
  readonly banner: number;
  readonly period: number;
  readonly periodicBase: number;
  /** Crashing images write a few lines, then a fatal error, then nothing. */
  readonly maxEvents: number;

  constructor(
    readonly inst: Instance,
    speed: number,
  ) {
    this.scale = 1 / Math.max(speed, 0.001);
    const script = inst.script;
    if (script) {
      // A user's script (logs/script.ts): its lines once, then its loop's lines every loopMs, all at simulated speed.
      this.banner = script.once.length;
      this.period = Math.max(10, Math.round((script.loop?.loopMs ?? 1000) * this.scale));
      this.periodicBase = inst.start + 40 + Math.round((script.loop?.startMs ?? 0) * this.scale);
      this.maxEvents = script.loop?.lines.length ? Infinity : this.banner;
      return;
    }
    this.banner = bannerSize(inst);
    this.period = Math.max(10, Math.round(PERIOD_MS[inst.flavor] / Math.max(speed, 0.001)));
    this.periodicBase = inst.start + 40 + this.banner * BANNER_STEP_MS + Math.min(1000, this.period);
    this.maxEvents = inst.flavor === 'crash' ? this.banner + 2 + (hash32(inst.seed + '|n') % 4) + 1 : Infinity;
  }

  /** Simulated milliseconds per script millisecond. */
  private readonly scale: number;

  /** A script's line k: the line and when it is printed. */
  scriptLine(k: number): { line: ScriptLine; t: number } | undefined {
    const script = this.inst.script;
    if (!script) return undefined;
    if (k < this.banner) {
      const line = script.once[k];
      return { line, t: this.inst.start + 40 + Math.round(line.atMs * this.scale) };
    }
    const body = script.loop?.lines ?? [];
    if (!body.length) return undefined;
    const j = k - this.banner;
    const line = body[j % body.length];
    return {
      line,
      t: this.periodicBase + Math.floor(j / body.length) * this.period + Math.round(line.atMs * this.scale),
    };
  }

  /** Time of event k in ms, plus nanoseconds within that millisecond. */
  time(k: number): number {
    const scripted = this.scriptLine(k);
    if (scripted) return scripted.t;
    if (k < this.banner) return this.inst.start + 40 + k * BANNER_STEP_MS + (hash32(`${this.inst.seed}|b${k}`) % 5);
    const j = k - this.banner;
    return (
      this.periodicBase +
      j * this.period +
      Math.floor((hash32(`${this.inst.seed}|j${j}`) / 4294967296) * 0.8 * this.period)
    );
  }

  nanos(k: number): number {
    return hash32(`${this.inst.seed}|ns${k}`) % 1_000_000;
  }

  /** How many events fall due at or before `upTo`. */
  countUpTo(upTo: number): number {
    if (upTo < this.inst.start) return 0;
    if (this.inst.script) return this.scriptCountUpTo(upTo);
    let n = 0;
    for (; n < this.banner; n++) if (this.time(n) > upTo) return n;
    if (upTo < this.periodicBase) return Math.min(n, this.maxEvents);
    const j = Math.floor((upTo - this.periodicBase) / this.period);
    const m = this.time(this.banner + j) <= upTo ? j + 1 : j;
    return Math.min(this.banner + m, this.maxEvents);
  }

  private scriptCountUpTo(upTo: number): number {
    let n = 0;
    while (n < this.banner && this.time(n) <= upTo) n++;
    const body = this.inst.script?.loop?.lines ?? [];
    if (n < this.banner || !body.length || upTo < this.periodicBase) return n;
    const iterations = Math.floor((upTo - this.periodicBase) / this.period);
    n += iterations * body.length;
    const iterationStart = this.periodicBase + iterations * this.period;
    for (const line of body) if (iterationStart + Math.round(line.atMs * this.scale) <= upTo) n++;
    return n;
  }
}

export interface Line {
  t: number;
  ns: number;
  text: string;
}
