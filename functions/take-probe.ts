// Take probe: the gate's half-open step (docs/state-machine.md, gated fragment). One execution wins
// the probe lease, for as long as the stage's own timeout; the others get Breaker.ProbeTaken and
// degrade as if the breaker were open.
import { z } from 'zod';
import { announceBreakerChange } from '#breaker/announce';
import { type StageTimeouts, stageTimeoutsFromEnv } from '#breaker/settings';
import { takeProbe } from '#breaker/store';
import { dynamoClient, eventBridgeClient, type HandlerDeps } from '#commons/clients';
import { type Clock, systemClock } from '#commons/clock';
import { type Env, optionalEnv, requireEnv } from '#commons/env';
import { parseOrThrow } from '#commons/errors';
import { createTools, lambdaHandler } from '#commons/lambda';
import { StageName } from '#contracts/schemas';

export interface TakeProbeConfig {
  readonly breakersTable: string;
  /** Each stage's own timeout: the length of its probe lease. */
  readonly timeouts: StageTimeouts;
  readonly eventBus: string | undefined;
  /** @default the system clock */
  readonly clock?: Clock;
}

export function configFromEnv(env: Env = process.env): TakeProbeConfig {
  return {
    breakersTable: requireEnv('BREAKERS_TABLE', env),
    timeouts: stageTimeoutsFromEnv(env),
    eventBus: optionalEnv('EVENT_BUS_NAME', env),
  };
}

export const TakeProbeInput = z.object({ stage: StageName, executionId: z.string().min(1) });

export function makeHandler(config: TakeProbeConfig, deps: HandlerDeps = {}) {
  const tools = deps.tools ?? createTools('take-probe');
  const { logger } = tools;
  const ddb = deps.clients?.dynamodb ?? dynamoClient(tools);
  const events = deps.clients?.events ?? eventBridgeClient(tools);
  return lambdaHandler(async (event): Promise<{ leaseUntil: string }> => {
    const { stage, executionId } = parseOrThrow(TakeProbeInput, event);
    const now = (config.clock ?? systemClock)();
    const lease = await takeProbe(ddb, config.breakersTable, {
      stage,
      executionId,
      now,
      leaseSeconds: config.timeouts[stage],
    });
    logger.info('probe lease taken', { stage, from: lease.from, leaseUntil: lease.leaseUntil });
    if (lease.from !== 'HALF_OPEN') {
      await announceBreakerChange(
        events,
        config.eventBus,
        { stage, from: lease.from, to: 'HALF_OPEN', at: now.toISOString(), executionId },
        logger,
      );
    }
    return { leaseUntil: lease.leaseUntil };
  }, tools);
}
