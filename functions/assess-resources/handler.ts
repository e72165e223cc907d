// Assess resources: picks the tier and what runs, from the request and this deployment's signals
// (docs/state-machine.md, state Assess). The decision itself lives in decide.ts beside it.
import middy from '@middy/core';
import { z } from 'zod';
import { dynamoClient, s3Client } from '#commons/clients';
import { parseIso } from '#commons/clock';
import { requireEnv } from '#commons/env';
import { parseOrThrow } from '#commons/errors';
import { createLogger } from '#commons/logger';
import { logInvocation } from '#commons/middleware';
import { GenerationRequest, type PipelinePlan } from '#contracts/schemas';
import { decidePlan } from './decide.ts';
import { breakerSignals, modelSignals, modelStoreLocation, staticSignals } from './signals.ts';

const table = requireEnv('BREAKERS_TABLE');
const configured = staticSignals();
const ddb = dynamoClient();
const s3 = s3Client();
const modelStore = modelStoreLocation();
/** A publish shows within a minute; until then each cold start or minute checks once. */
const MODEL_CHECK_MS = 60_000;
let models: { at: number; signals: Promise<Awaited<ReturnType<typeof modelSignals>>> } | undefined;
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
  if (!models || Date.now() - models.at > MODEL_CHECK_MS) {
    models = {
      at: Date.now(),
      signals: modelSignals(s3, modelStore, (error) =>
        logger.warn('model store unreadable; stages with models left unchecked', { error }),
      ),
    };
  }
  const plan = decidePlan(input.request, { ...configured, breakers, models: await models.signals }, now);
  logger.info('plan decided', {
    requestId: input.requestId,
    tier: plan.tier,
    run: Object.fromEntries(Object.entries(plan.stages).map(([stage, entry]) => [stage, entry.run])),
    reasons: plan.reasons,
  });
  return plan;
}

export const handler = middy(logic).use(logInvocation(logger));
