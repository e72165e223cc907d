// Record outcome: applies a stage's success or failure to its circuit breaker and returns the
// stage's StageReport (docs/state-machine.md, gated fragment).
import middy from '@middy/core';
import { RecordOutcomeInput, stageReport } from '#breaker/outcome';
import { recordOutcome } from '#breaker/store';
import { type BreakerEvent, DEFAULT_BREAKER_SETTINGS } from '#breaker/transition';
import { dynamoClient } from '#commons/clients';
import { systemClock } from '#commons/clock';
import { intEnv, requireEnv } from '#commons/env';
import { parseOrThrow } from '#commons/errors';
import { createLogger } from '#commons/logger';
import { logInvocation } from '#commons/middleware';
import type { StageReport } from '#contracts/schemas';

const table = requireEnv('BREAKERS_TABLE');
const settings = {
  failureThreshold: intEnv('BREAKER_FAILURE_THRESHOLD', DEFAULT_BREAKER_SETTINGS.failureThreshold),
  windowSeconds: intEnv('BREAKER_WINDOW_SECONDS', DEFAULT_BREAKER_SETTINGS.windowSeconds),
  openSeconds: intEnv('BREAKER_OPEN_SECONDS', DEFAULT_BREAKER_SETTINGS.openSeconds),
};
const durationRefreshSeconds = intEnv('DURATION_REFRESH_SECONDS', 300);
const ddb = dynamoClient();
const logger = createLogger('record-outcome');

const NOTES: Record<BreakerEvent, string> = {
  none: 'ran',
  counted: 'ran',
  closed: 'ran as the half-open probe; breaker closed',
  opened: 'ran',
  reopened: 'ran',
};

export async function logic(event: unknown): Promise<StageReport> {
  const input = parseOrThrow(RecordOutcomeInput, event);
  const result = await recordOutcome(ddb, table, {
    stage: input.stage,
    outcome: input.outcome,
    executionId: input.executionId,
    settings,
    clock: systemClock,
    durationMs: input.current?.durationMs,
    tier: input.tier,
    durationRefreshSeconds,
  });
  const { event: change } = result.transition;
  logger[change === 'opened' || change === 'reopened' ? 'warn' : 'info']('outcome recorded', {
    stage: input.stage,
    outcome: input.outcome,
    breaker: change,
    from: result.before?.state ?? 'CLOSED',
    to: result.transition.next?.state ?? result.before?.state ?? 'CLOSED',
    attempts: result.attempts,
    error: input.error?.Error,
  });
  return stageReport(input, NOTES[change]);
}

export const handler = middy(logic).use(logInvocation(logger));
