// A real OpenLDAP server (slapd) for tests: a private instance in a temporary folder on a free port, with a small
// directory (dc=example,dc=org: a service account and people), as ../shared/reference/test-services.md describes.
// Started in about half a second; ready once a bind answers; stopped by its process id.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'ldapts';
import { freePort } from '../../services/common/free-port.js';

const run = promisify(execFile);
const SBIN = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

export interface LdapPerson {
  uid: string;
  password: string;
  cn: string;
  sn?: string;
  mail?: string;
}

export interface TestLdap {
  url: string;
  suffix: string;
  /** The service account that searches users. */
  bindDn: string;
  bindPassword: string;
  userBaseDn: string;
  stop(): Promise<void>;
}

function bin(name: string): string {
  for (const dir of SBIN) if (existsSync(join(dir, name))) return join(dir, name);
  return name;
}

async function hash(password: string): Promise<string> {
  return (await run(bin('slappasswd'), ['-s', password])).stdout.trim();
}

export function slapdAvailable(): boolean {
  return existsSync(bin('slapd')) && existsSync(bin('slapadd'));
}

export async function startTestLdap(people: LdapPerson[]): Promise<TestLdap> {
  const dir = mkdtempSync(join(tmpdir(), 'kubegraph-ldap-'));
  const suffix = 'dc=example,dc=org';
  const rootPassword = 'root-secret';
  const bindDn = `cn=reader,${suffix}`;
  const bindPassword = 'reader-secret';
  const userBaseDn = `ou=people,${suffix}`;
  mkdirSync(join(dir, 'conf'));
  mkdirSync(join(dir, 'data'));
  const config = `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: ${dir}/slapd.pid

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: ${suffix}
olcRootDN: cn=admin,${suffix}
olcRootPW: ${await hash(rootPassword)}
olcDbDirectory: ${dir}/data
olcAccess: {0}to attrs=userPassword by self read by anonymous auth by * none
olcAccess: {1}to * by * read
`;
  const entries = [
    `dn: ${suffix}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example`,
    `dn: ${userBaseDn}\nobjectClass: organizationalUnit\nou: people`,
    `dn: ${bindDn}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\nuserPassword: ${await hash(bindPassword)}`,
  ];
  for (const p of people) {
    entries.push(
      [
        `dn: uid=${p.uid},${userBaseDn}`,
        'objectClass: inetOrgPerson',
        `uid: ${p.uid}`,
        `cn: ${p.cn}`,
        `sn: ${p.sn ?? p.cn.split(' ').pop()}`,
        ...(p.mail ? [`mail: ${p.mail}`] : []),
        `userPassword: ${await hash(p.password)}`,
      ].join('\n'),
    );
  }
  writeFileSync(join(dir, 'config.ldif'), config);
  writeFileSync(join(dir, 'data.ldif'), entries.join('\n\n') + '\n');
  await run(bin('slapadd'), ['-n', '0', '-F', join(dir, 'conf'), '-l', join(dir, 'config.ldif')]);
  await run(bin('slapadd'), ['-n', '1', '-F', join(dir, 'conf'), '-l', join(dir, 'data.ldif')]);
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  // slapd forks into the background and writes its pid file.
  await run(bin('slapd'), ['-F', join(dir, 'conf'), '-h', `${url}/`]);
  const pidOf = () => {
    try {
      return Number(readFileSync(join(dir, 'slapd.pid'), 'utf8').trim());
    } catch {
      return undefined;
    }
  };
  const stop = async () => {
    const pid = pidOf();
    if (pid) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Ready when the service account can bind.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const c = new Client({ url, timeout: 1000, connectTimeout: 1000 });
    try {
      await c.bind(bindDn, bindPassword);
      await c.unbind();
      break;
    } catch (e) {
      await c.unbind().catch(() => {});
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`slapd did not answer on ${url}: ${(e as Error).message}`, { cause: e });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { url, suffix, bindDn, bindPassword, userBaseDn, stop };
}
