// Record outcome: counts a stage's success or failure in its circuit breaker's window (request
// errors are not counted), applies the state change that follows, and returns the stage's
// StageReport (docs/state-machine.md, gated fragment).
import middy from '@middy/core';
import { announceBreakerChange } from '#breaker/announce';
import { classifyError, RecordOutcomeInput, stageReport } from '#breaker/outcome';
import { breakerSettingsFromEnv } from '#breaker/settings';
import { recordOutcome } from '#breaker/store';
import type { BreakerEvent, Outcome } from '#breaker/transition';
import { dynamoClient, eventBridgeClient } from '#commons/clients';
import { systemClock } from '#commons/clock';
import { optionalEnv, requireEnv } from '#commons/env';
import { parseOrThrow } from '#commons/errors';
import { createLogger } from '#commons/logger';
import { logInvocation } from '#commons/middleware';
import type { StageReport } from '#contracts/schemas';

const table = requireEnv('BREAKERS_TABLE');
const settings = breakerSettingsFromEnv();
const eventBus = optionalEnv('EVENT_BUS_NAME');
const ddb = dynamoClient();
const events = eventBridgeClient();
const logger = createLogger('record-outcome');

const NOTES: Record<BreakerEvent, string> = {
  none: 'ran',
  closed: 'ran as the half-open probe; breaker closed',
  opened: 'ran',
  reopened: 'ran',
  released: 'ran',
};

export async function logic(event: unknown): Promise<StageReport> {
  const input = parseOrThrow(RecordOutcomeInput, event);
  const errorClass = input.outcome === 'failure' ? classifyError(input.error) : undefined;
  const outcome: Outcome = errorClass === 'request' ? 'rejected' : input.outcome;
  const result = await recordOutcome(ddb, table, {
    stage: input.stage,
    outcome,
    executionId: input.executionId,
    settings,
    clock: systemClock,
    durationMs: input.current?.durationMs,
    tier: input.tier,
  });
  const { transition } = result;
  const from = result.before?.state ?? 'CLOSED';
  const to = transition.next?.state ?? from;
  logger.info('outcome recorded', {
    stage: input.stage,
    outcome,
    errorClass,
    breaker: transition.event,
    from,
    to,
    attempts: result.attempts,
    error: input.error?.Error,
  });
  if (to !== from) {
    await announceBreakerChange(
      events,
      eventBus,
      {
        stage: input.stage,
        from,
        to,
        at: transition.next?.updatedAt ?? new Date().toISOString(),
        executionId: input.executionId,
      },
      logger,
    );
  }
  return stageReport(input, NOTES[transition.event]);
}

export const handler = middy(logic).use(logInvocation(logger));
