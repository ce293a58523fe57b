// OpenTelemetry traces (issue 18, section 5): kubegraph started as `npm start` starts it (services/start.ts with the
// tracing preload), in a child process whose only tracing setting is OTEL_EXPORTER_OTLP_ENDPOINT, pointed at an OTLP/HTTP
// receiver on 127.0.0.1. One federated query sent as GET (so its variables are in the URL) must come back as one trace:
// the gateway's request, its fetches to the workloads and monitoring subgraphs (traceparent propagated), and under the
// monitoring subgraph its call to Prometheus; with no bearer token and no variable value anywhere in it. Accounts and
// apps run on the real PostgreSQL (DATABASE_URL, schemas of their own, dropped afterwards; the embedded PGlite is not
// `pg`), so that a login's statements show as pg spans; a log search's requests to the Elasticsearch stand-in (the
// @elastic/elasticsearch 7 client over node:http) nest under the logging subgraph's span.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { context, propagation, trace as otelTrace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HelmClient } from '../services/apps/clients/helm.js';
import { findOnPath } from '../services/monitoring/local-prometheus.js';
import { HELM_BIN } from './harness/charts.js';
import { gql } from './harness/graphql.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './harness/otlp-receiver.js';
import { dropSchema, TEST_DATABASE_URL } from './harness/accounts.js';
import { eventually } from './harness/sandbox.js';
import { adminToken, npmStartEnv, readyGateway, spawnNpmStart, type NpmStart } from './harness/npm-start.js';

const ADMIN_PASSWORD = 'tracing-test-admin-password';
/** A variable value found nowhere else: it must not appear in any exported span. */
const SECRET_JOB = 'tracing-variable-7f3a9c';
const STARTUP_MS = 120_000;
/** The PostgreSQL schemas of this test's accounts and apps subgraphs. */
const SCHEMAS = {
  ACCOUNTS_DB_SCHEMA: `tracing_accounts_${process.pid}`,
  APPS_DB_SCHEMA: `tracing_apps_${process.pid}`,
};

/** The environment of a test's npm start, on the real PostgreSQL, plus the one variable that turns tracing on. */
function childEnv(dir: string, endpoint: string): NodeJS.ProcessEnv {
  return npmStartEnv(dir, ADMIN_PASSWORD, {
    DATABASE_URL: TEST_DATABASE_URL,
    ...SCHEMAS,
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    // Exported within a second of ending, so the test does not wait for the default 5 s batch delay.
    OTEL_BSP_SCHEDULE_DELAY: '200',
  });
}

describe('tracing (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  let receiver: OtlpReceiver;
  let kubegraph: NpmStart;
  const output = () => kubegraph.output();
  /** The spans of the trace whose root span is named after the operation (waits for it to be exported). */
  async function traceOf(operationName: string): Promise<{ root: ReceivedSpan; spans: () => ReceivedSpan[] }> {
    const root = await eventually(
      () =>
        receiver.spans.find((s) => s.parentSpanId === '' && s.attributes['graphql.operation.name'] === operationName),
      30_000,
      `the root span of ${operationName}`,
    );
    return { root, spans: () => receiver.spans.filter((s) => s.traceId === root.traceId) };
  }
  function ancestorsIn(spans: ReceivedSpan[], span: ReceivedSpan): ReceivedSpan[] {
    const out: ReceivedSpan[] = [];
    for (
      let p = spans.find((s) => s.spanId === span.parentSpanId);
      p;
      p = spans.find((s) => s.spanId === p!.parentSpanId)
    )
      out.push(p);
    return out;
  }
  let dir: string;
  let gatewayUrl: string;
  let token: string;

  beforeAll(async () => {
    expect(findOnPath('prometheus'), 'the prometheus binary (Debian package prometheus) on PATH').toBeDefined();
    receiver = await startOtlpReceiver();
    dir = mkdtempSync(join(tmpdir(), 'kubegraph-tracing-'));
    // The command `npm start` runs (package.json), without npm in between.
    kubegraph = spawnNpmStart(childEnv(dir, receiver.endpoint), [
      process.execPath,
      'scripts/start.mjs',
      'services/start.ts',
    ]);
    gatewayUrl = await readyGateway(kubegraph, STARTUP_MS);
  }, STARTUP_MS + 70_000);

  afterAll(async () => {
    if (kubegraph && kubegraph.child.exitCode === null) {
      const exited = new Promise((r) => kubegraph.child.once('exit', r));
      kubegraph.child.kill('SIGTERM');
      await exited;
    }
    // Whatever did not stop with it (Prometheus, were start.ts killed before stopping it).
    kubegraph?.killGroup();
    await receiver?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    for (const schema of Object.values(SCHEMAS)) await dropSchema(schema);
  }, 30_000);

  it('one federated query is one trace: gateway → subgraphs → Prometheus, with no token and no variable value', async () => {
    token = await adminToken(gatewayUrl, ADMIN_PASSWORD);

    const query =
      'query TracedOverview($q: String!) { pods(first: 1) { totalCount } promQuery(query: $q) { series { labels } } }';
    const url = new URL(gatewayUrl);
    url.searchParams.set('query', query);
    url.searchParams.set('variables', JSON.stringify({ q: `up{job!="${SECRET_JOB}"}` }));
    url.searchParams.set('operationName', 'TracedOverview');
    // GET: the variables travel in the URL, the one place an HTTP span would record them.
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' } });
    const body = (await res.json()) as { data?: { pods: { totalCount: number } }; errors?: unknown[] };
    expect(body.errors).toBeUndefined();
    expect(body.data!.pods.totalCount).toBeGreaterThan(0);

    // The root span: the gateway's incoming request, named after the operation.
    const root = await eventually(
      () =>
        receiver.spans.find(
          (s) => s.parentSpanId === '' && s.attributes['graphql.operation.name'] === 'TracedOverview',
        ),
      30_000,
      'the root span of the query',
    );
    const trace = () => receiver.spans.filter((s) => s.traceId === root.traceId);
    const byId = (id: string) => trace().find((s) => s.spanId === id);
    const ancestors = (s: ReceivedSpan): ReceivedSpan[] => {
      const out: ReceivedSpan[] = [];
      for (let p = byId(s.parentSpanId); p; p = byId(p.parentSpanId)) out.push(p);
      return out;
    };
    // The subgraphs' server spans (traceparent extracted), and Prometheus's call under monitoring's.
    const subgraphServer = (port: string) =>
      trace().find((s) => s.kind === 2 && s !== root && JSON.stringify(s.attributes).includes(`:${port}`));
    const promCall = await eventually(
      () =>
        trace().find(
          (s) => s.kind === 3 && /\/api\/v1\/query$/.test(String(s.attributes['url.full'] ?? s.attributes['http.url'])),
        ),
      30_000,
      'the Prometheus call in the trace',
    ).catch((e: Error) => {
      throw new Error(
        `${e.message}\n${JSON.stringify(
          trace().map((s) => [s.name, s.scope, s.attributes]),
          null,
          1,
        )}`,
      );
    });

    expect(root.attributes['graphql.operation.type']).toBe('query');
    // The document's SHA-256 (the same as Apollo's persisted-query hash), not the document.
    expect(root.attributes['graphql.document.hash']).toBe(createHash('sha256').update(query).digest('hex'));
    expect(root.service).toBe('kubegraph');
    const monitoringPort = /^kubegraph: monitoring subgraph at http:\/\/127\.0\.0\.1:(\d+)/m.exec(output())![1];
    const workloadsPort = /^kubegraph: workloads subgraph at http:\/\/127\.0\.0\.1:(\d+)/m.exec(output())![1];
    const monitoring = await eventually(() => subgraphServer(monitoringPort), 10_000, 'monitoring server span');
    const workloads = await eventually(() => subgraphServer(workloadsPort), 10_000, 'workloads server span');

    // gateway → subgraph: each subgraph's server span is under a gateway fetch (client span), under the root.
    for (const sub of [monitoring, workloads]) {
      const chain = ancestors(sub);
      expect(chain.at(-1)).toBe(root);
      expect(chain[0].kind).toBe(3);
      expect(chain.some((s) => s.name === 'gateway.fetch')).toBe(true);
    }
    // subgraph → Prometheus: the call is under monitoring's server span, hence under the root.
    expect(ancestors(promCall)).toContain(monitoring);
    expect(ancestors(promCall).at(-1)).toBe(root);

    // Nothing secret anywhere in the trace: not the token, not the variable's value, not the document.
    const recorded = JSON.stringify(trace().map((s) => [s.name, s.attributes, s.eventAttributes]));
    expect(recorded).not.toContain(token);
    expect(recorded).not.toContain(token.split('.')[2]);
    expect(recorded).not.toContain(SECRET_JOB);
    expect(recorded).not.toContain('TracedOverview($q');
    // And nowhere in any span the receiver got.
    expect(JSON.stringify(receiver.spans)).not.toContain(SECRET_JOB);

    // Log lines written while the request ran carry its trace id.
    await eventually(
      () =>
        output()
          .split('\n')
          .some((l) => l.startsWith('{') && l.includes(`"traceId":"${root.traceId}"`)),
      10_000,
      'a log line with the trace id',
    );
  }, 90_000);

  it("a mutation's calls to Kubernetes (client-node over node-fetch/https) nest under the workloads subgraph", async () => {
    const auth = { authorization: `Bearer ${token}` };
    const list = await gql<{ pods: { edges: { node: { namespace: string; name: string } }[] } }>(
      gatewayUrl,
      '{ pods(first: 1) { edges { node { namespace name } } } }',
      {},
      auth,
    );
    expect(list.errors).toBeUndefined();
    const pod = list.data!.pods.edges[0].node;
    const secretLabel = 'tracing-label-value-41d2e8';
    const set = await gql(
      gatewayUrl,
      'mutation TracedLabels($ns: String, $name: String!, $labels: JSON!) { setLabels(apiVersion: "v1", kind: "Pod", namespace: $ns, name: $name, labels: $labels) }',
      { ns: pod.namespace, name: pod.name, labels: { 'tracing-check': secretLabel } },
      auth,
    );
    expect(set.errors).toBeUndefined();

    const { root, spans } = await traceOf('TracedLabels');
    const sandboxPort = /embedded sandbox cluster at https:\/\/127\.0\.0\.1:(\d+)/.exec(output())![1];
    const kubeCall = await eventually(
      () =>
        spans().find(
          (s) =>
            s.kind === 3 &&
            String(s.attributes['url.full'] ?? s.attributes['http.url'] ?? '').startsWith(
              `https://127.0.0.1:${sandboxPort}/api/v1/namespaces/${pod.namespace}/pods/`,
            ),
        ),
      30_000,
      'the call to the Kubernetes API in the trace',
    );
    const chain = ancestorsIn(spans(), kubeCall);
    expect(chain.at(-1)).toBe(root);
    // Under a subgraph's server span (traceparent received), under a gateway fetch.
    const server = chain.find((s) => s.kind === 2 && s !== root);
    expect(server).toBeDefined();
    expect(chain.slice(chain.indexOf(server!)).some((s) => s.name === 'gateway.fetch')).toBe(true);
    const recorded = JSON.stringify(spans().map((s) => [s.name, s.attributes, s.eventAttributes]));
    expect(recorded).not.toContain(secretLabel);
    expect(recorded).not.toContain(token);
  }, 60_000);

  it("a log search's Elasticsearch requests nest under the logging subgraph's span, without the searched text", async () => {
    const esUrl = await eventually(
      () => /started the Elasticsearch stand-in at (\S+),/.exec(output())?.[1],
      1_000,
      'the stand-in in the output',
    );
    const loggingPort = /^kubegraph: logging subgraph at http:\/\/127\.0\.0\.1:(\d+)/m.exec(output())![1];
    const searched = 'tracing-searched-text-3d91';
    const r = await gql<{ logs: { totalCount: number } }>(
      gatewayUrl,
      'query TracedLogs($f: LogFilter) { logs(first: 1, filter: $f) { totalCount } }',
      { f: { namespaces: ['shop'], contains: [searched] } },
      { authorization: `Bearer ${token}` },
    );
    expect(r.errors).toBeUndefined();

    const { root, spans } = await traceOf('TracedLogs');
    const esCalls = () =>
      spans().filter(
        (s) =>
          s.kind === 3 &&
          s.scope.includes('instrumentation-http') &&
          String(s.attributes['url.full'] ?? s.attributes['http.url'] ?? '').startsWith(`${esUrl}/`),
      );
    await eventually(() => esCalls().length > 0 || undefined, 30_000, 'an Elasticsearch call in the trace').catch(
      (e: Error) => {
        throw new Error(`${e.message}\n${JSON.stringify(spans().map((s) => [s.name, s.scope, s.attributes]))}`);
      },
    );
    for (const call of esCalls()) {
      const chain = ancestorsIn(spans(), call);
      expect(chain.at(-1)).toBe(root);
      // Under the logging subgraph's server span (traceparent received from the gateway's fetch).
      const server = chain.find((s) => s.kind === 2 && s !== root);
      expect(JSON.stringify(server?.attributes)).toContain(`:${loggingPort}`);
    }
    const recorded = JSON.stringify(spans().map((s) => [s.name, s.attributes, s.eventAttributes]));
    expect(recorded).not.toContain(searched);
    expect(recorded).not.toContain(token);
  }, 60_000);

  it("a login's PostgreSQL statements are pg spans under the accounts subgraph's span, without the password", async () => {
    const accountsPort = /^kubegraph: accounts subgraph at http:\/\/127\.0\.0\.1:(\d+)/m.exec(output())![1];
    expect(output()).toMatch(/accounts subgraph at \S+ \(PostgreSQL;/);
    const login = await gql<{ login: { accessToken: string } }>(
      gatewayUrl,
      'mutation TracedLogin($p: String!) { login(username: "admin", password: $p) { accessToken } }',
      { p: ADMIN_PASSWORD },
    );
    expect(login.errors).toBeUndefined();

    const { root, spans } = await traceOf('TracedLogin');
    // Semantic conventions 1.3x name the system db.system.name (older ones db.system).
    const statements = () =>
      spans().filter(
        (s) => s.kind === 3 && (s.attributes['db.system.name'] ?? s.attributes['db.system']) === 'postgresql',
      );
    await eventually(() => statements().length > 0 || undefined, 30_000, 'a pg span in the trace').catch((e: Error) => {
      throw new Error(`${e.message}\n${JSON.stringify(spans().map((s) => [s.name, s.scope, s.attributes]))}`);
    });
    for (const statement of statements()) {
      expect(statement.scope).toContain('instrumentation-pg');
      const chain = ancestorsIn(spans(), statement);
      expect(chain.at(-1)).toBe(root);
      const server = chain.find((s) => s.kind === 2 && s !== root);
      expect(JSON.stringify(server?.attributes)).toContain(`:${accountsPort}`);
    }
    // The statements' text with placeholders; no parameter values.
    expect(
      statements().some((s) => /\$1/.test(String(s.attributes['db.query.text'] ?? s.attributes['db.statement']))),
    ).toBe(true);
    const recorded = JSON.stringify(spans().map((s) => [s.name, s.attributes, s.eventAttributes]));
    expect(recorded).not.toContain(ADMIN_PASSWORD);
    expect(recorded).not.toContain(login.data!.login.accessToken);
  }, 60_000);
});

describe('the helm span (services/apps/clients/helm.ts)', () => {
  const exported = new InMemorySpanExporter();
  beforeAll(() => {
    // In this test process only: an SDK with an in-memory exporter, registered as the preload registers its own.
    new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exported)] }).register();
  });
  afterAll(() => {
    otelTrace.disable();
    context.disable();
    propagation.disable();
  });

  it('wraps each helm process, named after its subcommand, with its exit code and none of its arguments', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: false }],
      users: [{ name: 'u', token: 'helm-span-token-5c1e' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const helm = new HelmClient({ helmBin: HELM_BIN, kubeConfig: kc, timeoutSeconds: 30 });
    const marker = 'helm-argument-marker-9b07';
    const parent = otelTrace.getTracer('test').startSpan('caller');
    const ok = await context.with(otelTrace.setSpan(context.active(), parent), () =>
      helm.run({ args: () => ['version', '--template', `{{.Version}} ${marker}`] }),
    );
    parent.end();
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toContain(marker);
    const failed = await helm.run({ args: () => ['status', `no-such-release-${marker}`] });
    expect(failed.exitCode).not.toBe(0);

    const spans = exported.getFinishedSpans();
    const version = spans.find((s) => s.name === 'helm version');
    expect(version, JSON.stringify(spans.map((s) => s.name))).toBeDefined();
    expect(version!.attributes['process.exit.code']).toBe(0);
    expect(version!.status.code).toBe(0);
    // Under the caller's span: the helm call belongs to the request that made it.
    expect(version!.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    const status = spans.find((s) => s.name === 'helm status');
    expect(status).toBeDefined();
    expect(status!.attributes['process.exit.code']).toBe(failed.exitCode);
    expect(status!.status.code).toBe(2);
    const recorded = JSON.stringify(spans.map((s) => [s.name, s.attributes, s.events]));
    expect(recorded).not.toContain(marker);
    expect(recorded).not.toContain('helm-span-token-5c1e');
  }, 60_000);
});
