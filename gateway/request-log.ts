// One log line and one observation in the metrics per GraphQL request: from Apollo's pipeline (a plugin), or, for a
// request refused before it (body too large, CSRF prevention, bad JSON), from the HTTP server's onResponse.
import type { IncomingMessage } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import type { Logger } from '../services/common/log.js';
import { requestIdOf } from './auth.js';
import type { GatewayContext } from './datasource.js';
import type { GatewayMetrics } from './metrics.js';

export interface RequestLog {
  plugin: ApolloServerPlugin<GatewayContext>;
  /** For the HTTP server: requests that never reached the plugin get their line and count here. */
  onResponse(info: { req: IncomingMessage; path: string; status: number; seconds: number }): void;
}

export function requestLog(metrics: GatewayMetrics, log: Logger): RequestLog {
  const seen = new WeakSet<object>();
  const plugin: ApolloServerPlugin<GatewayContext> = {
    async requestDidStart(rc) {
      const started = process.hrtime.bigint();
      if (rc.contextValue.req) seen.add(rc.contextValue.req);
      metrics.requestStarted();
      return {
        async willSendResponse(rc2) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const body = rc2.response.body;
          const result = body.kind === 'single' ? body.singleResult : body.initialResult;
          const errors = result.errors;
          const hasData = result.data !== undefined && result.data !== null;
          const outcome = !errors?.length ? 'success' : hasData ? 'partial' : 'error';
          const name = rc2.operationName ?? rc2.request.operationName;
          metrics.requestFinished(metrics.operationLabel(name), outcome, seconds);
          // Built in the order the line has always had its keys; the error keys only when there are errors.
          const fields: Record<string, unknown> = {
            requestId: rc2.contextValue.requestId,
            operation: name ?? null,
            operationType: rc2.operation?.operation ?? null,
            queryHash: rc2.queryHash ?? null,
            outcome,
            status: rc2.response.http.status ?? 200,
            durationMs: Math.round(seconds * 1e4) / 10,
          };
          if (errors?.length) addErrorFields(fields, errors);
          log.info('graphql request', fields);
        },
      };
    },
  };
  return {
    plugin,
    onResponse({ req, path, status, seconds }) {
      if (path !== '/graphql' || seen.has(req)) return;
      metrics.requestRejected(seconds);
      log.info('graphql request', {
        requestId: requestIdOf(req.headers['x-request-id']),
        operation: null,
        outcome: 'rejected',
        status,
        durationMs: Math.round(seconds * 1e4) / 10,
      });
    },
  };
}

/** The error codes and the services that failed, each once, in the order of the errors. */
function addErrorFields(fields: Record<string, unknown>, errors: readonly GraphQLFormattedError[]): void {
  const codes = new Set<string>();
  const services = new Set<string>();
  for (const e of errors) {
    codes.add(String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
    const service = e.extensions?.service;
    if (typeof service === 'string') services.add(service);
  }
  fields.errorCodes = [...codes];
  if (services.size) fields.services = [...services];
}
