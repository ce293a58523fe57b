// Fields that answer their empty value when their backend fails (a metric list, a log page) instead of failing the
// whole response still owe the client the reason: the resolver records the error in the context, and this plugin adds
// those errors to the response. Shared by the subgraphs whose fields degrade that way (monitoring, logging).
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import { DEV_VIEWER, withTenancy, type Tenancy, type Viewer } from './authz.js';

export interface FieldErrorsContext {
  /** Errors of fields that answered their empty value; sent with the response. */
  fieldErrors: GraphQLError[];
}

export function fieldErrorsPlugin<TContext extends FieldErrorsContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          const body = response.body;
          if (body.kind !== 'single' || !contextValue.fieldErrors.length) return;
          body.singleResult.errors = [
            ...(body.singleResult.errors ?? []),
            ...contextValue.fieldErrors.map((e) => e.toJSON()),
          ];
        },
      };
    },
  };
}

/** The context of such a subgraph: the viewer with its tenancy, the model's session for it, the field errors. */
export interface DegradingFieldsContext<TSession> extends FieldErrorsContext {
  viewer: Viewer;
  session: TSession;
}

/**
 * The context and plugins (createSubgraphServer's options) of a subgraph whose fields degrade: each request's viewer
 * (the gateway's, or the development identity when identities are not checked) with the namespaces' workspaces, the
 * model's session for that viewer, and this plugin to send the errors the fields recorded.
 */
export function degradingFields<TSession>(
  tenancy: Tenancy | undefined,
  model: { session(viewer: Viewer): TSession },
): {
  context: (request: { viewer: Viewer | undefined }) => DegradingFieldsContext<TSession>;
  plugins: ApolloServerPlugin<DegradingFieldsContext<TSession>>[];
} {
  return {
    context: ({ viewer: signed }) => {
      const viewer = withTenancy(signed ?? DEV_VIEWER, tenancy);
      return { viewer, session: model.session(viewer), fieldErrors: [] };
    },
    plugins: [fieldErrorsPlugin<DegradingFieldsContext<TSession>>()],
  };
}
