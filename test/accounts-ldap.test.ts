// LDAP logins against a real OpenLDAP (slapd, started by test/harness/ldap.ts): bind and search with a service
// account, attribute mapping, the user created on first login; wrong passwords and an unreachable directory.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startTestAccounts, type TestAccounts } from './harness/accounts.js';
import { startTestLdap, type TestLdap } from './harness/ldap.js';

const LOGIN = `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken user { username email displayName provider platformRole state } } }`;

let ldap: TestLdap;
let a: TestAccounts;

beforeAll(async () => {
  ldap = await startTestLdap([
    { uid: 'lara', password: 'lara-ldap-pw', cn: 'Lara Croft', mail: 'lara@example.org' },
    { uid: 'nomail', password: 'nomail-ldap-pw', cn: 'No Mail' },
    { uid: 'admin', password: 'ldap-admin-pw', cn: 'Directory Admin' },
  ]);
  a = await startTestAccounts('postgres', {
    ldap: {
      url: ldap.url,
      bindDn: ldap.bindDn,
      bindPassword: ldap.bindPassword,
      userBaseDn: ldap.userBaseDn,
      userFilter: '(objectClass=inetOrgPerson)',
      usernameAttribute: 'uid',
      emailAttribute: 'mail',
      displayNameAttribute: 'cn',
      startTls: false,
      timeoutMs: 2000,
    },
  });
});
afterAll(async () => {
  await a?.close();
  await ldap?.stop();
});

describe('LDAP identity provider', () => {
  it('creates the user on the first successful login, with the mapped attributes', async () => {
    const admin = (await a.login('admin', ADMIN_PASSWORD)).accessToken;
    expect((await a.gql(`{ user(username: "lara") { username } }`, {}, admin)).data).toEqual({ user: null });
    const r = await a.gql<{ login: { accessToken: string; user: Record<string, unknown> } }>(LOGIN, {
      u: 'lara',
      p: 'lara-ldap-pw',
    });
    expect(r.errors).toBeUndefined();
    expect(r.data!.login.user).toEqual({
      username: 'lara',
      email: 'lara@example.org',
      displayName: 'Lara Croft',
      provider: 'ldap',
      platformRole: 'platform-regular',
      state: 'ACTIVE',
    });
    expect((await a.gql(`{ me { username provider } }`, {}, r.data!.login.accessToken)).data).toEqual({
      me: { username: 'lara', provider: 'ldap' },
    });
    // The second login finds the stored user and asks LDAP again.
    expect((await a.gql(LOGIN, { u: 'lara', p: 'lara-ldap-pw' })).errors).toBeUndefined();
    const recs = await a.gql<{ user: { loginRecords: { success: boolean; provider: string }[] } }>(
      `{ user(username: "lara") { loginRecords { success provider } } }`,
      {},
      admin,
    );
    expect(recs.data!.user.loginRecords).toEqual([
      { success: true, provider: 'ldap' },
      { success: true, provider: 'ldap' },
    ]);
    // Platform admins manage LDAP users like the others (workspaces, roles); their password is LDAP's.
    expect(
      (await a.gql(`mutation { resetPassword(username: "lara", newPassword: "local-password") }`, {}, admin))
        .errors?.[0].extensions?.code,
    ).toBe('BAD_USER_INPUT');
    const nomail = await a.gql<{ login: { user: { email: string | null; displayName: string } } }>(LOGIN, {
      u: 'nomail',
      p: 'nomail-ldap-pw',
    });
    expect(nomail.data!.login.user).toMatchObject({ email: null, displayName: 'No Mail' });
  });

  it('refuses wrong LDAP passwords (counted towards the lock), empty passwords, unknown and filter-injecting usernames', async () => {
    for (const [u, p] of [
      ['lara', 'wrong-password'],
      ['lara', ''],
      ['ghost', 'whatever-pw'],
      ['lar*', 'lara-ldap-pw'],
      ['*', 'lara-ldap-pw'],
    ]) {
      const r = await a.gql(LOGIN, { u, p });
      expect(r.errors?.[0].extensions?.code, `${u}/${p}`).toBe('UNAUTHENTICATED');
    }
    // A local user is checked locally even when the directory has the same uid.
    expect((await a.gql(LOGIN, { u: 'admin', p: 'ldap-admin-pw' })).errors?.[0].extensions?.code).toBe(
      'UNAUTHENTICATED',
    );
    await a.login('admin', ADMIN_PASSWORD);
  });

  it('an unreachable directory is UPSTREAM_UNAVAILABLE, recorded as such', async () => {
    await ldap.stop();
    const r = await a.gql(LOGIN, { u: 'lara', p: 'lara-ldap-pw' });
    expect(r.errors?.[0].extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', service: 'ldap' });
    const admin = (await a.login('admin', ADMIN_PASSWORD)).accessToken;
    const recs = await a.gql<{ user: { loginRecords: { success: boolean; reason: string }[] } }>(
      `{ user(username: "lara") { loginRecords(first: 1) { success reason } } }`,
      {},
      admin,
    );
    expect(recs.data!.user.loginRecords).toEqual([{ success: false, reason: 'provider_unavailable' }]);
  });
});
