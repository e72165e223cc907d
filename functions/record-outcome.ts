// Record outcome: applies a stage's success or failure to its circuit breaker and returns the
// stage's StageReport (docs/state-machine.md, gated fragment).
import { RecordOutcomeInput, stageReport } from '#breaker/outcome';
import { recordOutcome } from '#breaker/store';
import { type BreakerEvent, type BreakerSettings, DEFAULT_BREAKER_SETTINGS } from '#breaker/transition';
import { dynamoClient, type HandlerDeps } from '#commons/clients';
import { type Clock, systemClock } from '#commons/clock';
import { type Env, intEnv, requireEnv } from '#commons/env';
import { parseOrThrow } from '#commons/errors';
import { createTools, lambdaHandler, MetricUnit } from '#commons/lambda';
import type { StageReport } from '#contracts/schemas';

export interface RecordOutcomeConfig {
  readonly breakersTable: string;
  readonly settings: BreakerSettings;
  /** A success while CLOSED refreshes the stored duration at most this often. */
  readonly durationRefreshSeconds: number;
  /** @default the system clock */
  readonly clock?: Clock;
}

export function configFromEnv(env: Env = process.env): RecordOutcomeConfig {
  return {
    breakersTable: requireEnv('BREAKERS_TABLE', env),
    settings: {
      failureThreshold: intEnv('BREAKER_FAILURE_THRESHOLD', DEFAULT_BREAKER_SETTINGS.failureThreshold, env),
      windowSeconds: intEnv('BREAKER_WINDOW_SECONDS', DEFAULT_BREAKER_SETTINGS.windowSeconds, env),
      openSeconds: intEnv('BREAKER_OPEN_SECONDS', DEFAULT_BREAKER_SETTINGS.openSeconds, env),
    },
    durationRefreshSeconds: intEnv('DURATION_REFRESH_SECONDS', 300, env),
  };
}

const NOTES: Record<BreakerEvent, string> = {
  none: 'ran',
  counted: 'ran',
  closed: 'ran as the half-open probe; breaker closed',
  opened: 'ran',
  reopened: 'ran',
};

export function makeHandler(config: RecordOutcomeConfig, deps: HandlerDeps = {}) {
  const tools = deps.tools ?? createTools('record-outcome');
  const { logger, metrics } = tools;
  const ddb = deps.clients?.dynamodb ?? dynamoClient(tools);
  return lambdaHandler(async (event): Promise<StageReport> => {
    const input = parseOrThrow(RecordOutcomeInput, event);
    const result = await recordOutcome(ddb, config.breakersTable, {
      stage: input.stage,
      outcome: input.outcome,
      executionId: input.executionId,
      settings: config.settings,
      clock: config.clock ?? systemClock,
      durationMs: input.current?.durationMs,
      tier: input.tier,
      durationRefreshSeconds: config.durationRefreshSeconds,
    });
    const { event: change } = result.transition;
    if (change === 'opened' || change === 'reopened' || change === 'closed') {
      const transition = metrics.singleMetric();
      transition.addDimensions({ stage: input.stage, transition: change });
      transition.addMetric('BreakerTransition', MetricUnit.Count, 1);
    }
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
  }, tools);
}
