// A faster executor of @apollo/gateway's query plans (issue 19 §1), @apollo/gateway's planner and plan cache kept.
//
// @apollo/gateway's executor spends most of its time, per request, re-reading the operation against the API schema
// (operationFromDocument) and re-walking it to shape the answer (resultShaping.js computeResponse: @skip/@include
// directives looked up, types unwrapped, type conditions tested, for every field of every object). Here the operation
// is read once per (document, operation name) and compiled to a tree (compileProjection) that the same algorithm walks
// with everything but the data precomputed. The fetches, merges, representations and error paths are
// executeQueryPlan.js's own, ported line by line, and every fetch still goes through our data sources. The result is
// the same, byte for byte (test/gateway-plan-executor.test.ts runs both executors side by side).
//
// The seam is public: ApolloServer's `gateway` (load / onSchemaLoadOrUpdate / stop) is wrapped so that load() returns
// our executor, which falls back to Apollo's for anything it does not handle: non-query operations, plans not cached
// yet (Apollo plans and caches them), @defer, introspection, input/output rewrites, query-plan tracing, a request that
// asks for its query plan, variables Apollo would refuse, and any request while an OpenTelemetry span is recording
// (Apollo's executor makes the gateway.* spans).
import { createHash } from 'node:crypto';
import {
  ERRORS,
  assert,
  errorCodeDef,
  isCompositeType,
  isListType,
  isNonNullType,
  isObjectType,
  isSubtype,
  isValidLeafValue,
  operationFromDocument,
  Supergraph,
  Variable,
  type CompositeType,
  type Operation,
  type Schema,
  type SelectionSet,
  type Type,
} from '@apollo/federation-internals';
import {
  evaluateCondition,
  getResponseName,
  type FetchNode,
  type PlanNode,
  type QueryPlan,
  type QueryPlanSelectionNode,
  type ResponsePath,
} from '@apollo/query-planner';
import { trace } from '@opentelemetry/api';
import {
  GraphQLError,
  Kind,
  isAbstractType,
  isInterfaceType,
  isObjectType as isGraphQLObjectType,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { getVariableValues } from 'graphql/execution/values.js';
import type { ApolloGateway, GraphQLDataSource } from '@apollo/gateway';

type ProcessOptions = Parameters<GraphQLDataSource['process']>[0];
/**
 * GraphQLDataSourceRequestKind.INCOMING_OPERATION: @apollo/gateway does not export the enum from its index; its value
 * is this string (test/gateway-plan-executor.test.ts checks that our data source sees it).
 */
const INCOMING_OPERATION = 'incoming operation' as unknown as Extract<ProcessOptions, { request: unknown }>['kind'];

type GatewayLoad = ApolloGateway['load'];
type LoadResult = Awaited<ReturnType<GatewayLoad>>;
export type GatewayExecutor = LoadResult['executor'];
export type GatewayRequestContext = Parameters<GatewayExecutor>[0];
type ExecutionResult = Awaited<ReturnType<GatewayExecutor>>;

/** The part of ApolloServer's GatewayInterface the wrapper needs (ApolloGateway has it). */
export interface WrappableGateway {
  load: GatewayLoad;
  onSchemaLoadOrUpdate: ApolloGateway['onSchemaLoadOrUpdate'];
  stop: ApolloGateway['stop'];
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
      // Registered before ApolloServer loads the gateway: the supergraph it loads (and any later one).
      gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => {
        if (coreSupergraphSdl === sdl) return;
        sdl = coreSupergraphSdl;
        schemas = undefined;
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

interface Schemas {
  api: Schema;
  supergraph: Schema;
  /** The supergraph as graphql-js, for isObjectOfType (built the first time it is needed). */
  supergraphJs(): GraphQLSchema;
}

function buildSchemas(sdl: string): Schemas {
  const supergraph = Supergraph.build(sdl);
  let js: GraphQLSchema | undefined;
  return {
    api: supergraph.apiSchema(),
    supergraph: supergraph.schema,
    supergraphJs: () => (js ??= supergraph.schema.toGraphQLJSSchema()),
  };
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

// ---- The operation, compiled ----

/** One selection of the operation, with what resultShaping.js looks up per request precomputed. */
type CSelection = CField | CFragment;

/** An applied @skip or @include. */
interface IfDirective {
  arguments(): { if: boolean | Variable };
  toString(): string;
}

interface Conditions {
  skip?: IfDirective;
  include?: IfDirective;
}

interface CField extends Conditions {
  field: true;
  responseName: string;
  isTypename: boolean;
  type: Type;
  selectionSet?: CSelection[];
}

interface CFragment extends Conditions {
  field: false;
  typeCondition?: CompositeType;
  selectionSet: CSelection[];
  /** typeConditionApplies, by __typename (or by parent type when there is none: key '\0' + name). */
  applies: Map<string, boolean>;
}

export interface CompiledOperation {
  operation: Operation;
  schema: Schema;
  rootType: CompositeType;
  selectionSet: CSelection[];
  /** The operation's variable definitions (graphql-js), for Apollo's variable validation. */
  variableDefinitions: NonNullable<OperationDefinitionNode['variableDefinitions']>;
  defaultedVariables: Record<string, unknown>;
}

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

/** The projection of an operation (exported for unit tests). */
export function compileProjection(operation: Operation, def: OperationDefinitionNode): CompiledOperation {
  const schema = operation.schema();
  const rootType = schema.schemaDefinition.rootType(operation.rootKind);
  if (!rootType) throw new Error(`no ${operation.rootKind} type`);
  return {
    operation,
    schema,
    rootType,
    selectionSet: compileSelectionSet(schema, operation.selectionSet),
    variableDefinitions: def.variableDefinitions ?? [],
    defaultedVariables: operation.collectDefaultedVariableValues(),
  };
}

function compileSelectionSet(schema: Schema, set: SelectionSet): CSelection[] {
  return set.selections().map((selection): CSelection => {
    const element = selection.element;
    const conditions: Conditions = {};
    const skip = element.appliedDirectivesOf(schema.skipDirective())[0];
    const include = element.appliedDirectivesOf(schema.includeDirective())[0];
    if (skip) conditions.skip = skip;
    if (include) conditions.include = include;
    if (selection.kind === 'FieldSelection') {
      const field = selection.element;
      // Introspection (__schema, __type) is answered by Apollo's executor.
      if (field.definition.isSchemaIntrospectionField()) throw new Error('introspection');
      const sub = selection.selectionSet;
      return {
        ...conditions,
        field: true,
        responseName: field.responseName(),
        isTypename: field.name === '__typename',
        type: field.definition.type!,
        selectionSet: sub ? compileSelectionSet(schema, sub) : undefined,
      };
    }
    return {
      ...conditions,
      field: false,
      typeCondition: selection.element.typeCondition,
      selectionSet: compileSelectionSet(schema, selection.selectionSet),
      applies: new Map(),
    };
  });
}

// ---- Shaping the answer: resultShaping.js computeResponse over the compiled tree ----

interface ShapeParameters {
  schema: Schema;
  variables: Record<string, unknown>;
  errors: GraphQLError[];
}

const OK = 0;
const NULL_BUBBLE_UP = 1;
type ApplyResult = typeof OK | typeof NULL_BUBBLE_UP;

const hasOwn = (obj: object, prop: string) => Object.prototype.hasOwnProperty.call(obj, prop);
type Data = Record<string, unknown>;

/** computeResponse: the client's answer from the merged subgraph data. */
export function shapeResponse(
  op: CompiledOperation,
  variables: Record<string, unknown> | undefined,
  input: Data | null | undefined,
): { data: Data | null | undefined; errors: GraphQLError[] } {
  if (!input) return { data: input, errors: [] };
  const parameters: ShapeParameters = {
    schema: op.schema,
    variables: { __proto__: null, ...op.defaultedVariables, ...variables },
    errors: [],
  };
  const data = Object.create(null) as Data;
  const res = applySelectionSet(input, op.selectionSet, data, parameters, [], op.rootType);
  return { data: res === NULL_BUBBLE_UP ? null : data, errors: parameters.errors };
}

function shouldSkip(c: Conditions, variables: Record<string, unknown>): boolean {
  if (!c.skip && !c.include) return false;
  return Boolean((c.skip && ifValue(c.skip, variables)) || (c.include && !ifValue(c.include, variables)));
}

function ifValue(directive: IfDirective, variables: Record<string, unknown>): boolean {
  const ifArg = directive.arguments().if;
  if (ifArg instanceof Variable) {
    const value = variables[ifArg.name];
    assert(
      value !== undefined && typeof value === 'boolean',
      () => `Unexpected value ${String(value)} for variable ${String(ifArg)} of ${String(directive)}`,
    );
    return value as boolean;
  }
  return ifArg;
}

function typeConditionApplies(
  schema: Schema,
  fragment: CFragment,
  typename: string | undefined,
  parentType: CompositeType,
): boolean {
  const typeCondition = fragment.typeCondition;
  if (!typeCondition) return true;
  const key = typename ? typename : `\0${parentType.name}`;
  let applies = fragment.applies.get(key);
  if (applies === undefined) {
    if (typename) {
      const type = schema.type(typename);
      applies = !!type && isSubtype(typeCondition, type);
    } else {
      applies = isSubtype(typeCondition, parentType);
    }
    // Bounded: the schema's types are finite, but a subgraph could send any __typename.
    if (fragment.applies.size < 256) fragment.applies.set(key, applies);
  }
  return applies;
}

function applySelectionSet(
  input: Data,
  selectionSet: CSelection[],
  output: Data,
  parameters: ShapeParameters,
  path: (string | number)[],
  parentType: CompositeType,
): ApplyResult {
  for (const selection of selectionSet) {
    if (shouldSkip(selection, parameters.variables)) continue;
    if (selection.field) {
      const responseName = selection.responseName;
      const outputValue = output[responseName];
      let inputValue = (hasOwn(input, responseName) ? input[responseName] : undefined) ?? null;
      if (selection.isTypename) {
        if (outputValue === undefined) {
          if (inputValue === null && responseName !== '__typename') inputValue = input.__typename ?? null;
          const type =
            inputValue !== null && typeof inputValue === 'string'
              ? (parameters.schema.type(inputValue) ?? parentType)
              : parentType;
          if (!isObjectType(type)) return NULL_BUBBLE_UP;
          output[responseName] = type.name;
        }
        continue;
      }
      path.push(responseName);
      const { updated, isInvalid } = updateOutputValue(
        outputValue,
        selection.type,
        inputValue,
        selection.selectionSet,
        path,
        parameters,
        parentType,
      );
      output[responseName] = updated;
      path.pop();
      if (isInvalid) return NULL_BUBBLE_UP;
    } else {
      const typename = input.__typename;
      assert(
        !typename || typeof typename === 'string',
        () => `Got unexpected value for __typename: ${String(typename)}`,
      );
      if (typeConditionApplies(parameters.schema, selection, typename as string | undefined, parentType)) {
        const res = applySelectionSet(
          input,
          selection.selectionSet,
          output,
          parameters,
          path,
          selection.typeCondition ?? parentType,
        );
        if (res === NULL_BUBBLE_UP) return NULL_BUBBLE_UP;
      }
    }
  }
  return OK;
}

function pathLastElementDescription(path: (string | number)[], currentType: Type, parentType: CompositeType): string {
  const element = path[path.length - 1];
  assert(element !== undefined, 'Should not have been called on an empty path');
  return typeof element === 'string'
    ? `field ${String(parentType)}.${element}`
    : `array element of type ${String(currentType)} at index ${element}`;
}

interface Updated {
  updated: unknown;
  isInvalid?: boolean;
  hasErrors?: boolean;
}

function updateOutputValue(
  outputValue: unknown,
  type: Type,
  inputValue: unknown,
  selectionSet: CSelection[] | undefined,
  path: (string | number)[],
  parameters: ShapeParameters,
  parentType: CompositeType,
): Updated {
  assert(inputValue !== undefined, 'Should not pass undefined for `inputValue` to this method');
  if (outputValue === null || (outputValue !== undefined && !selectionSet)) return { updated: outputValue };
  if (isNonNullType(type)) {
    const { updated, hasErrors } = updateOutputValue(
      outputValue,
      type.ofType,
      inputValue,
      selectionSet,
      path,
      parameters,
      parentType,
    );
    if (updated === null) {
      if (!hasErrors) {
        parameters.errors.push(
          ERRORS.INVALID_GRAPHQL.err(
            `Cannot return null for non-nullable ${pathLastElementDescription(path, type.ofType, parentType)}.`,
            { path: Array.from(path) },
          ),
        );
      }
      return { updated, isInvalid: true, hasErrors: true };
    }
    return { updated };
  }
  if (inputValue === null) return { updated: null };
  if (isListType(type)) {
    assert(
      Array.isArray(inputValue),
      () => `Invalid non-list value ${String(inputValue)} returned by subgraph for list type ${String(type)}`,
    );
    assert(
      outputValue === undefined || Array.isArray(outputValue),
      () => `Invalid non-list value ${String(outputValue)} returned by subgraph for list type ${String(type)}`,
    );
    const inputList = inputValue as unknown[];
    const outputValueList =
      outputValue === undefined ? new Array<unknown>(inputList.length).fill(undefined) : (outputValue as unknown[]);
    assert(
      inputList.length === outputValueList.length,
      () =>
        `[${String(inputList)}].length (${inputList.length}) !== [${String(outputValueList)}].length (${outputValueList.length})`,
    );
    let shouldNullify = false;
    let hasErrors = false;
    const updated = new Array<unknown>(outputValueList.length);
    for (let idx = 0; idx < outputValueList.length; idx++) {
      path.push(idx);
      const elt = updateOutputValue(
        outputValueList[idx],
        type.ofType,
        inputList[idx],
        selectionSet,
        path,
        parameters,
        parentType,
      );
      path.pop();
      shouldNullify ||= !!elt.isInvalid;
      hasErrors ||= !!elt.hasErrors;
      updated[idx] = elt.updated;
    }
    return { updated: shouldNullify ? null : updated, hasErrors };
  }
  if (isCompositeType(type)) {
    assert(selectionSet, () => `Invalid empty selection set for composite type ${String(type)}`);
    assert(
      typeof inputValue === 'object',
      () => `Invalid non-object value ${String(inputValue)} returned by subgraph for composite type ${String(type)}`,
    );
    assert(
      outputValue === undefined || typeof outputValue === 'object',
      () => `Invalid non-object value ${String(inputValue)} returned by subgraph for composite type ${String(type)}`,
    );
    const inputObject = inputValue as Data;
    const inputTypename = inputObject.__typename;
    assert(
      inputTypename === undefined || typeof inputTypename === 'string',
      () => `Invalid non-string value ${String(inputTypename)} for __typename at ${String(path)}`,
    );
    let objType: CompositeType = type;
    if (inputTypename) {
      const typenameType = parameters.schema.type(inputTypename as string);
      if (!typenameType || !isCompositeType(typenameType)) {
        parameters.errors.push(
          ERRORS.INVALID_GRAPHQL.err(
            `Invalid __typename found for object at ${pathLastElementDescription(path, type, parentType)}.`,
            { path: Array.from(path) },
          ),
        );
        return { updated: null, hasErrors: true };
      }
      objType = typenameType;
    }
    const outputValueObject = outputValue === undefined ? (Object.create(null) as Data) : (outputValue as Data);
    const res = applySelectionSet(inputObject, selectionSet!, outputValueObject, parameters, path, objType);
    const hasErrors = res === NULL_BUBBLE_UP;
    return { updated: hasErrors ? null : outputValueObject, hasErrors };
  }
  assert(
    outputValue === undefined,
    () => `Excepted output to be undefined but got ${String(type)} for type ${String(type)}`,
  );
  const isValidValue = isValidLeafValue(parameters.schema, inputValue, type as Parameters<typeof isValidLeafValue>[2]);
  if (!isValidValue) {
    parameters.errors.push(
      ERRORS.INVALID_GRAPHQL.err(`Invalid value found for ${pathLastElementDescription(path, type, parentType)}.`, {
        path: Array.from(path),
      }),
    );
  }
  return { updated: isValidValue ? inputValue : null, hasErrors: !isValidValue };
}

// ---- Executing the plan: executeQueryPlan.js, without its spans and query-plan traces ----

interface ExecutionContext {
  plan: QueryPlan;
  op: CompiledOperation;
  rc: GatewayRequestContext;
  dataSources: Record<string, GraphQLDataSource>;
  schemas: Schemas;
  errors: Error[];
}

interface Cursor {
  path: ResponsePath;
  data: unknown;
  fullResult: Data;
}

async function executePlan(
  plan: QueryPlan,
  op: CompiledOperation,
  rc: GatewayRequestContext,
  dataSources: Record<string, GraphQLDataSource>,
  schemas: Schemas,
): Promise<ExecutionResult> {
  const context: ExecutionContext = { plan, op, rc, dataSources, schemas, errors: [] };
  const unfilteredData = Object.create(null) as Data;
  if (plan.node && plan.node.kind !== 'Subscription')
    await executeNode(context, plan.node, { path: [], data: unfilteredData, fullResult: unfilteredData });
  const { errors } = context;
  let data: Data | null | undefined;
  try {
    let postProcessingErrors: GraphQLError[];
    ({ data, errors: postProcessingErrors } = shapeResponse(op, rc.request.variables, unfilteredData));
    if (errors.length === 0 && postProcessingErrors.length > 0) {
      return { extensions: { valueCompletion: postProcessingErrors }, data } as ExecutionResult;
    }
  } catch (error) {
    if (error instanceof GraphQLError) return { errors: [error] };
    if (error instanceof Error) return { errors: [new GraphQLError(error.message, { originalError: error })] };
    (rc.logger || console).error('Unexpected error during query plan execution: ' + String(error));
    return { errors: [new GraphQLError('Unexpected error during query plan execution')] };
  }
  return (errors.length === 0 ? { data } : { errors, data }) as ExecutionResult;
}

async function executeNode(context: ExecutionContext, node: PlanNode, cursor: Cursor | undefined): Promise<void> {
  if (!cursor) return;
  switch (node.kind) {
    case 'Sequence':
      for (const child of node.nodes) await executeNode(context, child, cursor);
      return;
    case 'Parallel':
      await Promise.all(node.nodes.map((child) => executeNode(context, child, cursor)));
      return;
    case 'Flatten':
      await executeNode(context, node.node, moveIntoCursor(cursor, node.path));
      return;
    case 'Fetch':
      try {
        await executeFetch(context, node, cursor);
      } catch (error) {
        context.errors.push(error as Error);
      }
      return;
    case 'Condition': {
      const condition = evaluateCondition(node, context.op.operation.variableDefinitions, context.rc.request.variables);
      const picked = condition ? node.ifClause : node.elseClause;
      if (picked) await executeNode(context, picked, cursor);
      return;
    }
    default:
      // planHandled let no other node through.
      assert(false, `Unexpected plan node ${node.kind}`);
  }
}

async function executeFetch(context: ExecutionContext, fetch: FetchNode, cursor: Cursor): Promise<void> {
  const service = context.dataSources[fetch.serviceName];
  if (!service) throw new Error(`Couldn't find service with name "${fetch.serviceName}"`);
  const entities: Data[] = Array.isArray(cursor.data)
    ? (cursor.data as (Data | null | undefined)[]).filter((e): e is Data => e !== null && e !== undefined)
    : [cursor.data as Data];
  if (entities.length < 1) return;
  const variables = Object.create(null) as Data;
  const provided = context.rc.request.variables;
  if (fetch.variableUsages) {
    for (const name of fetch.variableUsages) {
      if (provided && hasOwn(provided, name) && typeof provided[name] !== 'undefined') variables[name] = provided[name];
    }
  }
  if (!fetch.requires) {
    const received = await sendOperation(context, fetch, cursor, variables);
    for (const entity of entities) deepMerge(entity, received);
    return;
  }
  const requires = fetch.requires;
  const representations: Data[] = [];
  const representationToEntity: number[] = [];
  entities.forEach((entity, index) => {
    const representation = executeSelectionSet(context.schemas, entity, requires);
    if (representation && representation.__typename) {
      representations.push(representation);
      representationToEntity.push(index);
    }
  });
  if (representations.length < 1) return;
  if ('representations' in variables) throw new Error(`Variables cannot contain key "representations"`);
  const received = await sendOperation(context, fetch, cursor, { ...variables, representations });
  if (!received) return;
  if (!(received._entities && Array.isArray(received._entities))) {
    throw new Error(`Expected "data._entities" in response to be an array`);
  }
  const receivedEntities = received._entities as (Data | null)[];
  if (receivedEntities.length !== representations.length) {
    throw new Error(`Expected "data._entities" to contain ${representations.length} elements`);
  }
  // As Apollo's: up to entities.length (not representations.length); the extra indexes merge undefined (no-op).
  for (let i = 0; i < entities.length; i++) {
    const receivedEntity = receivedEntities[i];
    const existingEntity = entities[representationToEntity[i]];
    if (receivedEntity && !receivedEntity.__typename) receivedEntity.__typename = existingEntity.__typename;
    deepMerge(entities[representationToEntity[i]], receivedEntity);
  }
}

async function sendOperation(
  context: ExecutionContext,
  fetch: FetchNode,
  cursor: Cursor,
  variables: Data,
): Promise<Data | null | undefined> {
  const { rc } = context;
  const response = await context.dataSources[fetch.serviceName].process({
    kind: INCOMING_OPERATION,
    request: { query: fetch.operation, variables, operationName: fetch.operationName, http: undefined },
    incomingRequestContext: rc,
    context: rc.context,
    document: fetch.operationDocumentNode,
    pathInIncomingRequest: cursor.path,
  });
  if (response.errors) {
    const errorPath = lazyErrorPath(fetch, cursor);
    context.errors.push(...response.errors.map((e) => downstreamServiceError(e, fetch.serviceName, errorPath)));
    if (!response.extensions?.ftv1) {
      const errorPaths = response.errors.map((error) => ({ subgraph: fetch.serviceName, path: error.path }));
      const metrics = rc.metrics as { nonFtv1ErrorPaths?: { subgraph: string; path?: unknown }[] };
      if (metrics.nonFtv1ErrorPaths) metrics.nonFtv1ErrorPaths.push(...errorPaths);
      else metrics.nonFtv1ErrorPaths = errorPaths;
    }
  }
  return response.data as Data | null | undefined;
}

type ErrorPath = GraphQLFormattedError['path'];

function lazyErrorPath(fetch: FetchNode, cursor: Cursor): (path: ErrorPath) => (string | number)[] | undefined {
  let hydratedPaths: (string | number)[][] | undefined;
  return (errorPath) => {
    if (fetch.requires && typeof errorPath?.[1] === 'number') {
      if (!hydratedPaths) {
        hydratedPaths = [];
        generateHydratedPaths([], cursor.path, cursor.fullResult, hydratedPaths);
      }
      const hydratedPath = hydratedPaths[errorPath[1]] ?? [];
      return [...hydratedPath, ...errorPath.slice(2)];
    }
    return errorPath ? [...cursor.path, ...errorPath.slice()] : undefined;
  };
}

function generateHydratedPaths(
  parent: (string | number)[],
  path: ResponsePath,
  data: unknown,
  result: (string | number)[][],
): void {
  const head = path[0];
  if (data == null) return;
  if (head == null) {
    result.push(parent.slice());
  } else if (head === '@') {
    assert(Array.isArray(data), 'expected array when encountering `@`');
    for (const [i, value] of (data as unknown[]).entries()) {
      parent.push(i);
      generateHydratedPaths(parent, path.slice(1), value, result);
      parent.pop();
    }
  } else if (typeof head === 'string') {
    if (Array.isArray(data)) {
      for (const [i, value] of data.entries()) {
        parent.push(i);
        generateHydratedPaths(parent, path, value, result);
        parent.pop();
      }
    } else if (hasOwn(data as object, head)) {
      parent.push(head);
      generateHydratedPaths(parent, path.slice(1), (data as Data)[head], result);
      parent.pop();
    }
  } else {
    assert(false, `unknown path part "${String(head)}"`);
  }
}

function downstreamServiceError(
  originalError: GraphQLFormattedError,
  serviceName: string,
  errorPath: (path: ErrorPath) => (string | number)[] | undefined,
): GraphQLError {
  let { message } = originalError;
  const { extensions } = originalError;
  if (!message) message = `Error while fetching subquery from service "${serviceName}"`;
  const errorOptions = {
    // As Apollo's: the subgraph's error (a plain object) is the original error.
    originalError: originalError as Error,
    path: errorPath(originalError.path),
    extensions: { ...extensions, serviceName },
  };
  const codeDef = errorCodeDef(originalError as GraphQLError);
  if (!codeDef && extensions?.code) return new GraphQLError(message, errorOptions);
  return (codeDef ?? ERRORS.DOWNSTREAM_SERVICE_ERROR).err(message, errorOptions);
}

/** executeQueryPlan's executeSelectionSet: an entity's representation, from the fetch's `requires`. */
function executeSelectionSet(schemas: Schemas, source: unknown, selections: QueryPlanSelectionNode[]): Data | null {
  if (source === null) return null;
  const src = source as Data;
  const result = Object.create(null) as Data;
  for (const selection of selections) {
    if (selection.kind === Kind.FIELD) {
      const responseName = getResponseName(selection);
      const sub = selection.selections;
      if (!hasOwn(src, responseName) || typeof src[responseName] === 'undefined') return null;
      const value = src[responseName];
      if (Array.isArray(value)) {
        result[responseName] = value.map((v: unknown) => (sub ? executeSelectionSet(schemas, v, sub) : v));
      } else if (sub) {
        result[responseName] = executeSelectionSet(schemas, value, sub);
      } else {
        result[responseName] = value;
      }
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (!selection.typeCondition || !src) continue;
      if (isObjectOfType(schemas, src, selection.typeCondition)) {
        deepMerge(result, executeSelectionSet(schemas, src, selection.selections));
      }
    }
  }
  return result;
}

/** dataRewrites.js isObjectOfType (defaultOnUnknownObjType false). */
function isObjectOfType(schemas: Schemas, obj: Data, typeCondition: string): boolean {
  const objTypename = obj.__typename;
  if (!objTypename) return false;
  if (typeCondition === objTypename) return true;
  const schema = schemas.supergraphJs();
  const type = schema.getType(objTypename as string);
  if (!type) return false;
  const conditionalType = schema.getType(typeCondition);
  if (!conditionalType) return false;
  if (isAbstractType(conditionalType)) {
    return (isGraphQLObjectType(type) || isInterfaceType(type)) && schema.isSubType(conditionalType, type);
  }
  return false;
}

function moveIntoCursor(cursor: Cursor, pathInCursor: ResponsePath): Cursor | undefined {
  const data = flattenResultsAtPath(cursor.data, pathInCursor);
  return data ? { path: cursor.path.concat(pathInCursor), data, fullResult: cursor.fullResult } : undefined;
}

/** executeQueryPlan.js flattenResultsAtPath, walking the path by index (no copy of its rest per level). */
function flattenResultsAtPath(value: unknown, path: ResponsePath, from = 0): unknown {
  if (from === path.length) return value;
  if (value === undefined || value === null) return value;
  const current = path[from];
  if (current === '@') return (value as unknown[]).flatMap((element) => flattenResultsAtPath(element, path, from + 1));
  assert(typeof current === 'string', () => `Unexpected ${typeof current} found in path`);
  assert(!Array.isArray(value), () => `Unexpected array in result for path element ${String(current)}`);
  return flattenResultsAtPath(hasOwn(value as object, current) ? (value as Data)[current] : undefined, path, from + 1);
}

const isObject = (v: unknown): v is Data => v !== undefined && v !== null && typeof v === 'object' && !Array.isArray(v);

function defineOwn(obj: Data, prop: string): void {
  if (!hasOwn(obj, prop) && prop in obj) {
    Object.defineProperty(obj, prop, { configurable: true, enumerable: true, value: undefined, writable: true });
  }
}

/** @apollo/gateway's utilities/deepMerge.js. */
function deepMerge(target: Data, source: unknown): Data {
  if (source === undefined || source === null) return target;
  const src = source as Data;
  for (const key of Object.keys(src)) {
    const value = src[key];
    if (value === undefined) continue;
    defineOwn(target, key);
    const current = target[key];
    if (current && isObject(value)) {
      deepMerge(current as Data, value);
    } else if (Array.isArray(value) && Array.isArray(current) && value.length === current.length) {
      for (let i = 0; i < value.length; i++) {
        if (isObject(current[i]) && isObject(value[i])) deepMerge(current[i] as Data, value[i]);
        else current[i] = value[i];
      }
    } else {
      target[key] = value;
    }
  }
  return target;
}
