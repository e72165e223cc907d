// Execution ended: target of the EventBridge rule on this state machine's executions that end
// FAILED, TIMED_OUT or ABORTED (locally, the runtime calls it). Gives back any half-open probe
// lease the execution held, so the breaker is not held until the lease runs out, and announces the
// outcome as a Generation Failed event (docs/events.md).
import middy from '@middy/core';
import { z } from 'zod';
import { releaseProbes } from '#breaker/store';
import { dynamoClient, eventBridgeClient } from '#commons/clients';
import { systemClock } from '#commons/clock';
import { optionalEnv, requireEnv } from '#commons/env';
import { parseOrThrow } from '#commons/errors';
import { publishEvent } from '#commons/events';
import { createLogger } from '#commons/logger';
import { logInvocation } from '#commons/middleware';
import { DETAIL_TYPES, EVENT_SCHEMA_VERSION, type GenerationFailedEvent } from '#contracts/events';

const table = requireEnv('BREAKERS_TABLE');
const eventBus = optionalEnv('EVENT_BUS_NAME');
const ddb = dynamoClient();
const events = eventBridgeClient();
const logger = createLogger('execution-ended');

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

export async function logic(event: unknown): Promise<GenerationFailedEvent> {
  const { detail } = parseOrThrow(ExecutionStatusChange, event);
  const releasedProbes = await releaseProbes(ddb, table, detail.executionArn, systemClock());
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
  if (eventBus) {
    const failure = await publishEvent(events, eventBus, DETAIL_TYPES.failed, failed);
    if (failure) logger.error('failure event not delivered', { executionName: detail.name, error: failure });
  }
  return failed;
}

export const handler = middy(logic).use(logInvocation(logger));
