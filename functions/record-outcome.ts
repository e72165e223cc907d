// Record outcome: counts a stage's success or failure in its circuit breaker's window (request
// errors are not counted), applies the state change that follows, adds a GPU stage's duration to
// the rolling service window the allocator reads, and returns the stage's StageReport
// (docs/state-machine.md, gated fragment).
import { announceBreakerChange } from '#breaker/announce';
import { classifyError, RecordOutcomeInput, stageReport } from '#breaker/outcome';
import { type BreakerSettings, breakerSettingsFromEnv } from '#breaker/settings';
import { recordOutcome } from '#breaker/store';
import type { BreakerEvent, Outcome } from '#breaker/transition';
import { dynamoClient, eventBridgeClient, type HandlerDeps } from '#commons/clients';
import { type Clock, systemClock } from '#commons/clock';
import { type Env, optionalEnv, requireEnv } from '#commons/env';
import { parseOrThrow } from '#commons/errors';
import { createTools, lambdaHandler, MetricUnit } from '#commons/lambda';
import { CONTAINER_STAGES, type ContainerStageName, type StageReport } from '#contracts/schemas';
import { recordServiceSample } from '#functions/assess-resources/load-store';

export interface RecordOutcomeConfig {
  readonly breakersTable: string;
  readonly settings: BreakerSettings;
  /** Breaker State Changed events go here; none means no event. */
  readonly eventBus: string | undefined;
  /** The load signal store, where GPU stage durations roll into p50/p95; none = not kept. */
  readonly signalsTable?: string;
  /** @default the system clock */
  readonly clock?: Clock;
}

export function configFromEnv(env: Env = process.env): RecordOutcomeConfig {
  return {
    breakersTable: requireEnv('BREAKERS_TABLE', env),
    settings: breakerSettingsFromEnv(env),
    eventBus: optionalEnv('EVENT_BUS_NAME', env),
    signalsTable: optionalEnv('SIGNALS_TABLE', env),
  };
}

const NOTES: Record<BreakerEvent, string> = {
  none: 'ran',
  closed: 'ran as the half-open probe; breaker closed',
  opened: 'ran',
  reopened: 'ran',
  released: 'ran',
};

export function makeHandler(config: RecordOutcomeConfig, deps: HandlerDeps = {}) {
  const tools = deps.tools ?? createTools('record-outcome');
  const { logger, metrics } = tools;
  const ddb = deps.clients?.dynamodb ?? dynamoClient(tools);
  const events = deps.clients?.events ?? eventBridgeClient(tools);
  return lambdaHandler(async (event): Promise<StageReport> => {
    const input = parseOrThrow(RecordOutcomeInput, event);
    const errorClass = input.outcome === 'failure' ? classifyError(input.error) : undefined;
    const outcome: Outcome = errorClass === 'request' ? 'rejected' : input.outcome;
    const result = await recordOutcome(ddb, config.breakersTable, {
      stage: input.stage,
      outcome,
      executionId: input.executionId,
      settings: config.settings,
      clock: config.clock ?? systemClock,
      durationMs: input.current?.durationMs,
      tier: input.tier,
    });
    const { transition } = result;
    const from = result.before?.state ?? 'CLOSED';
    const to = transition.next?.state ?? from;
    if (transition.event !== 'none') {
      const change = metrics.singleMetric();
      change.addDimensions({ stage: input.stage, transition: transition.event });
      change.addMetric('BreakerTransition', MetricUnit.Count, 1);
    }
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
        config.eventBus,
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
    const durationMs = input.current?.durationMs;
    const gpuStage = (CONTAINER_STAGES as readonly string[]).includes(input.stage);
    if (config.signalsTable && outcome === 'success' && gpuStage && durationMs !== undefined && input.tier) {
      // The duration is a signal, not the outcome: a store that cannot take it changes no report.
      try {
        await recordServiceSample(
          ddb,
          config.signalsTable,
          input.stage as ContainerStageName,
          input.tier,
          durationMs / 1000,
        );
      } catch (error) {
        logger.warn('stage duration not kept in the service window', { stage: input.stage, error });
      }
    }
    return stageReport(input, NOTES[transition.event]);
  }, tools);
}
