// Boolean query parameters as kube-apiserver decodes them.
//
// The options structs (ListOptions: watch, allowWatchBookmarks, sendInitialEvents; DeleteOptions: orphanDependents;
// PatchOptions: force; PodLogOptions: follow, previous, timestamps, insecureSkipTLSVerifyBackend) are decoded from the
// query by apimachinery's parameter codec, whose Convert_Slice_string_To_bool / _To_Pointer_bool read only "0" and
// (case-insensitively) "false" as false and every other value, the empty one included, as true: no value is refused.
// So the Python client's `watch=True`, `watch=1`, `watch=t` and a bare `?watch` all open a watch, as on a cluster.
// `pretty` is different: the handlers read it with strconv.ParseBool and take a value it cannot parse as false.
import { ApiError } from '../errors.js';

/** A boolean options parameter: undefined when absent, else the apiserver's reading of its (first) value. */
export function queryBool(q: URLSearchParams, name: string): boolean | undefined {
  const raw = q.get(name);
  if (raw === null) return undefined;
  return !(raw === '0' || raw.toLowerCase() === 'false');
}

/** The same, absent read as false. */
export function queryFlag(q: URLSearchParams, name: string): boolean {
  return queryBool(q, name) ?? false;
}

const PARSE_BOOL_TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True'];

/** `?pretty=`: Go's strconv.ParseBool, where a value it cannot parse (and `0`, `f`, `false`…) is false. */
export function wantsPretty(q: URLSearchParams): boolean {
  const raw = q.get('pretty');
  return raw !== null && PARSE_BOOL_TRUE.includes(raw);
}

const OPTIONS_KIND: Record<string, string> = {
  POST: 'CreateOptions',
  PUT: 'UpdateOptions',
  PATCH: 'PatchOptions',
  DELETE: 'DeleteOptions',
};

/**
 * `?dryRun=`: a list whose only allowed value is `All` (it is not a boolean: `dryRun=true` is refused, never taken
 * as a real write), as the apiserver's ValidateDryRun refuses other values with 422 Invalid on the options kind.
 */
export function dryRunOf(q: URLSearchParams, method: string): boolean {
  const values = q.getAll('dryRun');
  const bad = values.filter((v) => v !== 'All');
  if (bad.length) {
    const kind = OPTIONS_KIND[method] ?? 'CreateOptions';
    const shown = `[]string{${values.map((v) => JSON.stringify(v)).join(', ')}}`;
    const message = `Unsupported value: ${shown}: supported values: "All"`;
    throw new ApiError(422, 'Invalid', `${kind}.meta.k8s.io "" is invalid: dryRun: ${message}`, {
      group: 'meta.k8s.io',
      kind,
      causes: [{ reason: 'FieldValueNotSupported', message, field: 'dryRun' }],
    });
  }
  return values.length > 0;
}
