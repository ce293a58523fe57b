// How the apps subgraph runs helm (issue 16 §2): HELM_BIN is a wrapper that records what the real helm would be given
// (its arguments, its environment's names, the kubeconfig file's mode, the folder it runs in) and then runs it. An
// install with values through the gateway must pass the values only in a file, the kubeconfig in a file of mode 0600
// inside a private folder that is gone afterwards, and nothing of the service's environment but what helm needs.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildChartRepo,
  HELM_BIN,
  serveChartRepo,
  type BuiltChartRepo,
  type ChartRepoServer,
} from './harness/charts.js';
import { startTestStack, type TestStack } from './harness/stack.js';

let stack: TestStack;
let repo: BuiltChartRepo;
let served: ChartRepoServer;
let dir: string;
let record: string;
const MARKER = 'values-marker-7f3a9c';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kubegraph-helm-wrapper-'));
  record = join(dir, 'calls.log');
  const wrapper = join(dir, 'helm');
  // One line per fact, NUL-free: ARG <arg>, ENV <name>, MODE <octal>, PWD <dir>.
  writeFileSync(
    wrapper,
    [
      '#!/bin/sh',
      `log=${JSON.stringify(record)}`,
      'echo "CALL" >> "$log"',
      'for a in "$@"; do printf "ARG %s\\n" "$a" >> "$log"; done',
      'env | sed -n "s/^\\([A-Za-z_][A-Za-z0-9_]*\\)=.*/ENV \\1/p" >> "$log"',
      'printf "MODE %s\\n" "$(stat -c %a "$KUBECONFIG")" >> "$log"',
      'printf "DIRMODE %s\\n" "$(stat -c %a "$(dirname "$KUBECONFIG")")" >> "$log"',
      'printf "PWD %s\\n" "$PWD" >> "$log"',
      `exec ${JSON.stringify(HELM_BIN)} "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(wrapper, 0o755);
  [stack, repo] = await Promise.all([startTestStack({ apps: { helmBin: wrapper } }), buildChartRepo()]);
  served = await serveChartRepo(repo.dir);
  const added = await stack.gql(
    'mutation($u: String!) { addHelmRepository(input: { name: "charts", url: $u }) { name } }',
    {
      u: served.url,
    },
  );
  expect(added.errors).toBeUndefined();
}, 120_000);
afterAll(async () => {
  await served?.close();
  repo?.cleanup();
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Call {
  args: string[];
  env: string[];
  mode: string;
  dirMode: string;
  pwd: string;
}

function calls(): Call[] {
  const out: Call[] = [];
  for (const line of readFileSync(record, 'utf8').split('\n')) {
    if (line === 'CALL') out.push({ args: [], env: [], mode: '', dirMode: '', pwd: '' });
    const c = out[out.length - 1];
    const [tag, ...rest] = line.split(' ');
    const value = rest.join(' ');
    if (tag === 'ARG') c.args.push(value);
    else if (tag === 'ENV') c.env.push(value);
    else if (tag === 'MODE') c.mode = value;
    else if (tag === 'DIRMODE') c.dirMode = value;
    else if (tag === 'PWD') c.pwd = value;
  }
  return out;
}

describe('helm as the apps subgraph runs it', () => {
  it('gets values and the kubeconfig as private files, a minimal environment, and a folder removed after', async () => {
    const r = await stack.gql<{ installRelease: { id: string } }>(
      `mutation($v: String!) { installRelease(namespace: "shop", name: "wrapped", repository: "charts", chart: "webapp",
        version: "0.1.0", values: $v) { id } }`,
      { v: `podAnnotations:\n  note: ${MARKER}\n` },
    );
    expect(r.errors).toBeUndefined();
    const ws = createClient({
      url: stack.gateway.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${stack.adminToken}` },
    });
    const state = await new Promise<string>((resolve, reject) => {
      ws.subscribe<{ helmOperation: { state: string } }>(
        {
          query: 'subscription($id: ID!) { helmOperation(id: $id) { state } }',
          variables: { id: r.data!.installRelease.id },
        },
        {
          next: (e) =>
            e.errors
              ? reject(new Error(JSON.stringify(e.errors)))
              : e.data!.helmOperation.state !== 'RUNNING' && resolve(e.data!.helmOperation.state),
          error: reject,
          complete: () => {},
        },
      );
    });
    await ws.dispose();
    expect(state).toBe('SUCCEEDED');

    const made = calls();
    // The render (dry run) and the install itself, with the same files.
    expect(made.map((c) => c.args.slice(0, 2))).toEqual([
      ['install', 'wrapped'],
      ['install', 'wrapped'],
    ]);
    expect(made[0].args).toContain('--dry-run=server');
    for (const c of made) {
      expect(c.args.join(' ')).not.toContain(MARKER);
      expect(c.args).not.toContain('--set');
      const values = c.args[c.args.indexOf('--values') + 1];
      expect(values).toBe(join(c.pwd, 'values.json'));
      expect(c.args[2]).toBe(join(c.pwd, 'chart.tgz'));
      expect(c.mode).toBe('600');
      expect(c.dirMode).toBe('700');
      expect(c.pwd.startsWith(tmpdir())).toBe(true);
      // Nothing of the service's own environment (proxies, KUBECONFIG, credentials): only what helm needs.
      const allowed = new Set([
        'PATH',
        'HOME',
        'XDG_CACHE_HOME',
        'XDG_CONFIG_HOME',
        'XDG_DATA_HOME',
        'HELM_CACHE_HOME',
        'HELM_CONFIG_HOME',
        'HELM_DATA_HOME',
        'HELM_PLUGINS',
        'KUBECONFIG',
        'KUBECACHEDIR',
        'NO_PROXY',
        'no_proxy',
        'PWD',
        'SHLVL',
        'OLDPWD',
        '_',
      ]);
      expect(c.env.filter((name) => !allowed.has(name))).toEqual([]);
      // The call's folder (kubeconfig, chart, values) is removed once helm is done.
      expect(existsSync(c.pwd)).toBe(false);
    }
    // The values did reach the release: through the file.
    const values = JSON.parse(await stack.cluster.helm(['get', 'values', 'wrapped', '-n', 'shop', '-o', 'json']));
    expect(values).toEqual({ podAnnotations: { note: MARKER } });
  });
});
