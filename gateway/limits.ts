// Query protections as GraphQL validation rules: maximum depth, maximum aliases and an estimated cost.
// Fragments are resolved (each fragment's figure is computed once and reused, so fragment fan-out costs nothing
// to evaluate) and cycles are left to graphql-js's NoFragmentCyclesRule (a cycle counts as zero here).
//
// Cost model: every field costs 1; a field with a `first` argument (a page) multiplies the cost of its selection by
// `first` (or `defaultPageSize` when absent, or when it comes from a variable whose value is unknown at validation
// time); a list field without `first` multiplies by `defaultListSize`, except a connection's `edges`/`nodes`, which
// the connection's `first` already counted. With variables known (costLimitPlugin), the cost is estimated again
// with their values.
import {
  GraphQLError,
  Kind,
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  valueFromASTUntyped,
  visit,
  type ASTVisitor,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import type { ApolloServerPlugin, BaseContext, GraphQLRequestListener } from '@apollo/server';

/** A limit of 0 is switched off. */
export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
  /** Multiplier of a paginated field without `first`. */
  defaultPageSize: number;
  /** Multiplier of a list field that takes no `first`. */
  defaultListSize: number;
}

export const DEFAULT_LIMITS: QueryLimits = {
  maxDepth: 15,
  maxAliases: 30,
  maxCost: 50_000,
  defaultPageSize: 50,
  defaultListSize: 10,
};

export const LimitCode = {
  QUERY_TOO_DEEP: 'QUERY_TOO_DEEP',
  TOO_MANY_ALIASES: 'TOO_MANY_ALIASES',
  QUERY_TOO_COSTLY: 'QUERY_TOO_COSTLY',
} as const;

function limitError(code: string, message: string, extra: Record<string, unknown>): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra, http: { status: 400 } } });
}

function fragmentsOf(doc: DocumentNode): Map<string, FragmentDefinitionNode> {
  const m = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) m.set(d.name.value, d);
  return m;
}

/** A per-operation fold over selection sets with fragments memoized and cycles cut. */
function fold(
  fragments: Map<string, FragmentDefinitionNode>,
  combine: 'sum' | 'max',
  fieldValue: (field: FieldNode, inner: (s: SelectionSetNode | undefined) => number) => number,
): (s: SelectionSetNode | undefined) => number {
  const memo = new Map<string, number>();
  const visiting = new Set<string>();
  const walk = (set: SelectionSetNode | undefined): number => {
    if (!set) return 0;
    let acc = 0;
    const add = (v: number) => {
      acc = combine === 'sum' ? acc + v : Math.max(acc, v);
    };
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) add(fieldValue(sel, walk));
      else if (sel.kind === Kind.INLINE_FRAGMENT) add(walk(sel.selectionSet));
      else {
        const name = sel.name.value;
        let v = memo.get(name);
        if (v === undefined) {
          const frag = fragments.get(name);
          if (!frag || visiting.has(name)) v = 0;
          else {
            visiting.add(name);
            v = walk(frag.selectionSet);
            visiting.delete(name);
            memo.set(name, v);
          }
        }
        add(v);
      }
    }
    return acc;
  };
  return walk;
}

export function operationDepth(doc: DocumentNode, op: OperationDefinitionNode): number {
  return fold(fragmentsOf(doc), 'max', (f, inner) => 1 + inner(f.selectionSet))(op.selectionSet);
}

export function operationAliases(doc: DocumentNode, op: OperationDefinitionNode): number {
  return fold(fragmentsOf(doc), 'sum', (f, inner) => (f.alias ? 1 : 0) + inner(f.selectionSet))(op.selectionSet);
}

/**
 * Estimated cost of an operation. `variables` undefined: variable arguments are unknown (validation time) and take
 * their declared default or the default page size.
 */
export function operationCost(
  schema: GraphQLSchema,
  doc: DocumentNode,
  op: OperationDefinitionNode,
  limits: QueryLimits,
  variables?: Record<string, unknown>,
): number {
  const fragments = fragmentsOf(doc);
  const varDefaults = new Map<string, unknown>();
  for (const v of op.variableDefinitions ?? [])
    if (v.defaultValue) varDefaults.set(v.variable.name.value, valueFromASTUntyped(v.defaultValue));
  const root =
    op.operation === 'query'
      ? schema.getQueryType()
      : op.operation === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  if (!root) return 0;

  const pageSize = (field: FieldNode): number | undefined => {
    const arg = field.arguments?.find((a) => a.name.value === 'first' || a.name.value === 'last');
    if (!arg) return undefined;
    let v: unknown;
    if (arg.value.kind === Kind.VARIABLE) {
      const name = arg.value.name.value;
      v = variables && name in variables ? variables[name] : varDefaults.get(name);
    } else v = valueFromASTUntyped(arg.value);
    return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : limits.defaultPageSize;
  };

  const memo = new Map<string, number>();
  const visiting = new Set<string>();
  const walk = (set: SelectionSetNode | undefined, parent: GraphQLCompositeType | undefined): number => {
    if (!set || !parent) return 0;
    let total = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const name = sel.name.value;
        if (name.startsWith('__')) {
          total += 1;
          continue;
        }
        const def: GraphQLField<unknown, unknown> | undefined =
          'getFields' in parent ? parent.getFields()[name] : undefined;
        if (!def) {
          total += 1;
          continue;
        }
        const named = getNamedType(def.type);
        const child = isCompositeType(named) ? named : undefined;
        let multiplier = 1;
        const takesFirst = def.args.some((a) => a.name === 'first' || a.name === 'last');
        if (takesFirst) multiplier = pageSize(sel) ?? limits.defaultPageSize;
        else if (isListType(getNullableType(def.type))) {
          const inConnection = parent.name.endsWith('Connection') && (name === 'edges' || name === 'nodes');
          multiplier = inConnection ? 1 : limits.defaultListSize;
        }
        total += multiplier * (1 + walk(sel.selectionSet, child));
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const cond = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : parent;
        total += walk(sel.selectionSet, cond && isCompositeType(cond) ? cond : parent);
      } else {
        const name = sel.name.value;
        const frag = fragments.get(name);
        if (!frag || visiting.has(name)) continue;
        let v = memo.get(name);
        if (v === undefined) {
          const cond = schema.getType(frag.typeCondition.name.value);
          visiting.add(name);
          v = walk(frag.selectionSet, cond && isCompositeType(cond) ? cond : undefined);
          visiting.delete(name);
          memo.set(name, v);
        }
        total += v;
      }
      if (total > Number.MAX_SAFE_INTEGER) return Number.MAX_SAFE_INTEGER;
    }
    return total;
  };
  return walk(op.selectionSet, root);
}

function perOperation(
  check: (ctx: ValidationContext, op: OperationDefinitionNode) => GraphQLError | undefined,
): ValidationRule {
  return (ctx: ValidationContext): ASTVisitor => ({
    OperationDefinition(op) {
      const err = check(ctx, op);
      if (err) ctx.reportError(err);
      return false;
    },
  });
}

export function depthLimitRule(maxDepth: number): ValidationRule {
  return perOperation((ctx, op) => {
    const depth = operationDepth(ctx.getDocument(), op);
    return depth > maxDepth
      ? limitError(LimitCode.QUERY_TOO_DEEP, `query depth ${depth} exceeds the maximum of ${maxDepth}`, {
          depth,
          maxDepth,
        })
      : undefined;
  });
}

export function aliasLimitRule(maxAliases: number): ValidationRule {
  return perOperation((ctx, op) => {
    const aliases = operationAliases(ctx.getDocument(), op);
    return aliases > maxAliases
      ? limitError(
          LimitCode.TOO_MANY_ALIASES,
          `query uses ${aliases} aliases, more than the maximum of ${maxAliases}`,
          { aliases, maxAliases },
        )
      : undefined;
  });
}

export function costError(cost: number, maxCost: number): GraphQLError {
  return limitError(LimitCode.QUERY_TOO_COSTLY, `estimated query cost ${cost} exceeds the budget of ${maxCost}`, {
    cost,
    maxCost,
  });
}

export function costLimitRule(limits: QueryLimits): ValidationRule {
  return perOperation((ctx, op) => {
    // With variables the page sizes are unknown here; the gateway checks such operations once their values are known
    // (didResolveOperation), so a small `first: $n` is never refused on a guess.
    if (op.variableDefinitions?.length) return undefined;
    const cost = operationCost(ctx.getSchema(), ctx.getDocument(), op, limits);
    return cost > limits.maxCost ? costError(cost, limits.maxCost) : undefined;
  });
}

export function limitRules(limits: QueryLimits): ValidationRule[] {
  const rules: ValidationRule[] = [];
  if (limits.maxDepth > 0) rules.push(depthLimitRule(limits.maxDepth));
  if (limits.maxAliases > 0) rules.push(aliasLimitRule(limits.maxAliases));
  if (limits.maxCost > 0) rules.push(costLimitRule(limits));
  return rules;
}

/** Costs remembered per operation, one per combination of the page sizes its variables give. */
const MAX_COSTS_PER_OPERATION = 64;

/** What the cost of one operation with variables depends on besides the document: the page sizes of its variables. */
interface OperationCosts {
  schema: GraphQLSchema;
  /** The variables given as a `first` or `last` argument anywhere in the document, with their declared defaults. */
  pageVariables: { name: string; defaultValue: unknown }[];
  costs: Map<string, number>;
}

function pageVariablesOf(doc: DocumentNode, op: OperationDefinitionNode): OperationCosts['pageVariables'] {
  const names = new Set<string>();
  visit(doc, {
    Argument(arg) {
      if ((arg.name.value === 'first' || arg.name.value === 'last') && arg.value.kind === Kind.VARIABLE)
        names.add(arg.value.name.value);
    },
  });
  return [...names].map((name) => {
    const def = op.variableDefinitions?.find((v) => v.variable.name.value === name)?.defaultValue;
    return { name, defaultValue: def ? valueFromASTUntyped(def) : undefined };
  });
}

/**
 * The cost of an operation with variables, checked again once their values are known (the validation rule estimated
 * it without them); without variables the validation-time estimate was already exact. The estimate depends on the
 * document and on the page sizes its variables give only: it is computed once per operation (the document store
 * hands the same document object to every request of the same text) and combination of those page sizes.
 */
export function costLimitPlugin(limits: QueryLimits): ApolloServerPlugin {
  if (limits.maxCost <= 0) return {};
  const byOperation = new WeakMap<OperationDefinitionNode, OperationCosts>();
  // No per-request state: the same hooks serve every request.
  const hooks: GraphQLRequestListener<BaseContext> = {
    async didResolveOperation(rc) {
      const op = rc.operation;
      if (!op?.variableDefinitions?.length) return;
      const variables = rc.request.variables ?? {};
      let entry = byOperation.get(op);
      if (!entry || entry.schema !== rc.schema) {
        entry = { schema: rc.schema, pageVariables: pageVariablesOf(rc.document, op), costs: new Map() };
        byOperation.set(op, entry);
      }
      // The page size each variable gives, as operationCost reads it (-1: not a usable number, the default size).
      let key = '';
      for (const { name, defaultValue } of entry.pageVariables) {
        const v = name in variables ? variables[name] : defaultValue;
        key += `${typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : -1},`;
      }
      let cost = entry.costs.get(key);
      if (cost === undefined) {
        cost = operationCost(rc.schema, rc.document, op, limits, variables);
        if (entry.costs.size >= MAX_COSTS_PER_OPERATION) entry.costs.clear();
        entry.costs.set(key, cost);
      }
      if (cost > limits.maxCost) throw costError(cost, limits.maxCost);
    },
  };
  return { requestDidStart: async () => hooks };
}
