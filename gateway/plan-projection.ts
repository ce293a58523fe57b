// The operation of a request, compiled once, and the client's answer shaped from it: the plan executor's projection
// (issue 19 §1; gateway/plan-executor.ts is the executor, gateway/plan-execution.ts runs the plan).
//
// @apollo/gateway's computeResponse re-walks the operation for every request (@skip/@include looked up, types
// unwrapped, type conditions tested, for every field of every object). compileProjection reads the operation into a
// tree with all of that precomputed, once per (document, operation name); shapeResponse then runs computeResponse's
// own algorithm over that tree, so the answer (data, nulls bubbling up, value-completion errors) is Apollo's.
// In a module of its own because it is the one part that depends on the operation only, not on the plan or the fetches.
//
// Third-party code: the shaping (shapeResponse, shouldSkip, ifValue, typeConditionApplies, applySelectionSet,
// pathLastElementDescription, updateOutputValue) is derived from src/resultShaping.ts (dist/resultShaping.js) of
// @apollo/gateway 2.14.4, Copyright 2021 Apollo Graph, Inc., modified here (it walks the compiled tree instead of the
// Operation; type condition answers cached per fragment). That code is under the Elastic License 2.0: see
// gateway/THIRD_PARTY_NOTICES.md. compileProjection and the compiled tree are kubegraph's.
import {
  ERRORS,
  assert,
  isCompositeType,
  isListType,
  isNonNullType,
  isObjectType,
  isSubtype,
  isValidLeafValue,
  Variable,
  type CompositeType,
  type Operation,
  type Schema,
  type SelectionSet,
  type Type,
} from '@apollo/federation-internals';
import type { GraphQLError, OperationDefinitionNode } from 'graphql';

/** Response data: an object of the answer (or of a subgraph's). */
export type Data = Record<string, unknown>;

export const hasOwn = (obj: object, prop: string) => Object.prototype.hasOwnProperty.call(obj, prop);

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

/** The projection of an operation (plan-executor.ts compiles each request's; exported for unit tests too). */
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
