// Assess resources: picks the tier and what runs, from the request and this deployment's signals
// (docs/state-machine.md, state Assess). The decision itself lives in decide.ts beside it.
import middy from '@middy/core';
import { z } from 'zod';
import { dynamoClient } from '#commons/clients';
import { parseIso } from '#commons/clock';
import { optionalEnv, requireEnv } from '#commons/env';
import { parseOrThrow } from '#commons/errors';
import { createLogger } from '#commons/logger';
import { logInvocation } from '#commons/middleware';
import { GenerationRequest, type PipelinePlan } from '#contracts/schemas';
import { decidePlan } from './decide.ts';
import { breakerSignals, loadSignals, staticSignals } from './signals.ts';

const table = requireEnv('BREAKERS_TABLE');
const signalsTable = optionalEnv('SIGNALS_TABLE');
const configured = staticSignals();
const ddb = dynamoClient();
const logger = createLogger('assess-resources');

/** The state data after Normalize and Clock; other fields pass by unread. */
const AssessInput = z
  .object({
    request: GenerationRequest,
    requestId: z.string().optional(),
    /** $$.State.EnteredTime of the Clock state, passed as `now` or left in `clock.now`. */
    now: z.string().optional(),
    clock: z.object({ now: z.string() }).optional(),
  })
  .loose();

export async function logic(event: unknown): Promise<PipelinePlan> {
  const input = parseOrThrow(AssessInput, event);
  // The execution's clock keeps probe leases consistent with the gate's own timestamps.
  const now = parseIso(input.now ?? input.clock?.now) ?? new Date();
  const breakers = await breakerSignals(ddb, table, (error) =>
    logger.warn('breaker states unavailable; planning without them', { error }),
  );
  const load = signalsTable
    ? await loadSignals(ddb, signalsTable, input.requestId, now, (error) =>
        logger.warn('load signals unavailable; planning without them', { error }),
      )
    : undefined;
  const plan = decidePlan(input.request, { ...configured, breakers, load }, now);
  logger.info('plan decided', {
    requestId: input.requestId,
    tier: plan.tier,
    run: Object.fromEntries(Object.entries(plan.stages).map(([stage, entry]) => [stage, entry.run])),
    reasons: plan.reasons,
  });
  return plan;
}

export const handler = middy(logic).use(logInvocation(logger));
