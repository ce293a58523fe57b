// Label selectors for the workloads model: the shared parser (services/common/label-selector.ts), with a syntax
// error turned into BAD_USER_INPUT.
import { badUserInput } from '../../common/errors.js';
import {
  LabelSelectorSyntaxError,
  parseLabelSelector as parseLabels,
  type LabelRequirement,
} from '../../common/label-selector.js';

export {
  formatLabelSelector as formatSpecSelector,
  isDns1123Label,
  isDns1123Subdomain,
  isValidLabelKey,
  isValidLabelValue,
  labelsMatch,
  type LabelOp,
  type LabelRequirement,
} from '../../common/label-selector.js';

/** Parses a selector; a syntax error is BAD_USER_INPUT with the API server's message. */
export function parseLabelSelector(selector: string): LabelRequirement[] {
  try {
    return parseLabels(selector);
  } catch (e) {
    if (e instanceof LabelSelectorSyntaxError) {
      throw badUserInput(`invalid labelSelector ${JSON.stringify(selector)}: ${e.message}`, {
        argument: 'labelSelector',
      });
    }
    throw e;
  }
}
