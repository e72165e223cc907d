// Execution ended: target of the EventBridge rule on this state machine's executions that end
// FAILED, TIMED_OUT or ABORTED (locally, the runtime calls it). Gives back any half-open probe
// lease the execution held, so the breaker is not held until the lease runs out, and announces the
// outcome as a Generation Failed event (docs/events.md).
import { z } from 'zod';
import { releaseProbes } from '#breaker/store';
import { dynamoClient, eventBridgeClient, type HandlerDeps } from '#commons/clients';
import { type Clock, systemClock } from '#commons/clock';
import { type Env, optionalEnv, requireEnv } from '#commons/env';
import { parseOrThrow } from '#commons/errors';
import { publishEvent } from '#commons/events';
import { createTools, lambdaHandler } from '#commons/lambda';
import { DETAIL_TYPES, EVENT_SCHEMA_VERSION, type GenerationFailedEvent } from '#contracts/events';

export interface ExecutionEndedConfig {
  readonly breakersTable: string;
  /** Generation Failed events go here; none means no event. */
  readonly eventBus: string | undefined;
  /** @default the system clock */
  readonly clock?: Clock;
}

export function configFromEnv(env: Env = process.env): ExecutionEndedConfig {
  return { breakersTable: requireEnv('BREAKERS_TABLE', env), eventBus: optionalEnv('EVENT_BUS_NAME', env) };
}

/** The `detail` of a "Step Functions Execution Status Change" event, the fields read here. */
export const ExecutionStatusChange = z
  .object({
    detail: z
      .object({
        executionArn: z.string().min(1),
        name: z.string().min(1),
        status: z.enum(['FAILED', 'TIMED_OUT', 'ABORTED']),
        error: z.string().nullish(),
        cause: z.string().nullish(),
      })
      .loose(),
  })
  .loose();

const MAX_CAUSE = 1_000;

export function makeHandler(config: ExecutionEndedConfig, deps: HandlerDeps = {}) {
  const tools = deps.tools ?? createTools('execution-ended');
  const { logger } = tools;
  const ddb = deps.clients?.dynamodb ?? dynamoClient(tools);
  const events = deps.clients?.events ?? eventBridgeClient(tools);
  return lambdaHandler(async (event): Promise<GenerationFailedEvent> => {
    const { detail } = parseOrThrow(ExecutionStatusChange, event);
    const now = (config.clock ?? systemClock)();
    const releasedProbes = await releaseProbes(ddb, config.breakersTable, detail.executionArn, now);
    const failed: GenerationFailedEvent = {
      schemaVersion: EVENT_SCHEMA_VERSION,
      outcome: 'failed',
      executionArn: detail.executionArn,
      executionName: detail.name,
      status: detail.status,
      ...(detail.error ? { error: detail.error } : {}),
      ...(detail.cause ? { cause: detail.cause.slice(0, MAX_CAUSE) } : {}),
      releasedProbes,
    };
    logger.warn('execution ended abnormally', { ...failed, cause: undefined });
    if (config.eventBus) {
      const failure = await publishEvent(events, config.eventBus, DETAIL_TYPES.failed, failed);
      if (failure)
        logger.error('failure event not delivered', { executionName: detail.name, error: failure });
    }
    return failed;
  }, tools);
}
