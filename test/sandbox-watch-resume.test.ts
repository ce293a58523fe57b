// A client that resumes its watch from the last resourceVersion it saw loses and repeats nothing, however often
// the connection drops.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startTestSandbox, type TestSandbox } from './harness/sandbox.js';
import { configMap } from './harness/k8s.js';

let t: TestSandbox;
const ns = 'resume';
beforeAll(async () => {
  t = await startTestSandbox({ controllers: false, bookmarkIntervalMs: 100 });
  await t.core.createNamespace({ body: { metadata: { name: ns } } });
});
afterAll(async () => t?.close());

it('a watch resumed after 10 forced disconnects sees each of 1,000 changes exactly once, in order', async () => {
  const seen: string[] = [];
  let lastVersion = (await t.core.listNamespacedConfigMap({ namespace: ns })).metadata!.resourceVersion!;
  let reconnects = 0;
  let stopped = false;
  let current: AbortController | undefined;
  const failures: unknown[] = [];

  const watch = async (): Promise<void> => {
    current = await new k8s.Watch(t.kc).watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      { resourceVersion: lastVersion, allowWatchBookmarks: true },
      (type, obj: k8s.V1ConfigMap & { code?: number }) => {
        if (type === 'ERROR') {
          failures.push(obj);
          return;
        }
        lastVersion = obj.metadata!.resourceVersion!;
        if (type !== 'BOOKMARK') seen.push(`${type} ${obj.metadata!.name} ${obj.data?.n ?? ''}`);
      },
      () => {
        if (stopped) return;
        reconnects++;
        void watch();
      },
    );
  };
  await watch();

  const expected: string[] = [];
  const live = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const name = `obj-${i % 37}`;
    if (!live.has(name)) {
      await t.core.createNamespacedConfigMap({ namespace: ns, body: configMap(name, ns, {}, { n: String(i) }) });
      live.add(name);
      expected.push(`ADDED ${name} ${i}`);
    } else if (i % 5 === 0) {
      await t.core.deleteNamespacedConfigMap({ name, namespace: ns });
      live.delete(name);
      const last = expected
        .filter((e) => e.split(' ')[1] === name)
        .pop()!
        .split(' ')[2];
      expected.push(`DELETED ${name} ${last}`);
    } else {
      await t.core.replaceNamespacedConfigMap({ name, namespace: ns, body: configMap(name, ns, {}, { n: String(i) }) });
      expected.push(`MODIFIED ${name} ${i}`);
    }
    if (i % 100 === 50) {
      // Wait until the watch is connected again before cutting it, so every cut is a real disconnect.
      await eventually(() => t.sandbox.server.activeWatches() > 0, 5000, 'watch reconnect');
      t.sandbox.server.closeWatches();
    }
  }
  await eventually(() => seen.length >= expected.length, 15_000, 'all events');
  stopped = true;
  current?.abort();
  expect(failures).toEqual([]);
  expect(reconnects).toBeGreaterThanOrEqual(10);
  expect(seen).toEqual(expected);
});
