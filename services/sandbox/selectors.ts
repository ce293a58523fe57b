// Label and field selectors with the syntax and errors of the real API server.
import {
  LabelSelectorSyntaxError,
  parseLabelSelector as parseLabels,
  type LabelRequirement,
} from '../common/label-selector.js';
import {
  FieldSelectorSyntaxError,
  fieldMatcher as matchFields,
  parseFieldSelector as parseFields,
  type FieldRequirement,
} from '../common/field-selector.js';
import { badRequest } from './errors.js';
import type { KObject } from './types.js';

export {
  formatLabelSelector,
  isValidLabelKey,
  isValidLabelValue,
  labelsMatch,
  requirementsOfLabelSelector,
  type LabelOp,
  type LabelRequirement,
} from '../common/label-selector.js';
export type Matcher = (o: KObject) => boolean;

/** Parses a label selector; bad syntax is a 400 BadRequest as on the real server. */
export function parseLabelSelector(selector: string): LabelRequirement[] {
  try {
    return parseLabels(selector);
  } catch (e) {
    if (e instanceof LabelSelectorSyntaxError) throw badRequest(e.message);
    throw e;
  }
}

export type { FieldRequirement } from '../common/field-selector.js';

/** Parses a field selector; bad syntax is a 400 BadRequest as on the real server. */
export function parseFieldSelector(selector: string): FieldRequirement[] {
  return asBadRequest(() => parseFields(selector));
}

/** Builds a matcher for a field selector over the fields a kind supports; unknown fields are 400 as in the real server. */
export function fieldMatcher(
  reqs: FieldRequirement[],
  fields: Record<string, (o: KObject) => string | undefined>,
): Matcher {
  return asBadRequest(() => matchFields<KObject>(reqs, fields));
}

function asBadRequest<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof FieldSelectorSyntaxError) throw badRequest(e.message);
    throw e;
  }
}
