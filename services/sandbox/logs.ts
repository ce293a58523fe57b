// Container logs, as the kubelet serves them through the API server's pods/<name>/log subresource. There are no
// real containers, so each container instance's log is a pure function of (pod uid, container, image, instance
// start) and the line index: asking twice gives the same text, and a line once written never changes. Lines are
// spread over the container's running time (older lines fall out past a cap, as log rotation would do), so
// sinceSeconds, tailLines and timestamps behave as on a real cluster, and `follow` streams new lines as they fall due.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, invalid, type StatusCause } from './errors.js';
import type { Store, StoreEvent } from './store.js';
import type { KObject, Loose } from './types.js';

export interface LogOptions {
  container?: string;
  tailLines?: number;
  sinceSeconds?: number;
  sinceTime?: string;
  timestamps?: boolean;
  previous?: boolean;
  follow?: boolean;
  limitBytes?: number;
}

/** How many lines of a container instance's log are kept (older ones are rotated away). */
export const MAX_LOG_LINES = 5000;

// ------------------------------------------------------------------ options

const INT_RE = /^[+-]?\d+$/;

function parseIntParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  if (!INT_RE.test(raw.trim()))
    throw badRequest(`couldn't parse "${name}": strconv.ParseInt: parsing ${JSON.stringify(raw)}: invalid syntax`);
  return Number(raw.trim());
}

function parseBoolParam(query: URLSearchParams, name: string): boolean | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  // Go's strconv.ParseBool, which the real server's query decoding uses; a bare `?follow` means true.
  if (raw === '' || ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(raw)) return false;
  throw badRequest(`couldn't parse "${name}": strconv.ParseBool: parsing ${JSON.stringify(raw)}: invalid syntax`);
}

/** PodLogOptions from a query string. Malformed numbers, booleans and times are 400 BadRequest. */
export function parseLogOptions(query: URLSearchParams): LogOptions {
  const opts: LogOptions = {};
  const container = query.get('container');
  if (container) opts.container = container;
  const tailLines = parseIntParam(query, 'tailLines');
  if (tailLines !== undefined) opts.tailLines = tailLines;
  const sinceSeconds = parseIntParam(query, 'sinceSeconds');
  if (sinceSeconds !== undefined) opts.sinceSeconds = sinceSeconds;
  const limitBytes = parseIntParam(query, 'limitBytes');
  if (limitBytes !== undefined) opts.limitBytes = limitBytes;
  const sinceTime = query.get('sinceTime');
  if (sinceTime) {
    if (
      !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(sinceTime) ||
      Number.isNaN(Date.parse(sinceTime))
    ) {
      throw badRequest(
        `parsing time ${JSON.stringify(sinceTime)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(sinceTime)} as RFC3339`,
      );
    }
    opts.sinceTime = sinceTime;
  }
  for (const name of ['timestamps', 'previous', 'follow'] as const) {
    const v = parseBoolParam(query, name);
    if (v !== undefined) opts[name] = v;
  }
  return opts;
}

/** The API server's ValidatePodLogOptions: 422 Invalid on PodLogOptions. */
function validateOptions(podName: string, opts: LogOptions): void {
  const causes: StatusCause[] = [];
  if (opts.tailLines !== undefined && opts.tailLines < 0) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: 'tailLines',
      message: `Invalid value: ${opts.tailLines}: must be greater than or equal to 0`,
    });
  }
  if (opts.limitBytes !== undefined && opts.limitBytes < 1) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: 'limitBytes',
      message: `Invalid value: ${opts.limitBytes}: must be greater than 0`,
    });
  }
  if (opts.sinceSeconds !== undefined && opts.sinceTime !== undefined) {
    causes.push({
      reason: 'FieldValueForbidden',
      field: '',
      message: 'Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified',
    });
  } else if (opts.sinceSeconds !== undefined && opts.sinceSeconds < 1) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: 'sinceSeconds',
      message: `Invalid value: ${opts.sinceSeconds}: must be greater than 0`,
    });
  }
  if (causes.length) throw invalid({ plural: 'pods', group: '', kind: 'PodLogOptions' }, podName, causes);
}

// ------------------------------------------------------------------ which container instance

/** One run of a container: its log is a function of this alone. */
interface Instance {
  seed: string;
  flavor: Flavor;
  pod: string;
  namespace: string;
  container: string;
  image: string;
  start: number; // ms
  /** When it stopped, for a terminated instance. */
  end?: number;
  exitCode?: number;
}

const allContainers = (pod: KObject): Loose[] => [
  ...(pod.spec?.initContainers ?? []),
  ...(pod.spec?.containers ?? []),
  ...(pod.spec?.ephemeralContainers ?? []),
];

/** The API server's ValidateContainer: a default for single-container pods, 400 otherwise. */
function pickContainer(pod: KObject, requested: string | undefined): string {
  const name = pod.metadata.name ?? '';
  if (requested) {
    if (!allContainers(pod).some((c) => c.name === requested))
      throw badRequest(`container ${requested} is not valid for pod ${name}`);
    return requested;
  }
  const containers: Loose[] = pod.spec?.containers ?? [];
  if (containers.length === 1) return containers[0].name;
  if (containers.length === 0) throw badRequest(`a container name must be specified for pod ${name}`);
  throw badRequest(
    `a container name must be specified for pod ${name}, choose one of: [${allContainers(pod)
      .map((c) => c.name)
      .join(' ')}]`,
  );
}

const timeOf = (s: unknown): number | undefined => {
  if (typeof s !== 'string' || !s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
};

function statusOf(pod: KObject, container: string): Loose | undefined {
  const st = pod.status ?? {};
  for (const list of [st.containerStatuses, st.initContainerStatuses, st.ephemeralContainerStatuses]) {
    const found = (list ?? []).find((c: Loose) => c?.name === container);
    if (found) return found;
  }
  return undefined;
}

/**
 * When an instance stopped. Status times have second precision, so a finish time covers the whole second it names:
 * lines already streamed from that second must stay in the log.
 */
const endOf = (finishedAt: unknown): number | undefined => {
  const t = timeOf(finishedAt);
  if (t === undefined) return undefined;
  return /\.\d+/.test(String(finishedAt)) ? t : t + 999;
};

function instanceFrom(pod: KObject, container: string, image: string, state: Loose, fallbackStart?: number): Instance {
  const start =
    timeOf(state.startedAt) ??
    fallbackStart ??
    timeOf(pod.status?.startTime) ??
    timeOf(pod.metadata.creationTimestamp) ??
    Date.now();
  const end = state.finishedAt !== undefined ? (endOf(state.finishedAt) ?? start) : undefined;
  return {
    seed: `${pod.metadata.uid ?? pod.metadata.name}|${container}|${image}|${state.startedAt ?? start}`,
    flavor: flavorOf(image),
    pod: pod.metadata.name ?? '',
    namespace: pod.metadata.namespace ?? 'default',
    container,
    image,
    start,
    ...(end !== undefined ? { end: Math.max(end, start) } : {}),
    ...(state.exitCode !== undefined ? { exitCode: Number(state.exitCode) } : {}),
  };
}

/**
 * The kubelet's validateContainerLogStatus: which instance's log to serve, or why there is none.
 * A container waiting after a crash (CrashLoopBackOff) serves its last terminated instance, as the kubelet does.
 */
function resolveInstance(pod: KObject, container: string, previous: boolean): Instance {
  const podName = pod.metadata.name ?? '';
  const spec = allContainers(pod).find((c) => c.name === container) ?? {};
  const cs = statusOf(pod, container);
  const image: string = cs?.image || spec.image || '';
  if (!cs) {
    if (previous) throw badRequest(`previous terminated container "${container}" in pod "${podName}" not found`);
    throw badRequest(`container "${container}" in pod "${podName}" is waiting to start: ContainerCreating`);
  }
  const last = cs.lastState?.terminated;
  const { waiting, running, terminated } = cs.state ?? {};
  if (previous) {
    if (!last) throw badRequest(`previous terminated container "${container}" in pod "${podName}" not found`);
    return instanceFrom(pod, container, image, last);
  }
  if (running) return instanceFrom(pod, container, image, running);
  if (terminated) return instanceFrom(pod, container, image, terminated);
  if (last) return instanceFrom(pod, container, image, last);
  if (waiting) {
    switch (waiting.reason) {
      case 'ErrImagePull':
        throw badRequest(`container "${container}" in pod "${podName}" is waiting to start: image can't be pulled`);
      case 'ImagePullBackOff':
        throw badRequest(
          `container "${container}" in pod "${podName}" is waiting to start: trying and failing to pull image`,
        );
      default:
        throw badRequest(
          `container "${container}" in pod "${podName}" is waiting to start: ${waiting.reason ?? 'ContainerCreating'}`,
        );
    }
  }
  throw badRequest(`container "${container}" in pod "${podName}" is waiting to start - no logs yet`);
}

// ------------------------------------------------------------------ deterministic randomness

/** FNV-1a, then a murmur finalizer: a well-spread 32-bit hash of a string. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A small seeded generator (mulberry32) for the choices inside one line. */
class Rng {
  private a: number;
  constructor(seed: number) {
    this.a = seed >>> 0;
  }
  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(this.next() * 16)];
    return s;
  }
}

// ------------------------------------------------------------------ timing

type Flavor = 'web' | 'json' | 'java' | 'redis' | 'postgres' | 'mysql' | 'crash' | 'plain';

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
class Schedule {
  readonly banner: number;
  readonly period: number;
  readonly periodicBase: number;
  /** Crashing images write a few lines, then a fatal error, then nothing. */
  readonly maxEvents: number;

  constructor(
    readonly inst: Instance,
    speed: number,
  ) {
    this.banner = bannerSize(inst);
    this.period = Math.max(10, Math.round(PERIOD_MS[inst.flavor] / Math.max(speed, 0.001)));
    this.periodicBase = inst.start + 40 + this.banner * BANNER_STEP_MS + Math.min(1000, this.period);
    this.maxEvents = inst.flavor === 'crash' ? this.banner + 2 + (hash32(inst.seed + '|n') % 4) + 1 : Infinity;
  }

  /** Time of event k in ms, plus nanoseconds within that millisecond. */
  time(k: number): number {
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
    let n = 0;
    for (; n < this.banner; n++) if (this.time(n) > upTo) return n;
    if (upTo < this.periodicBase) return Math.min(n, this.maxEvents);
    const j = Math.floor((upTo - this.periodicBase) / this.period);
    const m = this.time(this.banner + j) <= upTo ? j + 1 : j;
    return Math.min(this.banner + m, this.maxEvents);
  }
}

interface Line {
  t: number;
  ns: number;
  text: string;
}

// ------------------------------------------------------------------ rendering

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => String(n).padStart(2, '0');
const p3 = (n: number) => String(n).padStart(3, '0');

/** RFC3339 with nine fractional digits, as the kubelet prints log timestamps. */
export function rfc3339Nano(ms: number, ns = 0): string {
  const d = new Date(ms);
  return `${d.toISOString().slice(0, 19)}.${String(d.getUTCMilliseconds() * 1_000_000 + ns).padStart(9, '0')}Z`;
}

const isoMs = (t: number) => new Date(t).toISOString();
const ymd = (d: Date) => `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}`;
const hms = (d: Date) => `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
const clf = (t: number) => {
  const d = new Date(t);
  return `${p2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${hms(d)} +0000`;
};
const nginxErr = (t: number) => {
  const d = new Date(t);
  return `${ymd(d).replace(/-/g, '/')} ${hms(d)}`;
};
const redisTime = (t: number) => {
  const d = new Date(t);
  return `${p2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${hms(d)}.${p3(d.getUTCMilliseconds())}`;
};
const pgTime = (t: number) => {
  const d = new Date(t);
  return `${ymd(d)} ${hms(d)}.${p3(d.getUTCMilliseconds())} UTC`;
};
const log4jTime = (t: number) => {
  const d = new Date(t);
  return `${ymd(d)} ${hms(d)},${p3(d.getUTCMilliseconds())}`;
};

const PATHS = [
  '/',
  '/index.html',
  '/healthz',
  '/api/v1/orders',
  '/api/v1/orders/{id}',
  '/api/v1/users/{id}',
  '/static/app.js',
  '/static/style.css',
  '/favicon.ico',
  '/api/v1/cart',
  '/login',
  '/metrics',
];
const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'kube-probe/1.30',
  'curl/8.5.0',
  'Go-http-client/1.1',
  'Prometheus/2.51.0',
];

const appName = (inst: Instance) => {
  const base = (inst.image.split('/').pop() ?? inst.image).replace(/[:@].*$/, '') || inst.container;
  return base.replace(/[^a-zA-Z0-9]+/g, '-');
};
const podIp = (r: Rng) => `10.244.${r.int(0, 7)}.${r.int(2, 250)}`;
const fillPath = (r: Rng, p: string) => p.replace('{id}', String(r.int(1, 9999)));
const camel = (s: string) =>
  s
    .split('-')
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('') || 'App';

function bannerSize(inst: Instance): number {
  switch (inst.flavor) {
    case 'web':
      return 14;
    case 'json':
      return 3;
    case 'java':
      return 5;
    case 'redis':
      return 7;
    case 'postgres':
      return 7;
    case 'mysql':
      return 8;
    case 'crash':
      return 3;
    default:
      return 1;
  }
}

function webLine(inst: Instance, t: number, r: Rng): string {
  const path = fillPath(r, r.pick(PATHS));
  const agent = path === '/healthz' ? 'kube-probe/1.30' : r.pick(AGENTS);
  const roll = r.next();
  const status = roll < 0.86 ? 200 : roll < 0.9 ? 304 : roll < 0.95 ? 404 : roll < 0.98 ? 301 : r.pick([500, 502, 503]);
  const method = r.next() < 0.85 ? 'GET' : r.pick(['POST', 'PUT', 'DELETE']);
  const bytes = status === 304 ? 0 : r.int(40, 48_000);
  const referer = r.next() < 0.6 ? '"-"' : `"http://${inst.pod}.${inst.namespace}.svc/"`;
  return `${podIp(r)} - - [${clf(t)}] "${method} ${path} HTTP/1.1" ${status} ${bytes} ${referer} "${agent}" "-"`;
}

function webBanner(inst: Instance, k: number, t: number): string[] {
  const isEnvoy = inst.image.includes('envoy');
  if (isEnvoy) {
    const lines = [
      'initializing epoch 0 (base id=0, hot restart version=11.104)',
      'statically linked extensions:',
      '  envoy.filters.http: envoy.filters.http.router, envoy.filters.http.cors, envoy.filters.http.grpc_web',
      'loading tracing configuration',
      'loading 0 static secret(s)',
      'loading 1 cluster(s)',
      'loading 1 listener(s)',
      'loading stats configuration',
      'starting main dispatch loop',
      'runtime: no runtime layers',
      'all clusters initialized. initializing init manager',
      'all dependencies initialized. starting workers',
      'starting workers',
      'listener "listener_0" ready on 0.0.0.0:10000',
    ];
    return [`[${isoMs(t).replace('T', ' ')}][1][info][main] ${lines[k]}`];
  }
  if (/httpd|apache/.test(inst.image)) {
    if (k === 0)
      return [
        `AH00558: httpd: Could not reliably determine the server's fully qualified domain name, using 10.244.0.${(hash32(inst.seed) % 240) + 2}. Set the 'ServerName' directive globally to suppress this message`,
      ];
    const d = new Date(t);
    const stamp = `${d.toUTCString().slice(0, 3)} ${MONTHS[d.getUTCMonth()]} ${p2(d.getUTCDate())} ${hms(d)}.${p3(d.getUTCMilliseconds())}${String(hash32(`${inst.seed}|us${k}`) % 1000).padStart(3, '0')} ${d.getUTCFullYear()}`;
    if (k === 1)
      return [
        `[${stamp}] [mpm_event:notice] [pid 1:tid 1] AH00489: Apache/2.4.59 (Unix) configured -- resuming normal operations`,
      ];
    if (k === 2) return [`[${stamp}] [core:notice] [pid 1:tid 1] AH00094: Command line: 'httpd -D FOREGROUND'`];
    return [];
  }
  const entry = [
    '/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration',
    '/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/',
    '/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh',
    '10-listen-on-ipv6-by-default.sh: info: Getting the checksum of /etc/nginx/conf.d/default.conf',
    '10-listen-on-ipv6-by-default.sh: info: Enabled listen on IPv6 in /etc/nginx/conf.d/default.conf',
    '/docker-entrypoint.sh: Sourcing /docker-entrypoint.d/15-local-resolvers.envsh',
    '/docker-entrypoint.sh: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh',
    '/docker-entrypoint.sh: Launching /docker-entrypoint.d/30-tune-worker-processes.sh',
    '/docker-entrypoint.sh: Configuration complete; ready for start up',
  ];
  if (k < entry.length) return [entry[k]];
  const notices = [
    'using the "epoll" event method',
    `nginx/${/:(\d+\.\d+\.\d+)/.exec(inst.image)?.[1] ?? '1.27.0'}`,
    'built by gcc 12.2.0 (Debian 12.2.0-14)',
    'OS: Linux 6.1.0-18-cloud-amd64',
    'start worker processes',
  ];
  return [`${nginxErr(t)} [notice] 1#1: ${notices[k - entry.length]}`];
}

function jsonLine(inst: Instance, k: number, t: number, r: Rng): string {
  const base = { level: 'info', ts: isoMs(t) } as Record<string, unknown>;
  const app = appName(inst);
  if (k < bannerSize(inst)) {
    const msgs: Record<string, unknown>[] = [
      {
        msg: 'starting service',
        service: app,
        version: `1.${hash32(inst.seed) % 12}.${hash32(inst.seed + 'v') % 20}`,
        pid: 1,
      },
      { msg: 'connected to database', host: 'postgres.default.svc:5432', pool_size: 10 },
      { msg: 'http server listening', addr: ':8080' },
    ];
    return JSON.stringify({ ...base, ...msgs[k] });
  }
  const roll = r.next();
  const method = r.next() < 0.7 ? 'GET' : r.pick(['POST', 'PUT', 'DELETE']);
  const path = fillPath(r, r.pick(PATHS.filter((p) => p.startsWith('/api'))));
  const requestId = r.hex(16);
  if (roll < 0.05) {
    return JSON.stringify({
      ...base,
      level: 'error',
      msg: 'upstream request failed',
      method,
      path,
      status: 502,
      error: `dial tcp 10.96.${r.int(0, 255)}.${r.int(1, 254)}:8080: connect: connection refused`,
      request_id: requestId,
    });
  }
  if (roll < 0.12) {
    return JSON.stringify({
      ...base,
      level: 'warn',
      msg: 'slow request',
      method,
      path,
      status: 200,
      duration_ms: r.int(800, 4000),
      request_id: requestId,
    });
  }
  if (roll < 0.17)
    return JSON.stringify({
      ...base,
      level: 'debug',
      msg: 'cache refresh',
      entries: r.int(100, 5000),
      duration_ms: r.int(1, 80),
    });
  const status = r.next() < 0.93 ? 200 : r.pick([201, 204, 400, 401, 404]);
  return JSON.stringify({
    ...base,
    msg: 'request completed',
    method,
    path,
    status,
    duration_ms: Math.round(r.next() * 2500) / 100,
    bytes: r.int(60, 9000),
    request_id: requestId,
  });
}

const JAVA_THREADS = [
  'main',
  'http-nio-8080-exec-1',
  'http-nio-8080-exec-2',
  'http-nio-8080-exec-5',
  'scheduling-1',
  'pool-2-thread-1',
  'kafka-consumer-1',
];

function javaLines(inst: Instance, k: number, t: number, r: Rng): string[] {
  const app = camel(appName(inst).replace(/-?(java|spring|tomcat|openjdk|jdk|jre|service)-?/g, '-')) || 'Demo';
  const pkg = `com.example.${app.toLowerCase()}`;
  const ts = log4jTime(t);
  const line = (level: string, thread: string, logger: string, msg: string) =>
    `${ts} ${level.padEnd(5)} [${thread}] ${logger} - ${msg}`;
  if (k < bannerSize(inst)) {
    const startup = [
      line(
        'INFO',
        'main',
        `${pkg}.${app}Application`,
        `Starting ${app}Application v2.3.${hash32(inst.seed) % 9} using Java 17.0.11 with PID 1 (/app/app.jar started by app in /app)`,
      ),
      line(
        'INFO',
        'main',
        `${pkg}.${app}Application`,
        'No active profile set, falling back to 1 default profile: "default"',
      ),
      line(
        'INFO',
        'main',
        'org.springframework.boot.web.embedded.tomcat.TomcatWebServer',
        'Tomcat initialized with port 8080 (http)',
      ),
      line('INFO', 'main', 'org.apache.catalina.core.StandardService', 'Starting service [Tomcat]'),
      line(
        'INFO',
        'main',
        `${pkg}.${app}Application`,
        `Started ${app}Application in ${(3 + (hash32(inst.seed) % 4000) / 1000).toFixed(3)} seconds (process running for ${(4 + (hash32(inst.seed) % 4000) / 1000).toFixed(3)})`,
      ),
    ];
    return [startup[k]];
  }
  const roll = r.next();
  const thread = r.pick(JAVA_THREADS.slice(1));
  if (roll < 0.03) {
    const id = r.int(1000, 99999);
    const uncaught = r.next() < 0.4;
    const head = uncaught
      ? `Exception in thread "${thread}" java.lang.NullPointerException: Cannot invoke "String.length()" because "name" is null`
      : 'java.lang.IllegalStateException: Order ' + id + ' not found';
    return [
      ...(uncaught
        ? []
        : [line('ERROR', thread, `${pkg}.web.OrderController`, `Request processing failed for GET /api/orders/${id}`)]),
      head,
      `\tat ${pkg}.service.OrderService.findById(OrderService.java:${r.int(40, 140)})`,
      `\tat ${pkg}.web.OrderController.get(OrderController.java:${r.int(20, 90)})`,
      '\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)',
      '\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)',
      '\tat java.base/java.lang.Thread.run(Thread.java:1583)',
    ];
  }
  if (roll < 0.1)
    return [
      line(
        'WARN',
        thread,
        'com.zaxxer.hikari.pool.HikariPool',
        `HikariPool-1 - Connection is not available, request timed out after ${r.int(1000, 30000)}ms.`,
      ),
    ];
  if (roll < 0.2)
    return [line('DEBUG', 'scheduling-1', `${pkg}.jobs.CacheRefresher`, `Refreshed ${r.int(10, 900)} cache entries`)];
  return [
    line(
      'INFO',
      thread,
      `${pkg}.web.OrderController`,
      `${r.pick(['GET', 'GET', 'POST'])} /api/orders${r.next() < 0.5 ? '/' + r.int(1, 99999) : ''} completed in ${r.int(2, 400)}ms status=${r.next() < 0.95 ? 200 : 404}`,
    ),
  ];
}

function redisLines(inst: Instance, k: number, t: number, r: Rng): string[] {
  const ts = redisTime(t);
  if (k < bannerSize(inst)) {
    const banner = [
      `1:C ${ts} # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo`,
      `1:C ${ts} # Redis version=7.2.5, bits=64, commit=00000000, modified=0, pid=1, just started`,
      `1:C ${ts} # Warning: no config file specified, using the default config. In order to specify a config file use redis-server /path/to/redis.conf`,
      `1:M ${ts} * monotonic clock: POSIX clock_gettime`,
      `1:M ${ts} * Running mode=standalone, port=6379.`,
      `1:M ${ts} * Server initialized`,
      `1:M ${ts} * Ready to accept connections tcp`,
    ];
    return [banner[k]];
  }
  const pid = 20 + (k % 4000);
  switch ((k - bannerSize(inst)) % 4) {
    case 0:
      return [`1:M ${ts} * ${r.int(1, 100) > 50 ? 100 : 1} changes in ${r.pick([60, 300])} seconds. Saving...`];
    case 1:
      return [`1:M ${ts} * Background saving started by pid ${pid}`];
    case 2:
      return [
        `${pid}:C ${ts} * DB saved on disk`,
        `${pid}:C ${ts} * Fork CoW for RDB: current ${r.int(0, 4)} MB, peak ${r.int(0, 4)} MB, average ${r.int(0, 2)} MB`,
      ];
    default:
      return [`1:M ${ts} * Background saving terminated with success`];
  }
}

function postgresLines(inst: Instance, k: number, t: number, r: Rng): string[] {
  const ts = pgTime(t);
  if (k < bannerSize(inst)) {
    const banner = [
      'PostgreSQL Database directory appears to contain a database; Skipping initialization',
      '',
      `${ts} [1] LOG:  starting PostgreSQL 16.3 (Debian 16.3-1.pgdg120+1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit`,
      `${ts} [1] LOG:  listening on IPv4 address "0.0.0.0", port 5432`,
      `${ts} [1] LOG:  listening on Unix socket "/var/run/postgresql/.s.PGSQL.5432"`,
      `${ts} [29] LOG:  database system was shut down at ${pgTime(inst.start - 60_000).replace(/\.\d{3}/, '')}`,
      `${ts} [1] LOG:  database system is ready to accept connections`,
    ];
    return [banner[k]];
  }
  const roll = r.next();
  if (roll < 0.1) {
    const pid = r.int(100, 9000);
    return [
      `${ts} [${pid}] ERROR:  relation "${r.pick(['orders_archive', 'sessions_tmp', 'audit'])}" does not exist at character ${r.int(15, 40)}`,
      `${ts} [${pid}] STATEMENT:  SELECT * FROM orders_archive WHERE id = $1`,
    ];
  }
  if (roll < 0.2) return [`${ts} [${r.int(100, 9000)}] FATAL:  password authentication failed for user "reporting"`];
  if (roll < 0.6) return [`${ts} [27] LOG:  checkpoint starting: time`];
  const buffers = r.int(1, 400);
  return [
    `${ts} [27] LOG:  checkpoint complete: wrote ${buffers} buffers (${(buffers / 163.84).toFixed(1)}%); 0 WAL file(s) added, 0 removed, 0 recycled; write=${(r.next() * 30).toFixed(3)} s, sync=0.00${r.int(1, 9)} s, total=${(r.next() * 30 + 0.01).toFixed(3)} s; sync files=${r.int(1, 40)}, longest=0.00${r.int(1, 9)} s, average=0.001 s; distance=${r.int(10, 4000)} kB, estimate=${r.int(10, 4000)} kB; lsn=0/${r.hex(7).toUpperCase()}, redo lsn=0/${r.hex(7).toUpperCase()}`,
  ];
}

function mysqlLines(inst: Instance, k: number, t: number, r: Rng): string[] {
  const iso = rfc3339Nano(t).slice(0, 26) + 'Z';
  const entry = `${isoMs(t).slice(0, 19).replace('T', ' ')}+00:00`;
  if (k < bannerSize(inst)) {
    const banner = [
      `${entry} [Note] [Entrypoint]: Entrypoint script for MySQL Server 8.0.37-1.el9 started.`,
      `${entry} [Note] [Entrypoint]: Switching to dedicated user 'mysql'`,
      `${entry} [Note] [Entrypoint]: Entrypoint script for MySQL Server 8.0.37-1.el9 started.`,
      `${iso} 0 [System] [MY-010116] [Server] /usr/sbin/mysqld (mysqld 8.0.37) starting as process 1`,
      `${iso} 1 [System] [MY-013576] [InnoDB] InnoDB initialization has started.`,
      `${iso} 1 [System] [MY-013577] [InnoDB] InnoDB initialization has ended.`,
      `${iso} 0 [Warning] [MY-010068] [Server] CA certificate ca.pem is self signed.`,
      `${iso} 0 [System] [MY-010931] [Server] /usr/sbin/mysqld: ready for connections. Version: '8.0.37'  socket: '/var/run/mysqld/mysqld.sock'  port: 3306  MySQL Community Server - GPL.`,
    ];
    return [banner[k]];
  }
  if (r.next() < 0.5)
    return [
      `${iso} ${r.int(8, 900)} [Warning] [MY-010055] [Server] IP address '${podIp(r)}' could not be resolved: Name or service not known`,
    ];
  return [
    `${iso} ${r.int(8, 900)} [Note] [MY-010914] [Server] Aborted connection ${r.int(8, 900)} to db: 'app' user: 'app' host: '${podIp(r)}' (Got an error reading communication packets).`,
  ];
}

function plainLine(inst: Instance, k: number, t: number, r: Rng): string {
  if (k === 0) return `Starting ${appName(inst)} in ${inst.pod}`;
  if (/busybox|alpine|ubuntu|debian/.test(inst.image)) {
    const d = new Date(t);
    return `${d.toUTCString().slice(0, 3)} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${hms(d)} UTC ${d.getUTCFullYear()}: ${r.pick(['heartbeat', 'still alive', 'tick'])} ${k}`;
  }
  const roll = r.next();
  if (roll < 0.05)
    return `WARN  retrying connection to ${r.pick(['redis', 'postgres', 'rabbitmq'])} (attempt ${r.int(1, 5)})`;
  if (roll < 0.08) return `ERROR job ${r.int(1000, 99999)} failed: timeout after ${r.int(5, 60)}s`;
  return `INFO  processed batch ${k} (${r.int(1, 500)} items) in ${r.int(1, 900)}ms`;
}

function crashLines(inst: Instance, k: number, sched: Schedule, r: Rng): string[] {
  if (k === sched.maxEvents - 1) {
    switch (hash32(inst.seed + '|fatal') % 3) {
      case 0:
        return [
          'panic: runtime error: invalid memory address or nil pointer dereference',
          `[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x${(0x6b0000 + (hash32(inst.seed) % 0xffff)).toString(16)}]`,
          '',
          'goroutine 1 [running]:',
          'main.(*Server).connect(0x0)',
          '\t/src/server.go:87 +0x3a',
          'main.main()',
          '\t/src/main.go:42 +0x1c5',
        ];
      case 1:
        return [
          'Error: connect ECONNREFUSED 10.96.0.42:5432',
          '    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1607:16) {',
          '  errno: -111,',
          "  code: 'ECONNREFUSED',",
          "  syscall: 'connect',",
          "  address: '10.96.0.42',",
          '  port: 5432',
          '}',
        ];
      default:
        return ['FATAL: unable to load configuration: open /etc/app/config.yaml: no such file or directory'];
    }
  }
  const startup = [
    `Starting ${appName(inst)} (build ${r.hex(7)})`,
    'Loading configuration from /etc/app/config.yaml',
    `Connecting to database at postgres:5432`,
  ];
  if (k < startup.length) return [startup[k]];
  return [`Retrying database connection (attempt ${k - startup.length + 1}/5)...`];
}

/** The physical lines of event k (a stack trace is several lines with one timestamp). */
function renderEvent(inst: Instance, sched: Schedule, k: number, t: number): string[] {
  const r = new Rng(hash32(`${inst.seed}|${k}`));
  switch (inst.flavor) {
    case 'web':
      return k < sched.banner ? webBanner(inst, k, t) : [webLine(inst, t, r)];
    case 'json':
      return [jsonLine(inst, k, t, r)];
    case 'java':
      return javaLines(inst, k, t, r);
    case 'redis':
      return redisLines(inst, k, t, r);
    case 'postgres':
      return postgresLines(inst, k, t, r);
    case 'mysql':
      return mysqlLines(inst, k, t, r);
    case 'crash':
      return crashLines(inst, k, sched, r);
    default:
      return [plainLine(inst, k, t, r)];
  }
}

/** Lines of events [from, to), and for a crashed instance that died early, its fatal error at the end. */
function linesOf(inst: Instance, sched: Schedule, from: number, to: number, finished: boolean): Line[] {
  const out: Line[] = [];
  for (let k = from; k < to; k++) {
    const t = sched.time(k);
    const ns = sched.nanos(k);
    for (const text of renderEvent(inst, sched, k, t)) out.push({ t, ns, text });
  }
  const last = sched.maxEvents - 1;
  if (finished && inst.flavor === 'crash' && to <= last && inst.exitCode !== 0 && inst.end !== undefined) {
    const t = inst.end;
    for (const text of renderEvent(inst, sched, last, t)) out.push({ t, ns: sched.nanos(last), text });
  }
  return out;
}

/** The instance's whole retained log as of `now` (at most MAX_LOG_LINES lines). */
function history(inst: Instance, sched: Schedule, now: number, tailLines?: number): { lines: Line[]; events: number } {
  // A stopped instance's log ends at its finish time, whatever the clock says now (see endOf).
  const upTo = inst.end ?? now;
  const events = sched.countUpTo(upTo);
  const want = Math.min(MAX_LOG_LINES, tailLines ?? MAX_LOG_LINES);
  const from = Math.max(0, events - want);
  const lines = linesOf(inst, sched, from, events, inst.end !== undefined);
  return { lines: lines.length > MAX_LOG_LINES ? lines.slice(lines.length - MAX_LOG_LINES) : lines, events };
}

const format = (l: Line, timestamps: boolean | undefined) =>
  timestamps ? `${rfc3339Nano(l.t, l.ns)} ${l.text}\n` : `${l.text}\n`;

// ------------------------------------------------------------------ serving

/** Serves GET .../pods/<name>/log for an existing pod object as the real kubelet/apiserver does (text/plain). */
export function servePodLog(
  store: Store,
  pod: KObject,
  opts: LogOptions,
  req: IncomingMessage,
  res: ServerResponse,
  clock?: { speed: number },
): void {
  const podName = pod.metadata.name ?? '';
  validateOptions(podName, opts);
  const container = pickContainer(pod, opts.container);
  // A pod not yet on a node has no kubelet to ask: the real server answers with an empty log.
  if (!pod.spec?.nodeName) {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end();
    return;
  }
  const inst = resolveInstance(pod, container, Boolean(opts.previous));
  const sched = new Schedule(inst, clock?.speed ?? 1);
  const now = Date.now();
  const since =
    opts.sinceTime !== undefined
      ? Date.parse(opts.sinceTime)
      : opts.sinceSeconds !== undefined
        ? now - opts.sinceSeconds * 1000
        : undefined;
  const { lines, events } = history(inst, sched, now, since === undefined ? opts.tailLines : undefined);
  let shown = since === undefined ? lines : lines.filter((l) => l.t >= since);
  if (opts.tailLines !== undefined) shown = opts.tailLines === 0 ? [] : shown.slice(-opts.tailLines);
  let budget = opts.limitBytes ?? Infinity;
  const cut = (text: string): Buffer => {
    let buf = Buffer.from(text);
    if (buf.length > budget) buf = buf.subarray(0, budget);
    budget -= buf.length;
    return buf;
  };
  const body = cut(shown.map((l) => format(l, opts.timestamps)).join(''));

  // A finished instance (or `previous`) has nothing more to say; so does a container that is not running.
  const live = opts.follow && !opts.previous && inst.end === undefined && budget > 0;
  if (!live) {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
    res.end(body);
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
  if (body.length) res.write(body);
  else res.flushHeaders();
  followLog(store, pod, inst, sched, events, opts, req, res, cut, () => budget);
}

function followLog(
  store: Store,
  pod: KObject,
  inst: Instance,
  sched: Schedule,
  emitted: number,
  opts: LogOptions,
  req: IncomingMessage,
  res: ServerResponse,
  cut: (text: string) => Buffer,
  budget: () => number,
): void {
  let next = emitted;
  let timer: NodeJS.Timeout | undefined;
  let done = false;

  const stop = () => {
    if (done) return;
    done = true;
    if (timer) clearTimeout(timer);
    timer = undefined;
    unsubscribe();
    res.off('close', stop);
  };
  const finish = () => {
    if (done) return;
    stop();
    if (!res.writableEnded) res.end();
  };
  /** Writes the events due by `upTo`; false once the byte budget is spent. */
  const flush = (upTo: number, finished: boolean): boolean => {
    const n = sched.countUpTo(upTo);
    const lines = n > next || finished ? linesOf(inst, sched, next, n, finished) : [];
    next = Math.max(next, n);
    if (lines.length && !res.writableEnded) res.write(cut(lines.map((l) => format(l, opts.timestamps)).join('')));
    return budget() > 0;
  };
  const schedule = () => {
    if (done) return;
    if (next >= sched.maxEvents) return; // a crashing program that has said its last: wait for it to be terminated
    const wait = Math.min(5000, Math.max(10, sched.time(next) - Date.now() + 1));
    timer = setTimeout(tick, wait);
  };
  const tick = () => {
    timer = undefined;
    if (done) return;
    if (!flush(Date.now(), false)) return finish();
    schedule();
  };

  const uid = pod.metadata.uid;
  const unsubscribe = store.subscribe((ev: StoreEvent) => {
    if (done || ev.rt.group !== '' || ev.rt.kind !== 'Pod') return;
    const o = ev.object;
    if (o.metadata.uid !== uid) return;
    if (ev.type === 'DELETED') return finish();
    const cs = statusOf(o, inst.container);
    const running = cs?.state?.running;
    if (running && timeOf(running.startedAt) === inst.start) return;
    // The container stopped (or was replaced by a new instance): write what it said until then, and end.
    const terminated = cs?.state?.terminated ?? (running ? undefined : cs?.lastState?.terminated);
    if (terminated && timeOf(terminated.startedAt) === inst.start) {
      inst.end = Math.max(inst.start, endOf(terminated.finishedAt) ?? Date.now());
      if (terminated.exitCode !== undefined) inst.exitCode = Number(terminated.exitCode);
      flush(inst.end, true);
    } else {
      flush(Date.now(), false);
    }
    finish();
  });
  // The response closes when the client goes away (or once it has ended).
  res.once('close', stop);
  req.socket?.setNoDelay(true);
  if (res.destroyed) return stop();
  schedule();
}
