// What the deployment files say, read the way their tools read them, for test/deploy-*.test.ts: the README's
// configuration table, the services that exist, docker-compose.yml and the Dockerfile's instructions.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { SUBGRAPHS } from '../../gateway/subgraphs.js';

export const ROOT = resolve(import.meta.dirname, '../..');

/** The README's configuration table: every variable named in a row's first cell, with the row's default cell. */
export function readmeVariables(): Map<string, string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Configuration'));
  const out = new Map<string, string>();
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const [, first, second] = line.split('|');
    const names = [...first.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]);
    // `ACCOUNTS_LDAP_ATTR_USERNAME` / `_EMAIL` / `_DISPLAY_NAME`: the suffixes share the first name's prefix.
    const suffixes = [...first.matchAll(/`(_[A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]);
    if (names[0] && suffixes.length) {
      const prefix = names[0].slice(0, names[0].lastIndexOf('_'));
      names.push(...suffixes.map((s) => prefix + s));
    }
    const def = /`([^`]*)`/.exec(second ?? '')?.[1] ?? '';
    for (const n of names) if (!out.has(n)) out.set(n, def);
  }
  return out;
}

/** kubegraph's services that exist in this checkout: the gateway and each subgraph of SUBGRAPHS with a main.ts. */
export function existingServices(): string[] {
  return ['gateway', ...Object.keys(SUBGRAPHS).filter((name) => existsSync(join(ROOT, 'services', name, 'main.ts')))];
}

/** The entry point a service's image command runs, relative to the image's working directory (/app). */
export const entryOf = (service: string) =>
  service === 'gateway' ? 'dist/gateway/main.js' : `dist/services/${service}/main.js`;

/** The service's port variable and its default (README table; the subgraphs' defaults are SUBGRAPHS' URLs). */
export function portOf(service: string, env: Record<string, string | undefined> = {}): number {
  const variable = `${service.toUpperCase()}_PORT`;
  const fallback = readmeVariables().get(variable);
  return Number(env[variable] ?? fallback);
}

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  ports?: (string | { target: number; published?: string | number; host_ip?: string })[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string };
  volumes?: (string | Record<string, unknown>)[];
}
export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  [extension: string]: unknown;
}

export const COMPOSE_PATH = join(ROOT, 'docker-compose.yml');

/** The variables .env.example offers (`NAME=value` lines). */
export function envExample(): Record<string, string> {
  const text = readFileSync(join(ROOT, '.env.example'), 'utf8');
  return Object.fromEntries([...text.matchAll(/^([A-Z_][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1], m[2]]));
}

/**
 * Compose's interpolation: `${VAR}`, `${VAR:?message}` (an error when unset or empty), `${VAR:-default}`, `$$` for a
 * literal `$`.
 */
export function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(
    /\$\$|\$\{([A-Z_][A-Z0-9_]*)(?:(:\?|:-)([^}]*))?\}/g,
    (all, name?: string, op?: string, arg?: string) => {
      if (all === '$$') return '$';
      const value = vars[name!];
      if (value !== undefined && value !== '') return value;
      if (op === ':-') return arg ?? '';
      if (op === ':?') throw new Error(`required variable ${name} is missing a value: ${arg}`);
      return '';
    },
  );
}

/**
 * docker-compose.yml as Compose reads it: YAML 1.2 with anchors and `<<` merge keys resolved; with `vars`,
 * interpolated first, as `docker compose config` does with an .env file.
 */
export function readCompose(vars?: Record<string, string>): ComposeFile {
  const text = readFileSync(COMPOSE_PATH, 'utf8');
  return parseYaml(vars ? interpolate(text, vars) : text, { merge: true, maxAliasCount: 1000 }) as ComposeFile;
}

/** The kubegraph services in docker-compose.yml: compose service name → kubegraph service (by its entry point). */
export function composeKubegraphServices(compose: ComposeFile): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, svc] of Object.entries(compose.services)) {
    const command = Array.isArray(svc.command) ? svc.command : [];
    const entry = command.find((c) => /^dist\/(gateway|services\/[a-z]+)\/main\.js$/.test(c));
    if (entry) out.set(name, entry.split('/').at(-2)!);
  }
  return out;
}

export interface Dockerfile {
  /** The runtime (last) stage's ENTRYPOINT and CMD (exec form), and its ENV. */
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  healthcheck: string[];
  user: string;
  stages: string[];
  text: string;
}

/** The Dockerfile's last stage, instructions joined across line continuations. */
export function readDockerfile(): Dockerfile {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const lines = text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: string[] = [];
  let last: string[] = [];
  for (const l of lines) {
    if (/^FROM\s/i.test(l)) {
      stages.push(l);
      last = [];
    }
    last.push(l);
  }
  const json = (instr: string) => {
    const l = last.filter((x) => x.toUpperCase().startsWith(instr + ' ')).at(-1);
    return l ? (JSON.parse(l.slice(instr.length).trim()) as string[]) : [];
  };
  const env: Record<string, string> = {};
  for (const l of last.filter((x) => /^ENV\s/i.test(x)))
    for (const m of l.slice(4).matchAll(/([A-Z_][A-Z0-9_]*)=(\S+)/g)) env[m[1]] = m[2];
  const hc = last.find((x) => /^HEALTHCHECK\s/i.test(x)) ?? '';
  const user =
    last
      .filter((x) => /^USER\s/i.test(x))
      .at(-1)
      ?.slice(5)
      .trim() ?? '';
  return {
    entrypoint: json('ENTRYPOINT'),
    cmd: json('CMD'),
    env,
    healthcheck: hc ? (JSON.parse(hc.slice(hc.indexOf('CMD') + 3).trim()) as string[]) : [],
    user,
    stages,
    text,
  };
}
