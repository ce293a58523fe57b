// Running a query plan for the plan executor (issue 19 §1; gateway/plan-executor.ts decides which requests come here,
// gateway/plan-projection.ts shapes the answer): the plan's nodes walked, each fetch sent through our data sources,
// entity representations built from `requires`, the subgraphs' data merged, their errors given the client's paths.
// It does what @apollo/gateway's executeQueryPlan does for the plans planHandled lets through, without its
// OpenTelemetry spans and query-plan traces (requests that want those go to Apollo's executor), so the merged data
// and errors are the same.
//
// Third-party code: executePlan, executeNode, executeFetch, sendOperation, lazyErrorPath, generateHydratedPaths,
// downstreamServiceError, executeSelectionSet, moveIntoCursor and flattenResultsAtPath are derived from
// src/executeQueryPlan.ts (dist/executeQueryPlan.js), isObjectOfType from src/dataRewrites.ts and deepMerge from
// src/utilities/deepMerge.ts of @apollo/gateway 2.14.4, Copyright 2021 Apollo Graph, Inc., modified here (ported
// to this module's types; no spans, traces, rewrites, @defer or subscriptions; flattenResultsAtPath walks the path
// by index). That code is under the Elastic License 2.0: see gateway/THIRD_PARTY_NOTICES.md.
import { ERRORS, assert, errorCodeDef, Supergraph, type Schema } from '@apollo/federation-internals';
import {
  evaluateCondition,
  getResponseName,
  type FetchNode,
  type PlanNode,
  type QueryPlan,
  type QueryPlanSelectionNode,
  type ResponsePath,
} from '@apollo/query-planner';
import {
  GraphQLError,
  Kind,
  isAbstractType,
  isInterfaceType,
  isObjectType as isGraphQLObjectType,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import type { ApolloGateway, GraphQLDataSource } from '@apollo/gateway';
import { hasOwn, shapeResponse, type CompiledOperation, type Data } from './plan-projection.js';

/** ApolloGateway's executor (what its load() returns), the request context it is given and its result. */
export type GatewayExecutor = Awaited<ReturnType<ApolloGateway['load']>>['executor'];
export type GatewayRequestContext = Parameters<GatewayExecutor>[0];
export type ExecutionResult = Awaited<ReturnType<GatewayExecutor>>;

type ProcessOptions = Parameters<GraphQLDataSource['process']>[0];
/**
 * GraphQLDataSourceRequestKind.INCOMING_OPERATION: @apollo/gateway does not export the enum from its index; its value
 * is this string (test/gateway-plan-executor.test.ts checks that our data source sees it).
 */
const INCOMING_OPERATION = 'incoming operation' as unknown as Extract<ProcessOptions, { request: unknown }>['kind'];

/** The supergraph's schemas, built once per supergraph. */
export interface Schemas {
  api: Schema;
  supergraph: Schema;
  /** The supergraph as graphql-js, for isObjectOfType (built the first time it is needed). */
  supergraphJs(): GraphQLSchema;
}

export function buildSchemas(sdl: string): Schemas {
  return schemasOf(Supergraph.build(sdl));
}

/** The schemas of a supergraph built already (ApolloGateway's own: plan-executor.ts). */
export function schemasOf(supergraph: Supergraph): Schemas {
  let js: GraphQLSchema | undefined;
  return {
    api: supergraph.apiSchema(),
    supergraph: supergraph.schema,
    supergraphJs: () => (js ??= supergraph.schema.toGraphQLJSSchema()),
  };
}

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

export async function executePlan(
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
