// What every handler is built from: Powertools Logger (with the Lambda context), Metrics (EMF) and
// Tracer around the handler's logic, and the Lambda context the local runtime and tests pass.
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { METRICS_NAMESPACE } from '#contracts/schemas';

export { MetricUnit } from '@aws-lambda-powertools/metrics';
export type { Context } from 'aws-lambda';

export interface Tools {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracer: Tracer;
}

/**
 * Logger, Metrics and Tracer for one handler. Without a `logLevel`, Powertools reads
 * POWERTOOLS_LOG_LEVEL / AWS_LAMBDA_LOG_LEVEL; tracing runs only inside Lambda.
 */
export function createTools(serviceName: string, logLevel?: LogLevel): Tools {
  const logger = new Logger({ serviceName, logLevel });
  return {
    logger,
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName, logger }),
    tracer: new Tracer({ serviceName }),
  };
}

export type Logic<R> = (event: unknown, context: Context) => Promise<R>;
export type Handler<R> = (event: unknown, context: Context) => Promise<R>;

/**
 * The Lambda handler around `logic`. Middleware order: tracing starts first and ends last; the
 * logger carries the context into every line; metrics are flushed after the logic, also on failure
 * (only when there are any: logMetrics would warn on every invocation of a handler without
 * metrics); a failure is logged once, by name and message (never the event).
 */
export function lambdaHandler<R>(logic: Logic<R>, { logger, metrics, tracer }: Tools): Handler<R> {
  const flush = () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return middy(logic)
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use({ after: flush, onError: flush })
    .use({
      onError: ({ error }) => {
        if (!error) return;
        const expected = error.name.startsWith('Request.') || error.name.startsWith('Input.');
        logger[expected ? 'warn' : 'error']('invocation failed', {
          error: { name: error.name, message: error.message },
        });
      },
    }) as unknown as Handler<R>;
}

export interface InvocationOptions {
  readonly functionName?: string;
  /** The function's timeout: getRemainingTimeInMillis counts down from it. @default 30 */
  readonly timeoutSeconds?: number;
  /** @default 512 */
  readonly memorySize?: number;
  readonly region?: string;
  readonly account?: string;
}

/** A Lambda context for one invocation outside Lambda (the local runtime, tests). */
export function invocationContext(options: InvocationOptions = {}): Context {
  const functionName = options.functionName ?? 'local';
  const deadline = Date.now() + (options.timeoutSeconds ?? 30) * 1000;
  const region = options.region ?? 'us-east-1';
  const account = options.account ?? '000000000000';
  const fail = () => {
    throw new Error('callback-style completion is not supported');
  };
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${account}:function:${functionName}`,
    memoryLimitInMB: String(options.memorySize ?? 512),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: fail,
    fail,
    succeed: fail,
  };
}
