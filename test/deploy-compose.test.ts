// docker-compose.yml (issue 18 §1), checked without a container runtime: valid against the Compose Specification's
// JSON schema (the copy the maintained linter dclint ships), every image pinned, every kubegraph service's environment
// made only of variables the README documents, every port and URL lined up with the README's configuration table
// and with the services that own them, health checks behind every `service_healthy`, secrets only from .env, only the
// gateway published beyond localhost, traces to a Jaeger whose UI is on localhost only; the Prometheus configuration
// passes promtool, and Fluent Bit's Lua filter gives the documents the shape the logging subgraph reads (the
// Elasticsearch fixture's).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import draft07 from 'ajv/dist/refs/json-schema-draft-07.json' with { type: 'json' };
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { SUBGRAPHS } from '../gateway/subgraphs.js';
import {
  COMPOSE_PATH,
  ROOT,
  composeKubegraphServices,
  existingServices,
  portOf,
  readCompose,
  readDockerfile,
  readmeVariables,
  envExample,
  interpolate,
  type ComposeService,
} from './harness/deploy.js';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const compose = readCompose();
const kubegraph = composeKubegraphServices(compose);
const documented = readmeVariables();
const tmp = mkdtempSync(join(tmpdir(), 'kubegraph-compose-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const envOf = (svc: ComposeService): Record<string, string> =>
  Object.fromEntries(Object.entries(svc.environment ?? {}).map(([k, v]) => [k, String(v ?? '')]));
/** The compose service named `kind` by its image (postgres, redis, prometheus, elasticsearch). */
const serviceByImage = (re: RegExp, file = compose) =>
  Object.entries(file.services).find(([, s]) => re.test(s.image ?? ''));
const composeNameOf = (service: string) => [...kubegraph].find(([, k]) => k === service)?.[0];

function validator() {
  const schemaPath = join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
  const ajv = new Ajv({ allErrors: true, strict: false });
  // The schema names draft-07 by its https address; Ajv knows draft-07 by the http one.
  ajv.addMetaSchema({ ...draft07, $id: 'https://json-schema.org/draft-07/schema' });
  return ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);
}

describe('docker-compose.yml', () => {
  it('validates against the Compose Specification JSON schema (and the schema rejects a broken file)', () => {
    const validate = validator();
    const ok = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 1)).toEqual([]);
    expect(ok).toBe(true);
    // The same validator refuses what Compose refuses: an unknown service key, a port of the wrong type.
    const broken = structuredClone(compose);
    (broken.services.gateway as Record<string, unknown>).imagee = 'kubegraph:0.1.0';
    (broken.services.redis as Record<string, unknown>).ports = [{ target: 'six' }];
    expect(validate(broken)).toBe(false);
    expect(JSON.stringify(validate.errors)).toMatch(/imagee|additionalProperties/);
  });

  it('runs every kubegraph service that exists, each from the one image with its own entry point', () => {
    expect([...kubegraph.values()].sort()).toEqual(existingServices().sort());
    const images = new Set([...kubegraph.keys()].map((name) => compose.services[name].image));
    expect(images.size).toBe(1);
    for (const name of kubegraph.keys()) expect(compose.services[name].build).toBeDefined();
  });

  it('pins every image to a version (no latest, no untagged)', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      expect(svc.image, `${name} has an image`).toBeTruthy();
      const image = svc.image!;
      const digest = /@sha256:[0-9a-f]{64}$/.test(image);
      const tag = /:([^/:@]+)$/.exec(image)?.[1];
      expect(digest || (tag !== undefined && tag !== 'latest' && /\d/.test(tag)), `${name}: ${image}`).toBe(true);
    }
    // The image's base too.
    expect(readDockerfile().text).toMatch(/^ARG NODE_IMAGE=node:\d+\.\d+\.\d+-[a-z]+-slim$/m);
  });

  it("gives kubegraph's services only variables the README's configuration table documents", () => {
    const image = readDockerfile();
    for (const [name] of kubegraph) {
      for (const variable of Object.keys(envOf(compose.services[name])))
        expect(documented.has(variable), `${name}: ${variable} is not in the README's configuration table`).toBe(true);
    }
    // NODE_ENV is Node's own convention (README: introspection); everything else the image sets is documented.
    for (const variable of Object.keys(image.env).filter((v) => v !== 'NODE_ENV'))
      expect(documented.has(variable), `Dockerfile ENV ${variable}`).toBe(true);
  });

  it("listens on each service's documented port and routes every URL to the service that owns it", () => {
    const image = readDockerfile();
    // URLs carry ${SECRET}s: read them as `docker compose config` does with .env.example as the .env file.
    const compose = readCompose(envExample());
    for (const [name, service] of kubegraph) {
      const env = envOf(compose.services[name]);
      // The port: what the service is given, which is the README's default (the URLs below use it).
      expect(portOf(service, env), `${name}'s port`).toBe(portOf(service));
      // Listening on the container's network, not only its loopback.
      expect(env[`${service.toUpperCase()}_HOST`] ?? image.env[`${service.toUpperCase()}_HOST`]).toBe('0.0.0.0');
    }
    const gatewayEnv = envOf(compose.services[composeNameOf('gateway')!]);
    for (const [service, { env: variable }] of Object.entries(SUBGRAPHS)) {
      if (!existingServices().includes(service)) continue;
      expect(gatewayEnv[variable], `the gateway's ${variable}`).toBeDefined();
    }
    for (const [name] of kubegraph) {
      for (const [variable, value] of Object.entries(envOf(compose.services[name]))) {
        if (!/_URL$/.test(variable)) continue;
        const url = new URL(value);
        expect(compose.services[url.hostname], `${name}: ${variable} names a compose service`).toBeDefined();
        const target = Object.entries(SUBGRAPHS).find(([, s]) => s.env === variable)?.[0];
        if (target) {
          expect(kubegraph.get(url.hostname), `${variable} points at the ${target} service`).toBe(target);
          expect(Number(url.port)).toBe(portOf(target));
          expect(url.pathname).toBe(new URL(SUBGRAPHS[target].url).pathname);
          continue;
        }
        const expected: Record<string, [RegExp, number]> = {
          PROMETHEUS_URL: [/^prom\/prometheus:/, 9090],
          ELASTICSEARCH_URL: [/elasticsearch\/elasticsearch:/, 9200],
          DATABASE_URL: [/^postgres:/, 5432],
          REDIS_URL: [/^redis:/, 6379],
        };
        expect(expected[variable], `${variable} is a URL the test knows`).toBeDefined();
        const [image, port] = expected[variable];
        expect(serviceByImage(image, compose)?.[0], variable).toBe(url.hostname);
        expect(Number(url.port), variable).toBe(port);
      }
    }
    // The README's example URL for Prometheus is the compose service's.
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('`http://prometheus:9090`');
  });

  it("hands PostgreSQL's, Redis's and Elasticsearch's credentials to kubegraph as those services are set up", () => {
    // As `docker compose config` sees it with .env.example as the .env file.
    const compose = readCompose(envExample());
    const [pgName, pg] = serviceByImage(/^postgres:/, compose)!;
    const database = new URL(envOf(compose.services[composeNameOf('accounts')!]).DATABASE_URL);
    expect(database.hostname).toBe(pgName);
    expect(database.username).toBe(envOf(pg).POSTGRES_USER);
    expect(database.pathname).toBe(`/${envOf(pg).POSTGRES_DB}`);
    expect(decodeURIComponent(database.password)).toBe(envOf(pg).POSTGRES_PASSWORD);
    const [, redis] = serviceByImage(/^redis:/, compose)!;
    const redisUrl = new URL(envOf(compose.services[composeNameOf('gateway')!]).REDIS_URL);
    const command = redis.command as string[];
    expect(decodeURIComponent(redisUrl.password)).toBe(command[command.indexOf('--requirepass') + 1]);
    if (composeNameOf('logging')) {
      const [, es] = serviceByImage(/elasticsearch\/elasticsearch:/, compose)!;
      const logging = envOf(compose.services[composeNameOf('logging')!]);
      expect(logging.ELASTICSEARCH_USERNAME).toBe('elastic');
      expect(logging.ELASTICSEARCH_PASSWORD).toBe(envOf(es).ELASTIC_PASSWORD);
    }
  });

  it('takes every secret from .env: each ${VAR} is in .env.example, required, and nothing else is there', () => {
    const text = readFileSync(COMPOSE_PATH, 'utf8');
    // With them all set, the file interpolates; with one missing, `docker compose` would stop naming it.
    const vars = envExample();
    expect(() => interpolate(text, vars)).not.toThrow();
    const { KUBEGRAPH_IDENTITY_SECRET: _dropped, ...missing } = vars;
    expect(() => interpolate(text, missing)).toThrow(/KUBEGRAPH_IDENTITY_SECRET/);
    const referenced = new Set([...text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]));
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    const offered = new Set([...example.matchAll(/^([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    expect([...referenced].sort()).toEqual([...offered].sort());
    // Required: `${VAR:?message}`, so a missing .env entry stops `docker compose up` instead of running with "".
    for (const m of text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)([^}]*)\}/g)) expect(m[2], m[1]).toMatch(/^:\?/);
    // The identity secret and the internal token reach every kubegraph service.
    for (const [name] of kubegraph) {
      const env = envOf(compose.services[name]);
      expect(env.KUBEGRAPH_IDENTITY_SECRET, name).toMatch(/^\$\{KUBEGRAPH_IDENTITY_SECRET:\?/);
    }
  });

  it("sends every kubegraph service's spans to the Jaeger service over OTLP/HTTP, its UI on localhost only", () => {
    const [jaegerName, jaeger] = serviceByImage(/^jaegertracing\/jaeger:/)!;
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const [name] of kubegraph) {
      const env = envOf(compose.services[name]);
      const endpoint = new URL(env.OTEL_EXPORTER_OTLP_ENDPOINT);
      expect(endpoint.hostname, `${name}'s spans go to the ${jaegerName} service`).toBe(jaegerName);
      // OTLP/HTTP's port (the exporter appends /v1/traces to the base URL), the README's example.
      expect(endpoint.port).toBe('4318');
      expect(endpoint.pathname).toBe('/');
      expect(readme).toContain(`\`${env.OTEL_EXPORTER_OTLP_ENDPOINT}\``);
      // A sampler the README's table names, with a ratio it can take.
      expect(readme).toContain(`\`${env.OTEL_TRACES_SAMPLER}\``);
      const ratio = Number(env.OTEL_TRACES_SAMPLER_ARG);
      expect(ratio >= 0 && ratio <= 1, `OTEL_TRACES_SAMPLER_ARG ${env.OTEL_TRACES_SAMPLER_ARG}`).toBe(true);
    }
    // Jaeger's OTLP/HTTP receiver listens beyond the container's loopback on that port, and is not published.
    expect(jaeger.command).toContain('receivers.otlp.protocols.http.endpoint=0.0.0.0:4318');
    expect(jaeger.ports).toEqual(['127.0.0.1:16686:16686']);
  });

  it('publishes only the gateway beyond localhost', () => {
    const gateway = composeNameOf('gateway')!;
    let gatewayPublished = false;
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const port of svc.ports ?? []) {
        const text = typeof port === 'string' ? port : `${port.host_ip ?? ''}:${port.published ?? ''}:${port.target}`;
        if (name === gateway) {
          gatewayPublished = true;
          expect(text).toBe(`${portOf('gateway')}:${portOf('gateway')}`);
        } else expect(text, `${name} publishes ${text}`).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
      }
    }
    expect(gatewayPublished).toBe(true);
  });

  it('starts in order: every service_healthy dependency has a health check, the gateway waits for every subgraph', () => {
    const image = readDockerfile();
    expect(image.healthcheck).toEqual(['node', 'deploy/healthcheck.mjs']);
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const [dep, { condition }] of Object.entries(svc.depends_on ?? {})) {
        expect(compose.services[dep], `${name} depends on ${dep}`).toBeDefined();
        if (condition === 'service_healthy')
          expect(
            compose.services[dep].healthcheck ?? (kubegraph.has(dep) ? image.healthcheck : undefined),
            dep,
          ).toBeTruthy();
      }
      // Everything that reads the cluster waits for its kubeconfig.
      if (kubegraph.has(name)) expect(svc.depends_on?.kubeconfig?.condition).toBe('service_completed_successfully');
    }
    const gatewayDeps = compose.services[composeNameOf('gateway')!].depends_on ?? {};
    for (const [name, service] of kubegraph)
      if (service !== 'gateway')
        expect(gatewayDeps[name]?.condition, `gateway waits for ${name}`).toBe('service_healthy');
  });
});

describe("Prometheus's configuration (deploy/compose/prometheus.yml)", () => {
  const file = join(ROOT, 'deploy/compose/prometheus.yml');

  it("scrapes every kubegraph service's /metrics on its port", () => {
    const config = parseYaml(readFileSync(file, 'utf8')) as {
      scrape_configs: { job_name: string; metrics_path?: string; static_configs?: { targets: string[] }[] }[];
    };
    const job = config.scrape_configs.find((j) => j.job_name === 'kubegraph')!;
    const targets = job.static_configs!.flatMap((s) => s.targets);
    const expected = [...kubegraph].map(([name, service]) => `${name}:${portOf(service)}`);
    // Services still being built are scraped once they exist: every existing one must be there.
    for (const t of expected) expect(targets).toContain(t);
    for (const t of targets) expect(compose.services[t.split(':')[0]], t).toBeDefined();
    expect(job.metrics_path ?? '/metrics').toBe('/metrics');
  });

  it('passes promtool check config', async () => {
    // promtool opens the TLS files: point them at stand-ins in a temporary folder.
    for (const f of ['ca.crt', 'client.crt', 'client.key']) writeFileSync(join(tmp, f), '');
    const copy = join(tmp, 'prometheus.yml');
    writeFileSync(copy, readFileSync(file, 'utf8').replaceAll('/kube/', `${tmp}/`));
    const { stdout } = await run('promtool', ['check', 'config', copy]);
    expect(stdout).toMatch(/SUCCESS/);
  });
});

describe("Fluent Bit's Lua filter (deploy/compose/kubernetes-from-path.lua)", () => {
  it("gives each line the fixture's kubernetes fields from the kubelet's log file name", async () => {
    const id = 'a673327e5e3dfefca3e773273e69eca64baaa4499fdc04e6eb9d621ad8688ad0';
    const harness = join(tmp, 'run.lua');
    writeFileSync(
      harness,
      [
        `dofile(${JSON.stringify(join(ROOT, 'deploy/compose/kubernetes-from-path.lua'))})`,
        'local function show(code, _, record)',
        '  local k = record.kubernetes or {}',
        '  print(code, k.pod_name, k.namespace_name, k.container_name, k.docker_id, k.host, record.time, tostring(record.filepath), tostring(record._p))',
        'end',
        `show(kubernetes_from_path("kube.x", 1589644842.608962, { log = "hi", _p = "F", filepath = "/var/log/containers/redis-ha-haproxy-ffb8d889d-8x9kj_kubesphere-system_config-init-${id}.log" }))`,
        'show(kubernetes_from_path("kube.x", 1, { log = "x", filepath = "/var/log/containers/not-a-container-log.txt" }))',
        '',
      ].join('\n'),
    );
    const { stdout } = await run('lua5.4', [harness], { env: { ...process.env, NODE_NAME: 'master0' } });
    const [first, second] = stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    const fixture = JSON.parse(
      readFileSync(join(ROOT, '../shared/fixtures/elasticsearch/es7_search_200.json'), 'utf8'),
    ) as { hits: { hits: { _source: { time: string; kubernetes: Record<string, string> } }[] } };
    const k = fixture.hits.hits[0]._source.kubernetes;
    expect(first).toEqual([
      '1',
      k.pod_name,
      k.namespace_name,
      k.container_name,
      k.docker_id,
      k.host,
      expect.stringMatching(/^2020-05-16T16:00:42\.60896\d{4}Z$/),
      'nil',
      'nil',
    ]);
    // A file that is not a container log is passed on untouched.
    expect(second[0]).toBe('0');
  });
});
