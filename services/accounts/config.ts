// The accounts subgraph's environment variables, read and validated once at start (README "Configuration").
import { ConfigError, envBool, envInt, envString } from '../common/config.js';
import type { LdapOptions } from './clients/ldap.js';
import type { AccountsSettings } from './model/accounts.js';
import { MIN_PASSWORD_LENGTH } from './model/passwords.js';
import type { SigningAlg } from './model/tokens.js';

export const ACCOUNTS_DEFAULTS: AccountsSettings = {
  issuer: 'kubegraph',
  audience: 'kubegraph',
  accessTokenTtlSeconds: 900,
  refreshTokenTtlSeconds: 7 * 24 * 3600,
  signingAlg: 'ES256',
  apiTokenTouchSeconds: 60,
  maxFailedLogins: 5,
  maxFailedLoginsPerSource: 50,
  lockSeconds: 600,
  scryptLogN: 15,
};

export interface AccountsEnv {
  port: number;
  host: string;
  databaseUrl?: string;
  dataDir: string;
  dbSchema?: string;
  adminPassword?: string;
  internalToken?: string;
  trustProxy: boolean;
  settings: AccountsSettings;
  ldap?: LdapOptions;
}

const ATTRIBUTE = /^[A-Za-z][A-Za-z0-9-]*$/;
function attribute(name: string, fallback: string): string {
  const v = envString(name, fallback)!;
  if (!ATTRIBUTE.test(v))
    throw new ConfigError(`${name}=${JSON.stringify(v)} is not a valid value: expected an LDAP attribute name`);
  return v;
}

export function accountsOptionsFromEnv(): AccountsEnv {
  const alg = envString('ACCOUNTS_JWT_ALG', 'ES256')!;
  if (alg !== 'ES256' && alg !== 'EdDSA')
    throw new ConfigError(`ACCOUNTS_JWT_ALG=${JSON.stringify(alg)} is not a valid value: expected ES256 or EdDSA`);
  // A PEM in one line with \n escapes (as some secret stores hand it over) is accepted too.
  const pem = envString('ACCOUNTS_JWT_PRIVATE_KEY')?.replace(/\\n/g, '\n');
  if (pem !== undefined && !/-----BEGIN (EC |)PRIVATE KEY-----/.test(pem))
    throw new ConfigError('ACCOUNTS_JWT_PRIVATE_KEY is not a valid value: expected a PEM private key (PKCS#8 or SEC1)');
  const adminPassword = envString('KUBEGRAPH_ADMIN_PASSWORD');
  if (adminPassword !== undefined && adminPassword.length < MIN_PASSWORD_LENGTH)
    throw new ConfigError(`KUBEGRAPH_ADMIN_PASSWORD is not a valid value: at least ${MIN_PASSWORD_LENGTH} characters`);
  const databaseUrl = envString('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl))
    throw new ConfigError('DATABASE_URL is not a valid value: expected postgres://user:password@host:port/database');
  const dbSchema = envString('ACCOUNTS_DB_SCHEMA');
  if (dbSchema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(dbSchema))
    throw new ConfigError(
      `ACCOUNTS_DB_SCHEMA=${JSON.stringify(dbSchema)} is not a valid value: expected a lowercase SQL identifier`,
    );

  const ldapUrl = envString('ACCOUNTS_LDAP_URL');
  let ldap: LdapOptions | undefined;
  if (ldapUrl) {
    if (!/^ldaps?:\/\//.test(ldapUrl))
      throw new ConfigError(
        `ACCOUNTS_LDAP_URL=${JSON.stringify(ldapUrl)} is not a valid value: expected ldap://host:port or ldaps://host:port`,
      );
    const need = (name: string) => {
      const v = envString(name);
      if (v === undefined) throw new ConfigError(`${name} is required when ACCOUNTS_LDAP_URL is set`);
      return v;
    };
    const userFilter = envString('ACCOUNTS_LDAP_USER_FILTER', '(objectClass=inetOrgPerson)')!;
    if (!/^\(.*\)$/.test(userFilter))
      throw new ConfigError(
        `ACCOUNTS_LDAP_USER_FILTER=${JSON.stringify(userFilter)} is not a valid value: expected an LDAP filter in parentheses`,
      );
    ldap = {
      url: ldapUrl,
      bindDn: need('ACCOUNTS_LDAP_BIND_DN'),
      bindPassword: need('ACCOUNTS_LDAP_BIND_PASSWORD'),
      userBaseDn: need('ACCOUNTS_LDAP_USER_BASE_DN'),
      userFilter,
      usernameAttribute: attribute('ACCOUNTS_LDAP_ATTR_USERNAME', 'uid'),
      emailAttribute: attribute('ACCOUNTS_LDAP_ATTR_EMAIL', 'mail'),
      displayNameAttribute: attribute('ACCOUNTS_LDAP_ATTR_DISPLAY_NAME', 'cn'),
      startTls: envBool('ACCOUNTS_LDAP_START_TLS', false),
      timeoutMs: envInt('ACCOUNTS_LDAP_TIMEOUT_MS', 5000, { min: 100, max: 120_000 }),
    };
  }
  const d = ACCOUNTS_DEFAULTS;
  return {
    port: envInt('ACCOUNTS_PORT', 4001, { min: 0, max: 65535 }),
    host: envString('ACCOUNTS_HOST', '127.0.0.1')!,
    databaseUrl,
    dataDir: envString('ACCOUNTS_DATA_DIR', '.data/accounts')!,
    dbSchema,
    adminPassword,
    internalToken: envString('ACCOUNTS_INTERNAL_TOKEN'),
    trustProxy: envBool('ACCOUNTS_TRUST_PROXY', true),
    ldap,
    settings: {
      issuer: envString('ACCOUNTS_JWT_ISSUER', d.issuer)!,
      audience: envString('ACCOUNTS_JWT_AUDIENCE', d.audience)!,
      signingAlg: alg as SigningAlg,
      signingKeyPem: pem,
      signingKeyKid: envString('ACCOUNTS_JWT_KID'),
      accessTokenTtlSeconds: envInt('ACCOUNTS_ACCESS_TOKEN_TTL_SECONDS', d.accessTokenTtlSeconds, {
        min: 10,
        max: 86_400,
      }),
      refreshTokenTtlSeconds: envInt('ACCOUNTS_REFRESH_TOKEN_TTL_SECONDS', d.refreshTokenTtlSeconds, {
        min: 60,
        max: 365 * 86_400,
      }),
      apiTokenTouchSeconds: envInt('ACCOUNTS_API_TOKEN_TOUCH_SECONDS', d.apiTokenTouchSeconds, { min: 0, max: 86_400 }),
      maxFailedLogins: envInt('ACCOUNTS_LOGIN_MAX_FAILURES', d.maxFailedLogins, { min: 1, max: 1000 }),
      maxFailedLoginsPerSource: envInt('ACCOUNTS_LOGIN_MAX_FAILURES_PER_SOURCE', d.maxFailedLoginsPerSource, {
        min: 1,
        max: 100_000,
      }),
      lockSeconds: envInt('ACCOUNTS_LOGIN_LOCK_SECONDS', d.lockSeconds, { min: 1, max: 30 * 86_400 }),
      scryptLogN: envInt('ACCOUNTS_SCRYPT_LOG_N', d.scryptLogN, { min: 10, max: 20 }),
    },
  };
}
