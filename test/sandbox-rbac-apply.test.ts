// Server-side apply under RBAC, with the real kubectl: an apply that creates the object is authorized as create as
// well as patch (the apiserver's patch handler asks the authorizer for create when the object does not exist), so a
// service account that may patch but not create can update what exists and is refused the rest, with the 403 the
// apiserver answers; the sandbox counts such an apply as both verbs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSandbox, type TestSandbox } from './harness/sandbox.js';

const NS = 'apply-rbac';
const SA = `system:serviceaccount:${NS}:deployer`;

let t: TestSandbox;
/** A Role of these verbs on configmaps, bound to the deployer service account. */
async function grantDeployer(role: string, verbs: string): Promise<void> {
  await t.kubectl(['create', 'role', role, '-n', NS, `--verb=${verbs}`, '--resource=configmaps']);
  await t.kubectl(['create', 'rolebinding', role, '-n', NS, `--role=${role}`, `--serviceaccount=${NS}:deployer`]);
}
beforeAll(async () => {
  t = await startTestSandbox({ speed: 20 });
  await t.kubectl(['create', 'namespace', NS]);
  await t.kubectl(['create', 'serviceaccount', 'deployer', '-n', NS]);
  await grantDeployer('patcher', 'get,patch');
  await t.kubectl(['create', 'configmap', 'existing', '-n', NS, '--from-literal=a=1']);
});
afterAll(async () => t?.close());

const manifest = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${NS}\ndata:\n  a: "${value}"\n`;
const apply = (name: string, value: string) =>
  t.kubectlResult(
    ['apply', '--server-side', '--field-manager=deployer', '--force-conflicts', '-f', '-', `--as=${SA}`],
    {
      input: manifest(name, value),
    },
  );
const exists = async (name: string) => (await t.kubectlResult(['get', 'configmap', name, '-n', NS])).code === 0;

describe('server-side apply that creates needs create', () => {
  it('with patch alone: an existing object is applied, a new one is Forbidden and not created', async () => {
    const updated = await apply('existing', '2');
    expect(updated.code, updated.stderr).toBe(0);
    expect(await t.kubectl(['get', 'configmap', 'existing', '-n', NS, '-o', 'jsonpath={.data.a}'])).toBe('2');

    const before = t.sandbox.server.requestCounts();
    const refused = await apply('fresh', '1');
    expect(refused.code).toBe(1);
    // The patch handler's own check: the resource, the name and RBAC's (empty) reason, not the request filter's text.
    expect(refused.stderr).toContain('Error from server (Forbidden): configmaps "fresh" is forbidden: ');
    expect(refused.stderr).not.toContain('cannot patch');
    expect(await exists('fresh')).toBe(false);
    const counts = t.sandbox.server.requestCounts(before);
    expect(counts['patch configmaps']).toBe(1);
    expect(counts['create configmaps']).toBe(1);
    const can = await t.kubectlResult(['auth', 'can-i', 'create', 'configmaps', '-n', NS, `--as=${SA}`]);
    expect(can.stdout.trim()).toBe('no');
  });

  it('without patch: refused by the request check, as patch', async () => {
    const other = await t.kubectlResult(
      ['apply', '--server-side', '-f', '-', `--as=system:serviceaccount:${NS}:nobody`],
      { input: manifest('existing', '3') },
    );
    expect(other.code).toBe(1);
    expect(other.stderr).toContain(
      `configmaps "existing" is forbidden: User "system:serviceaccount:${NS}:nobody" cannot patch resource "configmaps" in API group "" in the namespace "${NS}"`,
    );
  });

  it('with create granted too: the apply creates the object, counted as patch and create', async () => {
    await grantDeployer('creator', 'create');
    const before = t.sandbox.server.requestCounts();
    const created = await apply('fresh', '1');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('configmap/fresh serverside-applied');
    expect(await t.kubectl(['get', 'configmap', 'fresh', '-n', NS, '-o', 'jsonpath={.data.a}'])).toBe('1');
    expect(t.sandbox.server.requestCounts(before)).toMatchObject({ 'patch configmaps': 1, 'create configmaps': 1 });
    // Applying it again updates what now exists: a patch only.
    const again = t.sandbox.server.requestCounts();
    expect((await apply('fresh', '2')).code).toBe(0);
    const counts = t.sandbox.server.requestCounts(again);
    expect(counts['patch configmaps']).toBe(1);
    expect(counts['create configmaps']).toBeUndefined();
  });
});
