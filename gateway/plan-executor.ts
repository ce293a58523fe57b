// A faster executor of @apollo/gateway's query plans (issue 19 §1), @apollo/gateway's planner and plan cache kept.
//
// @apollo/gateway's executor spends most of its time, per request, re-reading the operation against the API schema
// (operationFromDocument) and re-walking it to shape the answer (resultShaping.js computeResponse: @skip/@include
// directives looked up, types unwrapped, type conditions tested, for every field of every object). Here the operation
// is read once per (document, operation name) and compiled to a tree (compileProjection, gateway/plan-projection.ts)
// that the same algorithm walks with everything but the data precomputed. The fetches, merges, representations and
// error paths (gateway/plan-execution.ts) are executeQueryPlan.js's own, ported line by line, and every fetch still goes
// through our data sources. The result is the same, byte for byte (test/gateway-plan-executor.test.ts runs both
// executors side by side).
//
// The seam is public: ApolloServer's `gateway` (load / onSchemaLoadOrUpdate / stop) is wrapped so that load() returns
// our executor, which falls back to Apollo's for anything it does not handle: non-query operations, plans not cached
// yet (Apollo plans and caches them), @defer, introspection, input/output rewrites, query-plan tracing, a request that
// asks for its query plan, variables Apollo would refuse, and any request while an OpenTelemetry span is recording
// (Apollo's executor makes the gateway.* spans).
//
// This module holds the wrapper, the plan cache seam and those decisions (which requests, which plan shapes); it is
// split from the projection and the plan execution so that each stays readable (issue 14: files of 500 lines at most).
//
// Third-party code: the key handledRequestKey returns is ApolloGateway's queryPlanStoreKey, computed as in src/index.ts
// of @apollo/gateway 2.14.4 (Copyright 2021 Apollo Graph, Inc.), modified (moved into a function of its own); that
// expression is under the Elastic License 2.0: see gateway/THIRD_PARTY_NOTICES.md. The rest of this module is ours.
import { createHash } from 'node:crypto';
import { operationFromDocument, type Supergraph } from '@apollo/federation-internals';
import type { FetchNode, PlanNode, QueryPlan } from '@apollo/query-planner';
import { trace } from '@opentelemetry/api';
import { Kind, type OperationDefinitionNode } from 'graphql';
import { getVariableValues } from 'graphql/execution/values.js';
import type { ApolloGateway, GraphQLDataSource } from '@apollo/gateway';
import {
  buildSchemas,
  executePlan,
  schemasOf,
  type ExecutionResult,
  type GatewayExecutor,
  type GatewayRequestContext,
  type Schemas,
} from './plan-execution.js';
import { compileProjection, type CompiledOperation } from './plan-projection.js';

export type { GatewayExecutor, GatewayRequestContext } from './plan-execution.js';

type GatewayLoad = ApolloGateway['load'];

/** The part of ApolloServer's GatewayInterface the wrapper needs (ApolloGateway has it). */
export interface WrappableGateway {
  load: GatewayLoad;
  onSchemaLoadOrUpdate: ApolloGateway['onSchemaLoadOrUpdate'];
  stop: ApolloGateway['stop'];
}

/**
 * ApolloGateway's (private) step that builds the Supergraph of each SDL it loads. When it is there, the executor
 * takes the same Supergraph (its API schema included) rather than building and validating a second one: ~150 ms of
 * CPU at the first request (issue 19 §4), and measured about 20% less CPU per request under load (bench/README.md,
 * gateway-throughput). When a later @apollo/gateway lacks it, the executor builds its own.
 */
interface SupergraphBuildingGateway {
  createSchemaFromSupergraphSdl?: (sdl: string) => { supergraph: Supergraph; supergraphSdl: string };
}

/** The query plan cache given to ApolloGateway (queryPlannerConfig.cache). */
export interface PlanCache {
  get(key: string): Promise<QueryPlan | undefined>;
  set(key: string, value: QueryPlan, options?: { ttl?: number | null }): Promise<void>;
  delete(key: string): Promise<boolean | void>;
  clear(): void;
}

export interface PlanExecutorOptions {
  /** The plan cache ApolloGateway plans into (caches.ts). */
  plans: PlanCache;
  /** The data sources of the subgraphs, by name (buildService's). */
  dataSources: () => Record<string, GraphQLDataSource>;
  /** Compiled operations kept (default 1000). */
  maxOperations?: number;
}

export interface PlanExecutor {
  /** The plan cache to give ApolloGateway in place of opts.plans (one lookup per request, see get). */
  plans: PlanCache;
  /** ApolloServer's `gateway`: the gateway whose executor runs ours first. */
  wrap(gateway: WrappableGateway): WrappableGateway;
  /** Requests answered by each executor (for tests and the benchmark's profile notes). */
  stats(): { ours: number; apollo: number };
}

/** Not handled: the request goes to Apollo's executor. */
const UNHANDLED = Symbol('unhandled');
/** Not handled because its plan is not cached yet: Apollo's executor plans it (and caches it for the next time). */
const NOT_PLANNED = Symbol('not planned');

export function createPlanExecutor(opts: PlanExecutorOptions): PlanExecutor {
  const maxOperations = opts.maxOperations ?? 1000;
  let sdl: string | undefined;
  let schemas: Schemas | undefined;
  const compiled = new Map<string, CompiledOperation | typeof UNHANDLED>();
  const counts = { ours: 0, apollo: 0 };
  // The key of a plan this executor just missed, while Apollo's executor (called synchronously after the miss) looks
  // it up again: that second lookup is answered as a miss without asking the store, so each request counts one lookup.
  let missedKey: string | undefined;

  const plans: PlanCache = {
    get(key) {
      if (missedKey === key) {
        missedKey = undefined;
        return Promise.resolve(undefined);
      }
      return opts.plans.get(key);
    },
    set: (key, value, o) => opts.plans.set(key, value, o),
    delete: (key) => opts.plans.delete(key),
    clear: () => opts.plans.clear(),
  };

  function schemasNow(): Schemas | undefined {
    if (!schemas && sdl) schemas = buildSchemas(sdl);
    return schemas;
  }

  function compiledFor(key: string, rc: GatewayRequestContext): CompiledOperation | typeof UNHANDLED {
    const hit = compiled.get(key);
    if (hit) return hit;
    const s = schemasNow();
    if (!s) return UNHANDLED;
    let entry: CompiledOperation | typeof UNHANDLED;
    try {
      entry = compileOperation(s, rc);
    } catch {
      entry = UNHANDLED;
    }
    if (compiled.size >= maxOperations) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, entry);
    return entry;
  }

  async function ours(
    rc: GatewayRequestContext,
    key: string,
  ): Promise<ExecutionResult | typeof UNHANDLED | typeof NOT_PLANNED> {
    const op = compiledFor(key, rc);
    if (op === UNHANDLED) return UNHANDLED;
    // Apollo's validateIncomingRequest: variables it would refuse get its own errors.
    if (op.variableDefinitions.length) {
      const { errors } = getVariableValues(rc.schema, op.variableDefinitions, rc.request.variables || {});
      if (errors) return UNHANDLED;
    }
    const plan = await opts.plans.get(key);
    if (!plan) return NOT_PLANNED;
    if (!planHandled(plan)) return UNHANDLED;
    return executePlan(plan, op, rc, opts.dataSources(), schemasNow()!);
  }

  return {
    plans,
    stats: () => ({ ...counts }),
    wrap(gateway) {
      const building = gateway as WrappableGateway & SupergraphBuildingGateway;
      const build = building.createSchemaFromSupergraphSdl;
      let built: { sdl: string; supergraph: Supergraph } | undefined;
      if (typeof build === 'function')
        building.createSchemaFromSupergraphSdl = (s) => {
          const result = build.call(gateway, s);
          built = { sdl: result.supergraphSdl, supergraph: result.supergraph };
          return result;
        };
      // Registered before ApolloServer loads the gateway: the supergraph it loads (and any later one).
      gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => {
        if (coreSupergraphSdl === sdl) return;
        sdl = coreSupergraphSdl;
        schemas = built?.sdl === sdl ? schemasOf(built.supergraph) : undefined;
        built = undefined;
        compiled.clear();
      });
      return {
        onSchemaLoadOrUpdate: (cb) => gateway.onSchemaLoadOrUpdate(cb),
        stop: () => gateway.stop(),
        async load(options) {
          const loaded = await gateway.load(options);
          const apollo = loaded.executor;
          const executor: GatewayExecutor = async (rc) => {
            const key = handledRequestKey(rc);
            const result = key === undefined ? UNHANDLED : await ours(rc, key);
            if (result !== UNHANDLED && result !== NOT_PLANNED) {
              counts.ours++;
              return result;
            }
            counts.apollo++;
            // Apollo's executor looks the plan up synchronously, before its first await: the marker is set just
            // before and cleared just after, so no other request's lookup can see it.
            if (result === NOT_PLANNED) missedKey = key;
            try {
              return apollo(rc);
            } finally {
              missedKey = undefined;
            }
          };
          return { ...loaded, executor };
        },
      };
    },
  };
}

/**
 * The plan cache key of a request this executor may handle (ApolloGateway's queryPlanStoreKey), or undefined: not a
 * query, query-plan tracing on (usage reporting), the client asks for the query plan, or an OpenTelemetry span is
 * recording (Apollo's executor records the gateway's spans).
 */
function handledRequestKey(rc: GatewayRequestContext): string | undefined {
  if (rc.operation?.operation !== 'query') return undefined;
  if (rc.metrics?.captureTraces) return undefined;
  if (rc.request.http?.headers.get('apollo-query-plan-experimental')) return undefined;
  if (trace.getActiveSpan()?.isRecording()) return undefined;
  const { queryHash } = rc;
  const name = rc.request.operationName;
  return name ? createHash('sha256').update(queryHash).update(name).digest('hex') : queryHash;
}

// ---- The plan shapes handled ----

const handledPlans = new WeakMap<QueryPlan, boolean>();

/** Fetch, Sequence, Parallel, Flatten and Condition nodes, without input or output rewrites; no @defer. */
export function planHandled(plan: QueryPlan): boolean {
  let ok = handledPlans.get(plan);
  if (ok === undefined) {
    ok = !plan.node || (plan.node.kind !== 'Subscription' && nodeHandled(plan.node));
    handledPlans.set(plan, ok);
  }
  return ok;
}

function nodeHandled(node: PlanNode): boolean {
  switch (node.kind) {
    case 'Fetch': {
      const rewrites = node as FetchNode & { contextRewrites?: unknown[] };
      return !node.inputRewrites?.length && !node.outputRewrites?.length && !rewrites.contextRewrites?.length;
    }
    case 'Sequence':
    case 'Parallel':
      return node.nodes.every(nodeHandled);
    case 'Flatten':
      return nodeHandled(node.node);
    case 'Condition':
      return (!node.ifClause || nodeHandled(node.ifClause)) && (!node.elseClause || nodeHandled(node.elseClause));
    default:
      return false;
  }
}

// ---- The operation of a request ----

/** The operation of a request read against the API schema and compiled; throws when it is not handled. */
function compileOperation(s: Schemas, rc: GatewayRequestContext): CompiledOperation {
  const def = rc.document.definitions.find(
    (d): d is OperationDefinitionNode =>
      d.kind === Kind.OPERATION_DEFINITION && (!rc.request.operationName || d.name?.value === rc.request.operationName),
  );
  if (!def) throw new Error('no operation');
  const definitions = [def, ...rc.document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION)];
  // As executeQueryPlan reads it: this operation and the fragments, not validated again.
  const operation = operationFromDocument(s.api, { kind: Kind.DOCUMENT, definitions }, { validate: false });
  return compileProjection(operation, def);
}
