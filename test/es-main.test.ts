// `npm run es` (services/es/main.ts): the stand-in started alone on ES_HOST/ES_PORT answers as Elasticsearch and
// stops cleanly on SIGTERM.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

describe('npm run es', () => {
  it('listens where ES_HOST and ES_PORT say, answers GET /, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/es/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, ES_PORT: '0', ES_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolveUrl, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) resolveUrl(m[1]);
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code} before listening: ${out}`)));
      });
      const res = await fetch(`${url}/`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-elastic-product')).toBe('Elasticsearch');
      expect(((await res.json()) as { tagline: string }).tagline).toBe('You Know, for Search');
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
