// The official Python `kubernetes` client (Debian's python3-kubernetes) against the sandbox: a second real client
// besides client-node and kubectl. It lists, creates, patches, watches (it sends `watch=True`, which the apiserver
// reads as true) resuming from a list's resourceVersion, and reads a pod's log.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSandbox, type TestSandbox } from './harness/sandbox.js';

const run = promisify(execFile);
const SCRIPT = resolve(import.meta.dirname, 'harness/python-client.py');
// Debian's interpreter, where python3-kubernetes is installed (not whatever `python3` is first on PATH).
const PYTHON = '/usr/bin/python3';

let t: TestSandbox;
beforeAll(async () => {
  t = await startTestSandbox({ speed: 20 });
});
afterAll(async () => t?.close());

interface PythonReport {
  created: { name: string; uid: string; data: Record<string, string> };
  patched: { data: Record<string, string>; resourceVersion: string };
  listed: string[];
  listKind: string;
  watched: [string, string][];
  podPhase: string;
  log: string;
}

describe('the Python kubernetes client', () => {
  it('lists, creates, patches, watches from a resourceVersion and reads logs', async () => {
    const { stdout } = await run(PYTHON, [SCRIPT, t.kubeconfigPath, 'py', 'echo'], {
      timeout: 90_000,
      env: { ...process.env, HOME: process.env.HOME ?? '/tmp' },
    });
    const report = JSON.parse(stdout) as PythonReport;

    const stored = await t.core.readNamespacedConfigMap({ name: 'settings', namespace: 'py' });
    expect(report.created).toEqual({ name: 'settings', uid: stored.metadata?.uid, data: { colour: 'blue' } });
    expect(report.patched.data).toEqual({ colour: 'blue', size: 'large' });
    expect(stored.data).toEqual({ colour: 'blue', size: 'large' });
    expect(report.listKind).toBe('V1ConfigMapList');
    expect(report.listed).toEqual(['settings']);
    // Exactly the changes after the list, in order: nothing from before it, nothing missed.
    expect(report.watched).toEqual([
      ['ADDED', 'later-0'],
      ['ADDED', 'later-1'],
      ['ADDED', 'later-2'],
      ['DELETED', 'later-0'],
    ]);
    expect(report.podPhase).toMatch(/^(Running|Succeeded)$/);
    expect(report.log).toBe('python says hi\nsecond line\n');
  });
});
