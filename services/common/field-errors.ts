// Fields that answer their empty value when their backend fails (a metric list, a log page) instead of failing the
// whole response still owe the client the reason: the resolver records the error in the context, and this plugin adds
// those errors to the response. Shared by the subgraphs whose fields degrade that way (monitoring, logging).
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLError } from 'graphql';

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
