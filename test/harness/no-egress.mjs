// A preload (`node --import ./test/harness/no-egress.mjs`, or in NODE_OPTIONS) that lets a process reach loopback
// addresses only: every other outbound attempt (net/tls connect, fetch through undici, UDP, DNS lookups of names other
// than localhost) is refused before anything is sent, and recorded as one JSON line in the file KUBEGRAPH_EGRESS_LOG
// (with a `loaded` line per process, so a test knows the guard ran). Plain JavaScript: it runs before tsx's loader.
import dgram from 'node:dgram';
import dns from 'node:dns';
import { appendFileSync } from 'node:fs';
import net from 'node:net';

const LOG = process.env.KUBEGRAPH_EGRESS_LOG;
const LOOPBACK6 = new net.BlockList();
LOOPBACK6.addAddress('::1', 'ipv6');

/** 'allow' for loopback destinations (127.0.0.0/8, ::1, IPv4-mapped loopback, localhost) and local sockets; else 'refuse'. */
export function decide(host) {
  if (host === undefined || host === null || host === '') return 'allow'; // net defaults an empty host to localhost
  const h = String(host)
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return 'allow';
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  if (net.isIPv4(v4)) return v4.split('.')[0] === '127' ? 'allow' : 'refuse';
  if (net.isIPv6(h)) return LOOPBACK6.check(h, 'ipv6') ? 'allow' : 'refuse';
  return 'refuse'; // any other name: not even looked up
}

function record(kind, host, port) {
  const line = JSON.stringify({
    kind,
    host: String(host),
    port: port === undefined ? null : Number(port),
    pid: process.pid,
    argv: process.argv.slice(1, 3),
    stack: new Error().stack
      ?.split('\n')
      .slice(2, 8)
      .map((s) => s.trim()),
  });
  if (LOG) appendFileSync(LOG, line + '\n');
  else process.stderr.write(`no-egress: refused ${line}\n`);
}

function refusal(host, port) {
  return Object.assign(new Error(`outbound connection to ${host}:${port ?? ''} refused by the loopback-only guard`), {
    code: 'ECONNREFUSED',
  });
}

if (!globalThis.__kubegraphNoEgress) {
  globalThis.__kubegraphNoEgress = true;
  if (LOG)
    appendFileSync(LOG, JSON.stringify({ kind: 'loaded', pid: process.pid, argv: process.argv.slice(1, 3) }) + '\n');

  // Every TCP/TLS client connection (http, https, undici, ws, pg, ioredis...) goes through Socket#connect.
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (...args) {
    let options = args[0];
    if (Array.isArray(options)) options = options[0]; // internal normalized form [options, cb]
    let host;
    let port;
    let path;
    if (options !== null && typeof options === 'object') ({ host, port, path } = options);
    else if (typeof options === 'string' && !/^\d+$/.test(options)) path = options;
    else {
      port = options;
      host = typeof args[1] === 'string' ? args[1] : undefined;
    }
    if (path === undefined && decide(host) === 'refuse') {
      record('connect', host, port);
      process.nextTick(() => this.destroy(refusal(host, port)));
      return this;
    }
    return connect.apply(this, args);
  };

  // fetch: refused before undici's dispatcher is involved (its sockets would be caught above anyway).
  const fetch = globalThis.fetch;
  if (fetch) {
    globalThis.fetch = function (input, init) {
      const url = new URL(typeof input === 'string' || input instanceof URL ? String(input) : input.url);
      if ((url.protocol === 'http:' || url.protocol === 'https:') && decide(url.hostname) === 'refuse') {
        record('fetch', url.hostname, url.port || (url.protocol === 'https:' ? 443 : 80));
        return Promise.reject(new TypeError('fetch failed', { cause: refusal(url.hostname, url.port) }));
      }
      return fetch.call(this, input, init);
    };
  }

  // DNS: lookups of anything but localhost names (a name lookup is itself traffic to a resolver).
  const guardLookup = (original, promise) =>
    function (hostname, ...rest) {
      if (decide(hostname) === 'refuse' && !net.isIP(String(hostname))) {
        record('dns', hostname);
        const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname} (loopback-only guard)`), {
          code: 'ENOTFOUND',
          hostname,
        });
        if (promise) return Promise.reject(err);
        const cb = rest[rest.length - 1];
        if (typeof cb === 'function') process.nextTick(() => cb(err));
        return undefined;
      }
      return original.call(this, hostname, ...rest);
    };
  dns.lookup = guardLookup(dns.lookup, false);
  dns.promises.lookup = guardLookup(dns.promises.lookup, true);
  for (const fn of [
    'resolve',
    'resolve4',
    'resolve6',
    'resolveAny',
    'resolveCname',
    'resolveMx',
    'resolveNs',
    'resolveSrv',
    'resolveTxt',
  ]) {
    if (typeof dns[fn] === 'function') dns[fn] = guardLookup(dns[fn], false);
    if (typeof dns.promises[fn] === 'function') dns.promises[fn] = guardLookup(dns.promises[fn], true);
  }
  for (const R of [dns.Resolver, dns.promises.Resolver]) {
    for (const fn of ['resolve', 'resolve4', 'resolve6', 'resolveAny', 'resolveTxt', 'reverse']) {
      if (typeof R.prototype[fn] === 'function')
        R.prototype[fn] = guardLookup(R.prototype[fn], R === dns.promises.Resolver);
    }
  }

  // UDP (statsd-like exporters, hand-made DNS).
  const send = dgram.Socket.prototype.send;
  dgram.Socket.prototype.send = function (msg, ...rest) {
    const host = rest.find((a, i) => typeof a === 'string' && i > 0);
    if (host !== undefined && decide(host) === 'refuse') {
      record(
        'udp',
        host,
        rest.find((a) => typeof a === 'number'),
      );
      const cb = rest[rest.length - 1];
      if (typeof cb === 'function') process.nextTick(() => cb(refusal(host)));
      return;
    }
    return send.call(this, msg, ...rest);
  };
  const udpConnect = dgram.Socket.prototype.connect;
  dgram.Socket.prototype.connect = function (port, address, cb) {
    if (decide(address) === 'refuse') {
      record('udp', address, port);
      const done = typeof address === 'function' ? address : cb;
      if (typeof done === 'function') process.nextTick(() => done(refusal(address, port)));
      return;
    }
    return udpConnect.call(this, port, address, cb);
  };
}
