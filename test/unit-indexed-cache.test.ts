// IndexedCache (services/workloads/clients/kube.ts), the informer cache every workloads read is served from:
// objects by namespace/name, secondary indexes whose buckets follow updates and deletes, the counters derived data is
// invalidated by, the highest resourceVersion seen, and waiting for a condition (fake timers, no timing asserts).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IndexedCache, type KubeObject } from '../services/workloads/clients/kube.js';

const pod = (
  namespace: string | undefined,
  name: string,
  labels: Record<string, string> = {},
  rv = '1',
  node?: string,
): KubeObject => ({
  metadata: { name, ...(namespace ? { namespace } : {}), labels, resourceVersion: rv },
  ...(node ? { spec: { nodeName: node } } : {}),
});

const newCache = () =>
  new IndexedCache('Pod', {
    namespace: (o) => (o.metadata.namespace ? [o.metadata.namespace] : []),
    label: (o) => Object.entries(o.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`),
    node: (o) => (o.spec?.nodeName ? [o.spec.nodeName as string] : []),
    twice: (o) => [o.metadata.name, o.metadata.name], // duplicates are indexed once
  });

const keys = (c: IndexedCache, index: string, value: string) => [...c.bucket(index, value).keys].sort();

afterEach(() => vi.useRealTimers());

describe('IndexedCache', () => {
  it('keys objects by namespace/name, or name alone when cluster-scoped', () => {
    const c = newCache();
    c.upsert(pod('a', 'web'));
    c.upsert(pod(undefined, 'node-1'));
    expect(c.size).toBe(2);
    expect(c.get('a', 'web')?.metadata.name).toBe('web');
    expect(c.get(undefined, 'node-1')?.metadata.name).toBe('node-1');
    expect(c.get('b', 'web')).toBeUndefined();
    expect(keys(c, 'all', '')).toEqual(['a/web', 'node-1']);
  });

  it.each<[string, (c: IndexedCache) => void, Record<string, string[]>]>([
    [
      'an insert indexes under each value',
      (c) => c.upsert(pod('a', 'web', { app: 'web', tier: 'front' }, '1', 'n1')),
      {
        'namespace=a': ['a/web'],
        'label=app=web': ['a/web'],
        'label=tier=front': ['a/web'],
        'node=n1': ['a/web'],
        'twice=web': ['a/web'],
      },
    ],
    [
      'an update moves the key between buckets and drops empty ones',
      (c) => {
        c.upsert(pod('a', 'web', { app: 'web', tier: 'front' }, '1', 'n1'));
        c.upsert(pod('a', 'web', { app: 'web', tier: 'back' }, '2', 'n2'));
      },
      {
        'label=app=web': ['a/web'],
        'label=tier=front': [],
        'label=tier=back': ['a/web'],
        'node=n1': [],
        'node=n2': ['a/web'],
      },
    ],
    [
      'a delete removes the key everywhere',
      (c) => {
        c.upsert(pod('a', 'web', { app: 'web' }, '1', 'n1'));
        c.upsert(pod('a', 'db', { app: 'db' }, '2', 'n1'));
        c.delete(pod('a', 'web', { app: 'web' }, '3'));
      },
      { 'all=': ['a/db'], 'namespace=a': ['a/db'], 'label=app=web': [], 'node=n1': ['a/db'] },
    ],
    [
      'the same name in two namespaces is two objects',
      (c) => {
        c.upsert(pod('a', 'web', { app: 'web' }));
        c.upsert(pod('b', 'web', { app: 'web' }));
      },
      { 'label=app=web': ['a/web', 'b/web'], 'namespace=a': ['a/web'], 'namespace=b': ['b/web'] },
    ],
  ])('%s', (_what, act, want) => {
    const c = newCache();
    act(c);
    for (const [at, expected] of Object.entries(want)) {
      const [index, ...value] = at.split('=');
      expect(keys(c, index, value.join('=')), at).toEqual(expected);
    }
  });

  it('lists the values an index holds, without emptied buckets', () => {
    const c = newCache();
    c.upsert(pod('a', 'x', {}, '1', 'n1'));
    c.upsert(pod('a', 'y', {}, '2', 'n2'));
    c.delete(pod('a', 'x'));
    expect(c.bucketValues('node')).toEqual(['n2']);
    expect(c.bucketValues('namespace')).toEqual(['a']);
  });

  it('answers an empty bucket for an unknown value, and throws for an unknown index', () => {
    const c = newCache();
    expect(c.bucket('node', 'nowhere').keys.size).toBe(0);
    expect(() => c.bucket('color', 'red')).toThrow('no index color on Pod');
  });

  it('counts changes: members on membership changes, content on any change of a member', () => {
    const c = newCache();
    c.upsert(pod('a', 'web', { app: 'web' }, '1'));
    const v0 = c.version;
    const b0 = { ...c.bucket('label', 'app=web') };
    c.upsert(pod('a', 'web', { app: 'web' }, '2')); // same bucket: content changes, membership does not
    const b1 = { ...c.bucket('label', 'app=web') }; // buckets are live: compare snapshots
    expect(c.version).toBe(v0 + 1);
    expect(b1.members).toBe(b0.members);
    expect(b1.content).toBeGreaterThan(b0.content);
    c.upsert(pod('a', 'db', { app: 'web' }, '3')); // a new member
    const b2 = c.bucket('label', 'app=web');
    expect(b2.members).toBeGreaterThan(b1.content);
    expect(b2.log.map((e) => e.key)).toEqual(['a/web', 'a/db']);
    c.delete(pod('a', 'missing')); // nothing to delete: no change
    expect(c.version).toBe(v0 + 2);
  });

  it('keeps a bounded log of membership changes, and says from where it is complete', () => {
    const c = newCache();
    for (let i = 0; i < 4097; i++) c.upsert(pod('a', `p${i}`, { app: 'many' }, String(i + 1)));
    const b = c.bucket('label', 'app=many');
    expect(b.keys.size).toBe(4097);
    expect(b.log.length).toBe(4097 - 2048);
    expect(b.log[0].key).toBe('a/p2048');
    expect(b.logFrom).toBeLessThan(b.log[0].seq);
  });

  it.each<[string[], string]>([
    [['1', '2', '3'], '3'],
    [['9', '10'], '10'], // numerically
    [['10', '8'], '10'], // an older event does not move it back
    [['5', '', '4'], '5'],
    [['abc'], 'abc'], // opaque: taken as it comes
  ])('lastResourceVersion after %j is %j', (rvs, want) => {
    const c = newCache();
    rvs.forEach((rv, i) => c.upsert(pod('a', `p${i}`, {}, rv)));
    expect(c.lastResourceVersion).toBe(want);
  });

  it('waitFor resolves true at once, when a change makes the check hold, or false at the timeout', async () => {
    vi.useFakeTimers();
    const c = newCache();
    await expect(c.waitFor(() => true, 1000)).resolves.toBe(true);
    const seen = c.waitFor(() => c.get('a', 'late') !== undefined, 1000);
    c.upsert(pod('a', 'other'));
    c.upsert(pod('a', 'late'));
    await expect(seen).resolves.toBe(true);
    const never = c.waitFor(() => false, 1000);
    vi.advanceTimersByTime(1000);
    await expect(never).resolves.toBe(false);
  });
});
