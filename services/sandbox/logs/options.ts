// PodLogOptions: parsing the query string and the API server's validation of it.
import { badRequest, invalid, type StatusCause } from '../errors.js';
import { queryBool } from '../server/params.js';

export interface LogOptions {
  container?: string;
  tailLines?: number;
  sinceSeconds?: number;
  sinceTime?: string;
  timestamps?: boolean;
  previous?: boolean;
  follow?: boolean;
  limitBytes?: number;
}

/** How many lines of a container instance's log are kept (older ones are rotated away). */
export const MAX_LOG_LINES = 5000;

// ------------------------------------------------------------------ options

const INT_RE = /^[+-]?\d+$/;

function parseIntParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  if (!INT_RE.test(raw.trim()))
    throw badRequest(`couldn't parse "${name}": strconv.ParseInt: parsing ${JSON.stringify(raw)}: invalid syntax`);
  return Number(raw.trim());
}

/** PodLogOptions from a query string. Malformed numbers and times are 400 BadRequest; booleans as server/params.ts. */
export function parseLogOptions(query: URLSearchParams): LogOptions {
  const opts: LogOptions = {};
  const container = query.get('container');
  if (container) opts.container = container;
  const tailLines = parseIntParam(query, 'tailLines');
  if (tailLines !== undefined) opts.tailLines = tailLines;
  const sinceSeconds = parseIntParam(query, 'sinceSeconds');
  if (sinceSeconds !== undefined) opts.sinceSeconds = sinceSeconds;
  const limitBytes = parseIntParam(query, 'limitBytes');
  if (limitBytes !== undefined) opts.limitBytes = limitBytes;
  const sinceTime = query.get('sinceTime');
  if (sinceTime) {
    if (
      !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(sinceTime) ||
      Number.isNaN(Date.parse(sinceTime))
    ) {
      throw badRequest(
        `parsing time ${JSON.stringify(sinceTime)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(sinceTime)} as RFC3339`,
      );
    }
    opts.sinceTime = sinceTime;
  }
  for (const name of ['timestamps', 'previous', 'follow'] as const) {
    const v = queryBool(query, name);
    if (v !== undefined) opts[name] = v;
  }
  return opts;
}

/** The API server's ValidatePodLogOptions: 422 Invalid on PodLogOptions. */
export function validateOptions(podName: string, opts: LogOptions): void {
  const causes: StatusCause[] = [];
  if (opts.tailLines !== undefined && opts.tailLines < 0) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: 'tailLines',
      message: `Invalid value: ${opts.tailLines}: must be greater than or equal to 0`,
    });
  }
  if (opts.limitBytes !== undefined && opts.limitBytes < 1) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: 'limitBytes',
      message: `Invalid value: ${opts.limitBytes}: must be greater than 0`,
    });
  }
  if (opts.sinceSeconds !== undefined && opts.sinceTime !== undefined) {
    causes.push({
      reason: 'FieldValueForbidden',
      field: '',
      message: 'Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified',
    });
  } else if (opts.sinceSeconds !== undefined && opts.sinceSeconds < 1) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: 'sinceSeconds',
      message: `Invalid value: ${opts.sinceSeconds}: must be greater than 0`,
    });
  }
  if (causes.length) throw invalid({ plural: 'pods', group: '', kind: 'PodLogOptions' }, podName, causes);
}
