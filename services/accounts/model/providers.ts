// Identity providers: who checks a username and password. Local passwords and LDAP today; an OIDC provider
// (authorization-code flow) would implement `IdentityProvider` with `kind: 'oidc'` and a redirect-based entry point
// next to login, while users, sessions and tokens after the first step stay as they are.
import { upstreamUnavailable } from '../../common/errors.js';
import { LdapDirectory, LdapUnavailable, type LdapOptions } from '../clients/ldap.js';
import type { UserRow } from '../clients/store.js';
import { burnPasswordCheck, verifyPassword } from './passwords.js';

export interface ExternalProfile {
  email: string | null;
  displayName: string | null;
}

export type AuthOutcome = { ok: true; profile?: ExternalProfile } | { ok: false; reason: 'invalid_credentials' };

export interface IdentityProvider {
  /** Stored as users.provider for the users it authenticates ('local', 'ldap'). */
  readonly name: string;
  readonly kind: 'local' | 'ldap' | 'oidc';
  /** Users unknown to accounts are created on their first successful login through this provider. */
  readonly createsUsers: boolean;
  /**
   * Checks a password. `user` is the stored user when there is one (always, for providers that do not create users).
   * Throws an UPSTREAM_UNAVAILABLE error when the provider cannot be asked.
   */
  authenticate(username: string, password: string, user: UserRow | undefined): Promise<AuthOutcome>;
}

export class LocalPasswords implements IdentityProvider {
  readonly name = 'local';
  readonly kind = 'local';
  readonly createsUsers = false;
  constructor(private readonly scryptLogN: number) {}

  async authenticate(_username: string, password: string, user: UserRow | undefined): Promise<AuthOutcome> {
    if (!user?.password_hash) {
      // As long as a real check, so response times do not tell which usernames exist.
      await burnPasswordCheck(password, this.scryptLogN);
      return { ok: false, reason: 'invalid_credentials' };
    }
    return (await verifyPassword(password, user.password_hash))
      ? { ok: true }
      : { ok: false, reason: 'invalid_credentials' };
  }
}

export class LdapProvider implements IdentityProvider {
  readonly name = 'ldap';
  readonly kind = 'ldap';
  readonly createsUsers = true;
  private readonly directory: LdapDirectory;
  constructor(opts: LdapOptions) {
    this.directory = new LdapDirectory(opts);
  }

  async authenticate(username: string, password: string): Promise<AuthOutcome> {
    try {
      const entry = await this.directory.authenticate(username, password);
      if (!entry) return { ok: false, reason: 'invalid_credentials' };
      return { ok: true, profile: { email: entry.email, displayName: entry.displayName } };
    } catch (e) {
      if (e instanceof LdapUnavailable) throw upstreamUnavailable('ldap', 'the LDAP directory cannot be reached');
      throw e;
    }
  }
}
