// The kubegraph Helm chart through the real helm binary (.tools/bin/helm), for test/deploy-chart*.test.ts.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './deploy.js';
import { TOOLS_BIN } from './sandbox.js';

export const CHART = join(ROOT, 'charts/kubegraph');
const run = promisify(execFile);

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
}

export type Helm = (args: string[]) => Promise<string>;

/** helm with its caches and configuration under `home`; rejects with helm's stderr. */
export function helmIn(home: string): Helm {
  const env = {
    ...process.env,
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
  return async (args) => {
    try {
      const { stdout } = await run(join(TOOLS_BIN, 'helm'), args, { env, maxBuffer: 64 * 1024 * 1024 });
      return stdout;
    } catch (e) {
      // helm lint reports what failed on stdout and only the count on stderr.
      const err = e as { stdout?: string; stderr?: string; message: string };
      throw new Error(`helm ${args.join(' ')} failed: ${err.stdout ?? ''}${err.stderr || err.message}`, { cause: e });
    }
  };
}

export interface RenderedChart {
  objects: K8sObject[];
  ofKind<T extends K8sObject = K8sObject>(kind: string): T[];
}

/** `helm template kg charts/kubegraph -n kubegraph <args>`, parsed. */
export async function renderChart(helm: Helm, args: string[]): Promise<RenderedChart> {
  const out = await helm(['template', 'kg', CHART, '-n', 'kubegraph', ...args]);
  const objects = parseAllDocuments(out)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
  return { objects, ofKind: <T extends K8sObject>(kind: string) => objects.filter((o) => o.kind === kind) as T[] };
}
