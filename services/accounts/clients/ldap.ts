// The LDAP directory: bind with a service account, search the user, bind as the user to check the password.
import { Client, escapeFilter, InvalidCredentialsError } from 'ldapts';

export interface LdapOptions {
  /** ldap://host:port or ldaps://host:port */
  url: string;
  /** The service account searching for users. */
  bindDn: string;
  bindPassword: string;
  /** Where users are searched (subtree). */
  userBaseDn: string;
  /** Extra condition on user entries, an LDAP filter such as (objectClass=inetOrgPerson). */
  userFilter: string;
  /** Attribute mapping. */
  usernameAttribute: string;
  emailAttribute: string;
  displayNameAttribute: string;
  startTls: boolean;
  timeoutMs: number;
}

export interface LdapUser {
  dn: string;
  username: string;
  email: string | null;
  displayName: string | null;
}

export class LdapUnavailable extends Error {}

const first = (v: unknown): string | null => {
  const x = Array.isArray(v) ? v[0] : v;
  if (x === undefined || x === null) return null;
  return Buffer.isBuffer(x) ? x.toString('utf8') : String(x);
};

export class LdapDirectory {
  constructor(readonly opts: LdapOptions) {}

  private async client(): Promise<Client> {
    const c = new Client({ url: this.opts.url, timeout: this.opts.timeoutMs, connectTimeout: this.opts.timeoutMs });
    if (this.opts.startTls) await c.startTLS();
    return c;
  }

  /**
   * The user's entry when `password` is theirs; undefined for an unknown user or a wrong password (LDAP does not
   * tell them apart either). Throws LdapUnavailable when the directory cannot be asked.
   */
  async authenticate(username: string, password: string): Promise<LdapUser | undefined> {
    // An empty password would be an "unauthenticated bind", which LDAP servers accept: never a login.
    if (!password) return undefined;
    const o = this.opts;
    let entry: LdapUser | undefined;
    const service = await this.client().catch((e: unknown) => {
      throw new LdapUnavailable(`LDAP ${o.url}: ${(e as Error).message}`);
    });
    try {
      await service.bind(o.bindDn, o.bindPassword);
      const filter = `(&${o.userFilter}(${o.usernameAttribute}=${escapeFilter`${username}`}))`;
      const { searchEntries } = await service.search(o.userBaseDn, {
        scope: 'sub',
        filter,
        sizeLimit: 2,
        attributes: [o.usernameAttribute, o.emailAttribute, o.displayNameAttribute],
      });
      // Two entries for one username: ambiguous, refused rather than guessed.
      if (searchEntries.length !== 1) return undefined;
      const e = searchEntries[0];
      entry = {
        dn: e.dn,
        username: first(e[o.usernameAttribute]) ?? username,
        email: first(e[o.emailAttribute]),
        displayName: first(e[o.displayNameAttribute]),
      };
    } catch (e) {
      throw new LdapUnavailable(`LDAP ${o.url}: ${(e as Error).message}`);
    } finally {
      await service.unbind().catch(() => {});
    }
    const user = await this.client().catch((e: unknown) => {
      throw new LdapUnavailable(`LDAP ${o.url}: ${(e as Error).message}`);
    });
    try {
      await user.bind(entry.dn, password);
      return entry;
    } catch (e) {
      if (e instanceof InvalidCredentialsError) return undefined;
      throw new LdapUnavailable(`LDAP ${o.url}: ${(e as Error).message}`);
    } finally {
      await user.unbind().catch(() => {});
    }
  }
}
