// For store-level tests of the sandbox: the ApiError a call throws.
import { ApiError } from '../../services/sandbox/errors.js';

export function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected an ApiError');
}
