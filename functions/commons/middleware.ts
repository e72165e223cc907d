// middy middlewares shared by every handler.
import type middy from '@middy/core';
import type { Logger } from './logger.ts';

interface LambdaContextLike {
  awsRequestId?: string;
  functionName?: string;
}

/**
 * Tags log lines with the invocation's request id and logs a failure once, by name and
 * message (never the event). Use it first so its onError runs after the others'.
 */
export function logInvocation(logger: Logger): middy.MiddlewareObj<unknown, unknown, Error> {
  return {
    before: (request) => {
      const context = request.context as LambdaContextLike;
      logger.setContext({ awsRequestId: context.awsRequestId });
    },
    onError: (request) => {
      const error = request.error;
      if (!error) return;
      const expected = error.name.startsWith('Request.') || error.name.startsWith('Input.');
      logger[expected ? 'warn' : 'error']('invocation failed', { error });
    },
  };
}
