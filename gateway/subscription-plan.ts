// How a client's subscription is sent upstream: the query planner's primary fetch, made resumable when its root field
// takes a resumeToken (the argument set from a variable, the token selected under an alias), and the token a client
// passes to resume from.
import {
  Kind,
  getNamedType,
  isObjectType,
  parse,
  print,
  type FieldNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { FetchNode, PlanNode } from '@apollo/query-planner';

/** The argument and field a resumable subscription field has (see schema/workloads.graphql, Subscription). */
const RESUME_ARG = 'resumeToken';
const RESUME_VAR = '__kgResumeToken';
/** The alias of the resume token in every upstream event of a resumable subscription. */
export const TOKEN_ALIAS = '__kgResumeToken';

export interface PlannedSubscription {
  operation: OperationDefinitionNode;
  primary: FetchNode;
  rest?: PlanNode;
  /** The upstream operation: the primary fetch with the resume argument and token field added when resumable. */
  upstreamQuery: string;
  rootField: string;
  resumable: boolean;
  /** The upstream variable carrying the resume token (the client's own, when it passed one as a variable). */
  resumeVariable: string;
}

/** The primary fetch as sent upstream: with `resumeToken: $__kgResumeToken` and the token selected, when resumable. */
export function prepareUpstream(
  supergraphSchema: GraphQLSchema,
  operation: OperationDefinitionNode,
  primary: FetchNode,
  rest: PlanNode | undefined,
): PlannedSubscription {
  const doc = primary.operationDocumentNode ?? parse(primary.operation);
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const root = op.selectionSet.selections.find((s): s is FieldNode => s.kind === Kind.FIELD)!;
  const field = supergraphSchema.getSubscriptionType()?.getFields()[root.name.value];
  const returnType = field ? getNamedType(field.type) : undefined;
  const resumable = Boolean(
    field?.args.some((a) => a.name === RESUME_ARG) &&
    returnType &&
    isObjectType(returnType) &&
    returnType.getFields()[RESUME_ARG],
  );
  let upstreamQuery = primary.operation;
  const given = root.arguments?.find((a) => a.name.value === RESUME_ARG);
  // A token the client passes as a variable keeps that variable (the upstream sets it to the last token on resume).
  const resumeVariable = given?.value.kind === Kind.VARIABLE ? given.value.name.value : RESUME_VAR;
  if (resumable) {
    const args = (root.arguments ?? []).filter((a) => a.name.value !== RESUME_ARG);
    args.push({
      kind: Kind.ARGUMENT,
      name: { kind: Kind.NAME, value: RESUME_ARG },
      value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: resumeVariable } },
    });
    const tokenField: FieldNode = {
      kind: Kind.FIELD,
      alias: { kind: Kind.NAME, value: TOKEN_ALIAS },
      name: { kind: Kind.NAME, value: RESUME_ARG },
    };
    const newRoot: FieldNode = {
      ...root,
      arguments: args,
      selectionSet: { kind: Kind.SELECTION_SET, selections: [...(root.selectionSet?.selections ?? []), tokenField] },
    };
    const newOp: OperationDefinitionNode = {
      ...op,
      variableDefinitions:
        resumeVariable === RESUME_VAR
          ? [
              ...(op.variableDefinitions ?? []),
              {
                kind: Kind.VARIABLE_DEFINITION,
                variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: RESUME_VAR } },
                type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'String' } },
              },
            ]
          : op.variableDefinitions,
      selectionSet: {
        ...op.selectionSet,
        selections: op.selectionSet.selections.map((s) => (s === root ? newRoot : s)),
      },
    };
    upstreamQuery = print({ ...doc, definitions: doc.definitions.map((d) => (d === op ? newOp : d)) });
  }
  return {
    operation,
    primary,
    rest,
    upstreamQuery,
    rootField: root.alias?.value ?? root.name.value,
    resumable,
    resumeVariable,
  };
}

/** The resumeToken the client's operation passes to the root field (a literal or a variable), if any. */
export function resumeTokenOf(planned: PlannedSubscription, variables: Record<string, unknown>): string | undefined {
  const root = planned.operation.selectionSet.selections.find((s): s is FieldNode => s.kind === Kind.FIELD);
  const arg = root?.arguments?.find((a) => a.name.value === RESUME_ARG);
  if (!arg) return undefined;
  if (arg.value.kind === Kind.STRING) return arg.value.value;
  if (arg.value.kind === Kind.VARIABLE) {
    const v = variables[arg.value.name.value];
    return typeof v === 'string' ? v : undefined;
  }
  return undefined;
}
