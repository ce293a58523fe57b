// POSTs GraphQL to a server and hands back its { data, errors } as they came.
export interface GraphQLErrorLike {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; [k: string]: unknown };
}

export interface GraphQLResult<T = Record<string, unknown>> {
  data?: T | null;
  errors?: GraphQLErrorLike[];
  status: number;
}

/** Headers sent with every request to a URL unless given (the test stack registers its admin's token here). */
const defaultHeaders = new Map<string, Record<string, string>>();
export function setDefaultHeaders(url: string, headers: Record<string, string> | undefined): void {
  if (headers) defaultHeaders.set(url, headers);
  else defaultHeaders.delete(url);
}

// Test queries read deep into results; the shape is asserted by the tests themselves.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped GraphQL results in tests
export async function gql<T = any>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = defaultHeaders.get(url) ?? {},
): Promise<GraphQLResult<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'apollo-require-preflight': 'true', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: { data?: T | null; errors?: GraphQLErrorLike[] };
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`not a GraphQL response (HTTP ${res.status}): ${text.slice(0, 500)}`);
  }
  return { data: body.data, errors: body.errors, status: res.status };
}

/** Like gql, but fails on any error and returns data. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
export async function gqlData<T = any>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const r = await gql<T>(url, query, variables);
  if (r.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
  return r.data as T;
}
