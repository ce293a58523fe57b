// What the workloads caches keep of an object (services/workloads/clients/compact.ts): every field as it came but
// metadata.managedFields, with equal strings shared through a bounded table.
import { describe, expect, it } from 'vitest';
import { compactObject, StringTable } from '../services/workloads/clients/compact.js';
import type { StoredObject } from '../services/common/k8s/object.js';

/** A pod as JSON.parse gives it: each string its own copy (built at run time, so not one literal shared by both). */
const parsedPod = (name: string, withManagedFields = false): StoredObject =>
  JSON.parse(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: 'shop',
        uid: `uid-${name}`,
        resourceVersion: '42',
        labels: { app: 'web', tier: 'frontend' },
        annotations: { note: 'x'.repeat(300) },
        ...(withManagedFields
          ? { managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': {} } }] }
          : {}),
      },
      spec: {
        nodeName: 'node-1',
        containers: [{ name: 'web', image: 'nginx:1.27', args: ['--port', '8080'], ports: [{ containerPort: 80 }] }],
        tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', tolerationSeconds: 300 }],
      },
      status: { phase: 'Running', podIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
    }),
  ) as StoredObject;

describe('compactObject', () => {
  it('keeps every field but managedFields, values unchanged', () => {
    const plain = parsedPod('a');
    expect(compactObject(parsedPod('a'), new StringTable())).toEqual(plain);
    const { managedFields: _m, ...metadata } = parsedPod('b', true).metadata;
    expect(compactObject(parsedPod('b', true), new StringTable())).toEqual({ ...parsedPod('b'), metadata });
    expect(compactObject(parsedPod('b', true), new StringTable()).metadata).not.toHaveProperty('managedFields');
  });

  it('makes equal strings of two objects one string, and leaves names, uids and long strings alone', () => {
    const table = new StringTable();
    const a = compactObject(parsedPod('web-1'), table);
    const b = compactObject(parsedPod('web-2'), table);
    // Strings compare by value in JavaScript; the table tells which ones the objects' copies were replaced by: those
    // it already holds (interning them again adds nothing), and not the object's own values.
    for (const s of ['shop', 'web', 'frontend', 'nginx:1.27', 'node-1', 'Exists', 'Running', 'Ready', '--port']) {
      const n = table.size;
      table.intern(s);
      expect(table.size, s).toBe(n);
    }
    for (const s of ['web-1', 'web-2', 'uid-web-1', '10.0.0.1', '42', 'x'.repeat(300)]) {
      const n = table.size;
      table.intern(s);
      expect(table.size, s).toBe(n + 1);
    }
    expect(b).toEqual({ ...a, metadata: { ...a.metadata, name: 'web-2', uid: 'uid-web-2' } });
  });

  it('forgets strings not seen again within two generations', () => {
    const table = new StringTable(4);
    for (const s of ['a', 'b', 'c', 'd']) table.intern(s);
    expect(table.size).toBe(4);
    // The young generation is full: the next string starts a new one, and the four become the old one.
    table.intern('e');
    expect(table.size).toBe(5);
    table.intern('a'); // moved to the young generation
    for (const s of ['f', 'g']) table.intern(s);
    // The young one (e, a, f, g) is full again: b, c, d are dropped with the old one; a stays.
    table.intern('h');
    expect(table.size).toBe(5);
    const before = table.size;
    table.intern('a');
    expect(table.size).toBe(before);
  });
});
