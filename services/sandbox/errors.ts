// Failures as the real kube-apiserver reports them: a `kind: Status` body with the same reason and code.
export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[]; retryAfterSeconds?: number };
  code: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusBody['details'],
  ) {
    super(message);
  }

  toStatus(): StatusBody {
    const body: StatusBody = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) body.details = this.details;
    return body;
  }
}

/** "pods" or "deployments.apps": how the real server names a resource in messages. */
export interface ResourceName {
  plural: string;
  group: string;
}
const qualified = (r: ResourceName) => (r.group ? `${r.plural}.${r.group}` : r.plural);
const detailsOf = (r: ResourceName, name: string) => ({ name, kind: r.plural, ...(r.group ? { group: r.group } : {}) });

export const notFound = (r: ResourceName, name: string) =>
  new ApiError(404, 'NotFound', `${qualified(r)} "${name}" not found`, detailsOf(r, name));

export const alreadyExists = (r: ResourceName, name: string) =>
  new ApiError(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, detailsOf(r, name));

export const conflict = (r: ResourceName, name: string) =>
  new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(r)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    detailsOf(r, name),
  );

/** errors.NewAggregate's text: one error as it is, several in brackets. */
const aggregate = (texts: string[]) => (texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`);

export const invalid = (r: ResourceName & { kind: string }, name: string, causes: StatusCause[]) =>
  new ApiError(
    422,
    'Invalid',
    `${r.kind}${r.group ? '.' + r.group : ''} "${name}" is invalid: ${aggregate(causes.map((c) => `${c.field}: ${c.message}`))}`,
    { ...detailsOf(r, name), kind: r.kind, causes },
  );

export const badRequest = (message: string) => new ApiError(400, 'BadRequest', message);

export const expired = (message: string) => new ApiError(410, 'Expired', message);

export const methodNotAllowed = (message = 'the server does not allow this method on the requested resource') =>
  new ApiError(405, 'MethodNotAllowed', message);

export const tooManyRequests = (message: string, retryAfterSeconds = 1) =>
  new ApiError(429, 'TooManyRequests', message, { retryAfterSeconds });

export const internalError = (message: string) => new ApiError(500, 'InternalError', message);
