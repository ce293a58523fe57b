// The last batch of spans on a stop signal (issue 18 §5, services/common/tracing.ts flushOnStopSignals): a service run
// alone with the tracing preload (the Elasticsearch stand-in, services/es/main.ts, the lightest runService entry
// point), its batch delay far longer than the test so that nothing is exported on the timer, gets one request and at
// once SIGTERM: the request's span must reach the receiver before the process exits, and the exit stays 0. With a
// receiver that never answers, the process still exits (the flush is bounded, not the exporter's long timeout).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver } from './harness/otlp-receiver.js';
import { eventually } from './harness/sandbox.js';

const ROOT = resolve(import.meta.dirname, '..');

function startService(endpoint: string): { child: ChildProcess; output: () => string } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('OTEL_') || k.startsWith('VITEST')) delete env[k];
  let output = '';
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', './services/common/tracing.ts', 'services/es/main.ts'],
    {
      cwd: ROOT,
      env: {
        ...env,
        ES_PORT: '0',
        ES_HOST: '127.0.0.1',
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        // No export on the timer while the test runs: only the flush on the signal can deliver the spans.
        OTEL_BSP_SCHEDULE_DELAY: '600000',
        // An export that hangs would hold the process this long if the flush were not bounded.
        OTEL_EXPORTER_OTLP_TIMEOUT: '300000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (output += c));
  return { child, output: () => output };
}

async function listeningUrl(service: { output: () => string }): Promise<string> {
  return eventually(
    () => /Elasticsearch stand-in listening on (\S+)/.exec(service.output())?.[1],
    60_000,
    'the stand-in to start',
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${service.output().slice(-3000)}`);
  });
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
}

describe('tracing: spans are flushed on SIGTERM', () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("a request's span, sent right before SIGTERM, reaches the receiver before the process exits", async () => {
    const receiver: OtlpReceiver = await startOtlpReceiver();
    cleanups.push(() => receiver.close());
    const service = startService(receiver.endpoint);
    cleanups.push(() => void (service.child.exitCode === null && service.child.kill('SIGKILL')));
    const url = await listeningUrl(service);

    const index = `shutdown-marker-${randomBytes(4).toString('hex')}`;
    const res = await fetch(`${url}/${index}/_count`);
    await res.arrayBuffer();
    const exited = exitOf(service.child);
    service.child.kill('SIGTERM');
    const { code, signal } = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });

    // Already there when the process is gone: nothing is left to send it later.
    const span = receiver.spans.find((s) => s.kind === 2 && JSON.stringify(s.attributes).includes(`/${index}/_count`));
    expect(span, JSON.stringify(receiver.spans.map((s) => [s.name, s.attributes]))).toBeDefined();
    expect(span!.service).toBe('kubegraph-es');
  }, 90_000);

  it('with a receiver that never answers, SIGTERM still ends the process (the flush is bounded)', async () => {
    const held: import('node:http').ServerResponse[] = [];
    let posts = 0;
    const silent: Server = createServer((req, res) => {
      posts++;
      held.push(res);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const res of held) res.destroy();
          silent.close(() => r());
        }),
    );
    const service = startService(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`);
    cleanups.push(() => void (service.child.exitCode === null && service.child.kill('SIGKILL')));
    const url = await listeningUrl(service);
    await (await fetch(`${url}/`)).arrayBuffer();

    const exited = exitOf(service.child);
    service.child.kill('SIGTERM');
    // Not the exporter's 300 s timeout: the process must be gone long before the test's own limit.
    const { code, signal } = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    // The flush was attempted (the receiver got the export and held it).
    expect(posts).toBeGreaterThan(0);
  }, 60_000);
});
