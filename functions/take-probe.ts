// Take probe: the gate's half-open step (docs/state-machine.md, gated fragment). One execution wins
// the probe lease, for as long as the stage's own timeout; the others get Breaker.ProbeTaken and
// degrade as if the breaker were open.
import middy from '@middy/core';
import { z } from 'zod';
import { announceBreakerChange } from '#breaker/announce';
import { stageTimeoutsFromEnv } from '#breaker/settings';
import { takeProbe } from '#breaker/store';
import { dynamoClient, eventBridgeClient } from '#commons/clients';
import { systemClock } from '#commons/clock';
import { optionalEnv, requireEnv } from '#commons/env';
import { parseOrThrow } from '#commons/errors';
import { createLogger } from '#commons/logger';
import { logInvocation } from '#commons/middleware';
import { StageName } from '#contracts/schemas';

const table = requireEnv('BREAKERS_TABLE');
const timeouts = stageTimeoutsFromEnv();
const eventBus = optionalEnv('EVENT_BUS_NAME');
const ddb = dynamoClient();
const events = eventBridgeClient();
const logger = createLogger('take-probe');

export const TakeProbeInput = z.object({ stage: StageName, executionId: z.string().min(1) });

export async function logic(event: unknown): Promise<{ leaseUntil: string }> {
  const { stage, executionId } = parseOrThrow(TakeProbeInput, event);
  const now = systemClock();
  const lease = await takeProbe(ddb, table, { stage, executionId, now, leaseSeconds: timeouts[stage] });
  logger.info('probe lease taken', { stage, from: lease.from, leaseUntil: lease.leaseUntil });
  if (lease.from !== 'HALF_OPEN') {
    await announceBreakerChange(
      events,
      eventBus,
      { stage, from: lease.from, to: 'HALF_OPEN', at: now.toISOString(), executionId },
      logger,
    );
  }
  return { leaseUntil: lease.leaseUntil };
}

export const handler = middy(logic).use(logInvocation(logger));
