// The container image's HEALTHCHECK: GET /healthz (or /readyz with --ready) of the kubegraph service that a process
// runs (PID 1 in the container, or --pid N), on the port and address that process was configured with. One image
// runs every service, so the service is read from the process's command line (dist/gateway/main.js,
// dist/services/<name>/main.js) and its <NAME>_PORT / <NAME>_HOST from the process's environment, with the defaults
// of the README's configuration table (gateway 4000, subgraphs as gateway/subgraphs.ts routes to them).
// Exit 0 when it answers 200, 1 otherwise (Docker's healthy / unhealthy).
/* global fetch, AbortSignal -- Node 20+ globals */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const pidArg = args.indexOf('--pid');
const pid = pidArg >= 0 ? args[pidArg + 1] : '1';
const path = args.includes('--ready') ? '/readyz' : '/healthz';

/** NUL-separated /proc files (cmdline, environ). */
const procList = (file) =>
  readFileSync(`/proc/${pid}/${file}`, 'utf8')
    .split('\0')
    .filter((s) => s !== '');

function fail(message) {
  console.error(`healthcheck: ${message}`);
  process.exit(1);
}

async function main() {
  const argv = procList('cmdline');
  const env = Object.fromEntries(
    procList('environ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  const script = argv.find((a) => /(^|\/)dist\/(gateway|services\/[a-z]+)\/main\.js$/.test(a));
  if (!script) return fail(`process ${pid} runs no kubegraph service (${argv.join(' ')})`);
  const name = script.split('/').at(-2);

  let defaultPort = 4000;
  if (name !== 'gateway') {
    // The routing defaults of the built gateway (dist/gateway/subgraphs.js in the image's /app, beside deploy/).
    const appRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
    const { SUBGRAPHS } = await import(pathToFileURL(join(appRoot, 'dist/gateway/subgraphs.js')).href);
    const route = SUBGRAPHS[name];
    if (!route) return fail(`unknown service ${name}`);
    defaultPort = Number(new URL(route.url).port);
  }
  const prefix = name.toUpperCase();
  const port = Number(env[`${prefix}_PORT`] || defaultPort);
  const bound = env[`${prefix}_HOST`] || '127.0.0.1';
  // A wildcard address is reached on loopback; a specific one on itself.
  const host = bound === '0.0.0.0' || bound === '::' ? '127.0.0.1' : bound.includes(':') ? `[${bound}]` : bound;
  const res = await fetch(`http://${host}:${port}${path}`, { signal: AbortSignal.timeout(2500) });
  await res.arrayBuffer();
  if (res.status !== 200) return fail(`${name} ${path} answered ${res.status}`);
}

main().catch((e) => fail(e instanceof Error ? e.message : String(e)));
