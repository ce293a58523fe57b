// IndexedCache (services/workloads/clients/indexed-cache.ts), the informer cache every workloads read is served from,
// through its lister-style read API: objects by namespace/name, secondary indexes whose buckets follow updates and
// deletes, the counters and change logs derived data is invalidated by, the highest resourceVersion seen, and waiting
// for a condition (fake timers, no timing asserts).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IndexedCache } from '../services/workloads/clients/indexed-cache.js';
import type { StoredObject } from '../services/common/k8s/object.js';

const pod = (
  namespace: string | undefined,
  name: string,
  labels: Record<string, string> = {},
  rv = '1',
  node?: string,
): StoredObject => ({
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

const keys = (c: IndexedCache, index: string, value: string) => c.indexKeys(index, value).sort();

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
    expect(c.indexValues('node')).toEqual(['n2']);
    expect(c.indexValues('namespace')).toEqual(['a']);
  });

  it('answers an empty bucket for an unknown value, and throws for an unknown index', () => {
    const c = newCache();
    expect(c.indexKeys('node', 'nowhere')).toEqual([]);
    expect(c.byIndex('node', 'nowhere')).toEqual([]);
    expect(c.indexState('node', 'nowhere').size).toBe(0);
    expect(c.inIndex('node', 'nowhere', 'a/web')).toBe(false);
    expect(() => c.indexKeys('color', 'red')).toThrow('no index color on Pod');
    expect(() => c.byIndex('color', 'red')).toThrow('no index color on Pod');
    expect(() => c.indexState('color', 'red')).toThrow('no index color on Pod');
  });

  it('reads like a lister: by key, every object, by index; what it returns is a copy', () => {
    const c = newCache();
    c.upsert(pod('a', 'web', { app: 'web' }, '1', 'n1'));
    c.upsert(pod('a', 'db', { app: 'db' }, '2', 'n1'));
    c.upsert(pod(undefined, 'cluster-wide', { app: 'web' }, '3'));
    expect(c.getByKey('a/web')?.metadata.name).toBe('web');
    expect(c.getByKey('cluster-wide')).toBe(c.get(undefined, 'cluster-wide'));
    expect(c.getByKey('web')).toBeUndefined();
    expect(
      c
        .list()
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['cluster-wide', 'db', 'web']);
    expect(
      c
        .byIndex('label', 'app=web')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['cluster-wide', 'web']);
    expect(
      c
        .byIndex('node', 'n1')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['db', 'web']);
    expect(c.inIndex('node', 'n1', 'a/db')).toBe(true);
    expect(c.inIndex('node', 'n1', 'cluster-wide')).toBe(false);
    // Changing what was returned changes nothing in the cache.
    c.list().length = 0;
    c.byIndex('node', 'n1').pop();
    c.indexKeys('node', 'n1').push('a/forged');
    c.indexValues('node').push('n9');
    const state = c.indexState('node', 'n1');
    state.size = 0;
    expect(c.size).toBe(3);
    expect(keys(c, 'node', 'n1')).toEqual(['a/db', 'a/web']);
    expect(c.indexValues('node')).toEqual(['n1']);
    expect(c.indexState('node', 'n1').size).toBe(2);
  });

  it('counts changes: members on membership changes, content on any change of a member', () => {
    const c = newCache();
    c.upsert(pod('a', 'web', { app: 'web' }, '1'));
    const v0 = c.version;
    const b0 = c.indexState('label', 'app=web');
    c.upsert(pod('a', 'web', { app: 'web' }, '2')); // same bucket: content changes, membership does not
    const b1 = c.indexState('label', 'app=web'); // states are copies: b0 stays as it was
    expect(c.version).toBe(v0 + 1);
    expect(b1.members).toBe(b0.members);
    expect(b1.content).toBeGreaterThan(b0.content);
    expect(c.indexChangesSince('label', 'app=web', b1.members)).toEqual([]);
    c.upsert(pod('a', 'db', { app: 'web' }, '3')); // a new member
    const b2 = c.indexState('label', 'app=web');
    expect(b2.members).toBeGreaterThan(b1.content);
    expect(c.indexChangesSince('label', 'app=web', b2.logFrom)).toEqual(['a/web', 'a/db']);
    expect(c.indexChangesSince('label', 'app=web', b1.members)).toEqual(['a/db']);
    c.delete(pod('a', 'missing')); // nothing to delete: no change
    expect(c.version).toBe(v0 + 2);
  });

  it('says when a bucket was dropped since: no changes to replay from an emptied and re-created one', () => {
    const c = newCache();
    c.upsert(pod('a', 'web', { app: 'web' }, '1'));
    const before = c.indexState('label', 'app=web');
    c.delete(pod('a', 'web', { app: 'web' }, '2'));
    expect(c.indexChangesSince('label', 'app=web', before.members)).toBeUndefined();
    c.upsert(pod('a', 'web', { app: 'web' }, '3'));
    expect(c.indexChangesSince('label', 'app=web', before.members)).toBeUndefined();
  });

  it('keeps a bounded log of membership changes, and says from where it is complete', () => {
    const c = newCache();
    for (let i = 0; i < 4097; i++) c.upsert(pod('a', `p${i}`, { app: 'many' }, String(i + 1)));
    const b = c.indexState('label', 'app=many');
    expect(b.size).toBe(4097);
    const log = c.indexChangesSince('label', 'app=many', b.logFrom)!;
    expect(log.length).toBe(4097 - 2048);
    expect(log[0]).toBe('a/p2048');
    expect(c.indexChangesSince('label', 'app=many', b.logFrom - 1)).toBeUndefined();
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
