// Rendering: the text of each line, per image flavor, in the formats the real programs write.
import { MAX_LOG_LINES } from './options.js';
import type { Instance } from './instance.js';
import { hash32, Rng } from './random.js';
import { Schedule, type Line } from './timing.js';

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

export function bannerSize(inst: Instance): number {
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

/** `date`'s default output in a busybox/alpine container (TZ unset): `Mon Dec  7 18:29:46 UTC 2026`. */
const shellDate = (t: number) => {
  const d = new Date(t);
  return `${d.toUTCString().slice(0, 3)} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${hms(d)} UTC ${d.getUTCFullYear()}`;
};

function plainLine(inst: Instance, k: number, t: number, r: Rng): string {
  if (k === 0) return `Starting ${appName(inst)} in ${inst.pod}`;
  if (/busybox|alpine|ubuntu|debian/.test(inst.image)) {
    return `${shellDate(t)}: ${r.pick(['heartbeat', 'still alive', 'tick'])} ${k}`;
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
  const scripted = sched.scriptLine(k);
  if (scripted) return [scripted.line.date ? scripted.line.text + shellDate(t) : scripted.line.text];
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
export function linesOf(inst: Instance, sched: Schedule, from: number, to: number, finished: boolean): Line[] {
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
export function history(
  inst: Instance,
  sched: Schedule,
  now: number,
  tailLines?: number,
): { lines: Line[]; events: number } {
  // A stopped instance's log ends at its finish time, whatever the clock says now (see endOf).
  const upTo = inst.end ?? now;
  const events = sched.countUpTo(upTo);
  const want = Math.min(MAX_LOG_LINES, tailLines ?? MAX_LOG_LINES);
  const from = Math.max(0, events - want);
  const lines = linesOf(inst, sched, from, events, inst.end !== undefined);
  return { lines: lines.length > MAX_LOG_LINES ? lines.slice(lines.length - MAX_LOG_LINES) : lines, events };
}
