// Assess resources: picks the tier and what runs, from the request and this deployment's signals
// (docs/state-machine.md, state Assess). The decision itself lives in decide.ts beside it.
import { z } from 'zod';
import { dynamoClient, type HandlerDeps, s3Client } from '#commons/clients';
import { parseIso } from '#commons/clock';
import { type Env, requireEnv } from '#commons/env';
import { parseOrThrow } from '#commons/errors';
import { createTools, lambdaHandler, MetricUnit } from '#commons/lambda';
import { GenerationRequest, type PipelinePlan } from '#contracts/schemas';
import { decidePlan, type Signals } from './decide.ts';
import {
  breakerSignals,
  type ModelStoreLocation,
  modelSignals,
  modelStoreLocation,
  staticSignals,
} from './signals.ts';

export interface AssessConfig {
  readonly breakersTable: string;
  /** What this deployment can run, the default LLM, GPU load and stage timeouts. */
  readonly signals: Omit<Signals, 'breakers'>;
  /** Where to look for published models; none means no stage waits for them (the local runtime). */
  readonly modelStore?: ModelStoreLocation;
}

/** A publish shows within a minute; until then each cold start or minute checks once. */
const MODEL_CHECK_MS = 60_000;

export function configFromEnv(env: Env = process.env): AssessConfig {
  return {
    breakersTable: requireEnv('BREAKERS_TABLE', env),
    signals: staticSignals(env),
    modelStore: modelStoreLocation(env),
  };
}

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

export function makeHandler(config: AssessConfig, deps: HandlerDeps = {}) {
  const tools = deps.tools ?? createTools('assess-resources');
  const { logger, metrics } = tools;
  const ddb = deps.clients?.dynamodb ?? dynamoClient(tools);
  const s3 = deps.clients?.s3 ?? s3Client(tools);
  let models: { at: number; signals: Promise<Signals['models']> } | undefined;
  return lambdaHandler(async (event): Promise<PipelinePlan> => {
    const input = parseOrThrow(AssessInput, event);
    // The execution's clock keeps probe leases consistent with the gate's own timestamps.
    const now = parseIso(input.now ?? input.clock?.now) ?? new Date();
    const breakers = await breakerSignals(ddb, config.breakersTable, (error) =>
      logger.warn('breaker states unavailable; planning without them', { error }),
    );
    if (!models || Date.now() - models.at > MODEL_CHECK_MS) {
      models = {
        at: Date.now(),
        signals: modelSignals(s3, config.modelStore, (error) =>
          logger.warn('model store unreadable; stages with models left unchecked', { error }),
        ),
      };
    }
    const plan = decidePlan(
      input.request,
      { ...config.signals, breakers, models: await models.signals },
      now,
    );
    // Assess runs on every cache miss and only then; hits are counted from the state machine's logs.
    metrics.addMetric('CacheMiss', MetricUnit.Count, 1);
    const tier = metrics.singleMetric();
    tier.addDimension('tier', plan.tier);
    tier.addMetric('TierChosen', MetricUnit.Count, 1);
    logger.info('plan decided', {
      requestId: input.requestId,
      tier: plan.tier,
      run: Object.fromEntries(Object.entries(plan.stages).map(([stage, entry]) => [stage, entry.run])),
      reasons: plan.reasons,
    });
    return plan;
  }, tools);
}
