// Tracing of subscription events (issue 18 §5): with a tracer registered (as services/common/tracing.ts registers
// one), each upstream event's execution through the rest of the plan is one span, once per shared execution, named
// after the operation and without its variables, and the event's entity fetches nest under it.
import * as k8s from '@kubernetes/client-node';
import { context, propagation, trace as otelTrace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startLiveStack, type LiveStack } from './harness/live-stack.js';
import { eventually } from './harness/sandbox.js';

/** A variable value found nowhere else: it must not appear in any span. */
const SECRET = 'tier-secret-5e1b7c';

describe('subscription event spans', () => {
  const exported = new InMemorySpanExporter();
  let stack: LiveStack;
  let core: k8s.CoreV1Api;
  const ns = 'traced';

  beforeAll(async () => {
    // In this test process only: an SDK with an in-memory exporter, registered as the preload registers its own.
    new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exported)] }).register();
    stack = await startLiveStack();
    core = stack.cluster.kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'traced-pod', namespace: ns, labels: { app: 'traced', step: '0' } },
        spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
    otelTrace.disable();
    context.disable();
    propagation.disable();
  });

  it('one span per event and shared execution, named after the operation, with the entity fetches under it', async () => {
    const query = `subscription PodSteps($sel: String) { podStatusChanged(namespace: "${ns}", labelSelector: $sel) { type pod { name labels insight { summary } } } }`;
    const variables = { sel: `app=traced,tier!=${SECRET}` };
    // Two clients of one execution: one span per event, not one per client.
    const subs = [collect(stack.wsClient(), query, variables), collect(stack.wsClient(), query, variables)];
    await eventually(async () => (await stack.gatewayMetric('kubegraph_gateway_subscriptions_active')) === 2, 10_000);
    exported.reset();
    await core.patchNamespacedPod(
      { name: 'traced-pod', namespace: ns, body: { metadata: { labels: { step: '1' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const eventSpans = () =>
      exported.getFinishedSpans().filter((s) => s.name === 'graphql subscription event PodSteps');
    await eventually(
      () => subs.every((c) => c.results.length > 0) && eventSpans().length > 0,
      20_000,
      'the event at both clients and its span',
    );
    for (const c of subs) c.stop();
    const [span] = eventSpans();
    expect(eventSpans()).toHaveLength(1);
    expect(span.attributes['graphql.operation.name']).toBe('PodSteps');
    expect(span.attributes['graphql.operation.type']).toBe('subscription');
    // The entity fetch to the insight subgraph is a descendant of the event's span, in its trace.
    const all = exported.getFinishedSpans();
    const byId = new Map(all.map((s) => [s.spanContext().spanId, s]));
    const parentOf = (s: ReadableSpan) => byId.get(s.parentSpanContext?.spanId ?? '');
    const under = (s: ReadableSpan, root: ReadableSpan): boolean => {
      for (let p = parentOf(s); p; p = parentOf(p)) if (p === root) return true;
      return false;
    };
    const fetches = all.filter((s) => s.name === 'gateway.fetch' && s.attributes.service === 'insight');
    expect(fetches.some((f) => under(f, span))).toBe(true);
    expect(fetches.every((f) => f.spanContext().traceId === span.spanContext().traceId)).toBe(true);
    const recorded = JSON.stringify(all.map((s) => [s.name, s.attributes, s.events]));
    expect(recorded).not.toContain(SECRET);
  });
});
