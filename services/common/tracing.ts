// OpenTelemetry traces, loaded before anything else with `node --import` (see README "Tracing"):
//   node --import tsx --import ./services/common/tracing.ts gateway/main.ts      (a checkout)
//   NODE_OPTIONS=--import=./dist/services/common/tracing.js node dist/gateway/main.js   (the built image)
// A preload, not a call in each main: the http and pg instrumentations hook module loading, so they must be in place
// before any service module imports node:http, pg or @kubernetes/client-node's node-fetch.
//
// Off unless OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set: then nothing is started and
// nothing is sent anywhere (DESIGN.md "Network"). On, spans go to that endpoint only, over OTLP/HTTP with JSON bodies
// (the exporter reads the standard OTEL_EXPORTER_OTLP_* variables itself: endpoint, headers, timeout), sampled per
// OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (read by the SDK), batched per OTEL_BSP_*.
//
// What is chosen on purpose (each dependency checked for what it does on its own):
// - no @opentelemetry/sdk-node and no auto-instrumentations bundle: they bring gRPC/Zipkin/Prometheus exporters and
//   dozens of instrumentations; only http (Kubernetes via node-fetch, Elasticsearch, incoming requests), undici
//   (global fetch: gateway → subgraph, Prometheus) and pg (PostgreSQL) are registered;
// - resource detectors are env, process and host only: they read variables, process.* and the local machine id;
//   none of the cloud or container detectors, which probe metadata addresses over the network;
// - every URL recorded on a span loses its query string (PromQL, label selectors and GET /graphql variables could
//   carry a caller's values); headers are never recorded (the instrumentations record none unless configured).
// Types only: the SDK is loaded (dynamically) when tracing is on, so that off costs nothing at start.
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Span attributes that hold a URL or its parts: kept without their query string. */
const URL_ATTRIBUTES = new Set(['http.url', 'http.target', 'url.full', 'url.original']);
/** Span attributes that hold only a query string: dropped. */
const QUERY_ATTRIBUTES = new Set(['url.query']);

/** Whether tracing is configured (the standard variables); without it nothing is started. */
export function tracingEndpointConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

/**
 * The service name when OTEL_SERVICE_NAME is unset, from the entry point: gateway/main → kubegraph-gateway,
 * services/<name>/main → kubegraph-<name>, services/start (everything in one process) → kubegraph.
 */
export function serviceNameForEntry(entry: string | undefined): string {
  const path = (entry ?? '').replace(/\\/g, '/');
  if (/(^|\/)gateway\/main\.[cm]?[jt]s$/.test(path)) return 'kubegraph-gateway';
  const service = /(^|\/)services\/([a-z-]+)\/main\.[cm]?[jt]s$/.exec(path);
  return service ? `kubegraph-${service[2]}` : 'kubegraph';
}

function withoutQuery(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const at = value.indexOf('?');
  return at < 0 ? value : value.slice(0, at);
}

/** A span as exported, its URL attributes without query strings (the span itself is left as it is). */
export function redactSpan(span: ReadableSpan): ReadableSpan {
  let attributes: ReadableSpan['attributes'] | undefined;
  for (const key of Object.keys(span.attributes)) {
    if (!URL_ATTRIBUTES.has(key) && !QUERY_ATTRIBUTES.has(key)) continue;
    attributes ??= { ...span.attributes };
    if (QUERY_ATTRIBUTES.has(key)) delete attributes[key];
    else attributes[key] = withoutQuery(span.attributes[key]) as string;
  }
  if (!attributes) return span;
  // Everything else (span context, times, events, methods) read through the original span.
  return Object.create(span, { attributes: { value: attributes, enumerable: true } }) as ReadableSpan;
}

class RedactingExporter implements SpanExporter {
  constructor(private readonly inner: SpanExporter) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans.map(redactSpan), done);
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/**
 * A CommonJS package's exports from `import()`: Node gives them as named exports (and all of them as `default`); in
 * a bundle (scripts/bundle.mjs: esbuild, code split) a package imported dynamically gets only `default`.
 */
function namedExports<T>(imported: T): T {
  return ((imported as { default?: T }).default ?? imported) as T;
}

export interface Tracing {
  /** Sends what is buffered and stops (called on exit). */
  shutdown(): Promise<void>;
}

/** Starts tracing when the standard variables ask for it; returns undefined (and loads nothing) otherwise. */
export async function startTracing(
  serviceName = serviceNameForEntry(process.argv[1]),
  env: NodeJS.ProcessEnv = process.env,
): Promise<Tracing | undefined> {
  if (!tracingEndpointConfigured(env)) return undefined;
  const [resources, { OTLPTraceExporter }, { BatchSpanProcessor }, { NodeTracerProvider }, instr, http, undici, pg] =
    await Promise.all([
      import('@opentelemetry/resources').then(namedExports),
      import('@opentelemetry/exporter-trace-otlp-http').then(namedExports),
      import('@opentelemetry/sdk-trace-base').then(namedExports),
      import('@opentelemetry/sdk-trace-node').then(namedExports),
      import('@opentelemetry/instrumentation').then(namedExports),
      import('@opentelemetry/instrumentation-http').then(namedExports),
      import('@opentelemetry/instrumentation-undici').then(namedExports),
      import('@opentelemetry/instrumentation-pg').then(namedExports),
    ]);
  // env (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) wins over the name derived from the entry point.
  const detected = resources.detectResources({
    detectors: [resources.processDetector, resources.hostDetector, resources.envDetector],
  });
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': serviceName }))
    .merge(detected);
  // JSON bodies (the exporter's only encoding): any OTLP/HTTP receiver accepts them on /v1/traces.
  const exporter = new RedactingExporter(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  // Registers the AsyncLocalStorage context manager and the W3C trace-context (traceparent) propagator.
  provider.register();
  instr.registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new http.HttpInstrumentation({
        // Probes and scrapes are not requests anyone follows; they would drown the traces.
        ignoreIncomingRequestHook: (req) => /^\/(healthz|readyz|metrics)(\?|$)/.test(req.url ?? ''),
      }),
      new undici.UndiciInstrumentation(),
      // Statements only, with their placeholders; parameter values are never recorded (the default).
      new pg.PgInstrumentation({ enhancedDatabaseReporting: false }),
    ],
  });
  // The instrumentations patch a module when it is first require()d after this point; an ES module's `import` is
  // not seen. So what kubegraph imports from ES modules is required here, and the imports later get the same, patched,
  // objects: node:http and node:https (request, get and Server.prototype.emit patched in place; a service of ES
  // modules only, such as the Elasticsearch stand-in alone, never requires them), and pg, whose `import` is its ESM
  // wrapper around the CommonJS lib/index.js that this require loads into the shared module cache (without it, no
  // PostgreSQL span was ever recorded).
  const require = createRequire(import.meta.url);
  require('node:http');
  require('node:https');
  require('pg');
  let stopped: Promise<void> | undefined;
  const shutdown = () => (stopped ??= provider.shutdown().catch(() => undefined));
  // Buffered spans are sent when the event loop drains, and on a stop signal before the process exits.
  process.once('beforeExit', () => void shutdown());
  flushOnStopSignals(shutdown, () => void provider.forceFlush().catch(() => undefined));
  return { shutdown };
}

/** How long an exit after a stop signal waits for the last spans to be sent, at most. */
export const EXIT_FLUSH_MS = 2000;
/** The signals services/common/config.ts stopOnSignals stops on, with their numbers. */
const STOP_SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

/**
 * The last batch must not die with the process: each service stops on SIGTERM/SIGINT/SIGHUP by closing and calling
 * process.exit() (services/common/config.ts runService, services/start.ts), which ends pending exports. So on such a
 * signal the spans ended so far are sent at once (while the service closes), and the process.exit() that follows
 * waits for the tracer's shutdown (the spans ended while closing) for EXIT_FLUSH_MS at most, then exits as asked.
 * Without a signal, process.exit() is left alone (a configuration error exits at once), except in a worker thread,
 * which no signal reaches and whose process.exit() ends the thread alone (npm start's gateway thread): there it always
 * waits for the flush. When nothing else handles the signal (a service still starting), the process exits after the
 * flush as the signal's default would (128 + number).
 */
function flushOnStopSignals(shutdown: () => Promise<void>, flush: () => void): void {
  let signalled = false;
  let exiting = false;
  const exit = process.exit.bind(process);
  const exitAfterShutdown = (code: number | string | null | undefined): void => {
    if (exiting) return exit(code);
    exiting = true;
    const bound = setTimeout(() => exit(code), EXIT_FLUSH_MS);
    void shutdown().then(() => {
      clearTimeout(bound);
      exit(code);
    });
  };
  process.exit = ((code?: number | string | null) => {
    if (!signalled && isMainThread) return exit(code);
    exitAfterShutdown(code ?? process.exitCode);
  }) as typeof process.exit;
  for (const [signal, number] of Object.entries(STOP_SIGNALS)) {
    process.on(signal, () => {
      signalled = true;
      flush();
      // Alone: the signal would have ended the process, so end it (after the flush).
      if (process.listenerCount(signal) === 1) exitAfterShutdown(128 + number);
    });
  }
}

// Imported as a preload: started at once, before the entry point's modules load.
await startTracing();
