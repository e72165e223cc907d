// Assess resources: picks the tier and what runs, from the request and this deployment's signals
// (docs/state-machine.md, state Assess). The decision itself lives in decide.ts beside it.
import { z } from 'zod';
import { dynamoClient, type HandlerDeps } from '#commons/clients';
import { parseIso } from '#commons/clock';
import { type Env, optionalEnv, requireEnv } from '#commons/env';
import { parseOrThrow } from '#commons/errors';
import { createTools, lambdaHandler, MetricUnit } from '#commons/lambda';
import { GenerationRequest, type PipelinePlan } from '#contracts/schemas';
import { decidePlan, type Signals } from './decide.ts';
import { breakerSignals, loadSignals, staticSignals } from './signals.ts';

export interface AssessConfig {
  readonly breakersTable: string;
  /** The load signal store (load-store.ts); none = no load signal. */
  readonly signalsTable?: string;
  /** What this deployment can run, the default LLM, GPU load and stage timeouts. */
  readonly signals: Omit<Signals, 'breakers'>;
}

export function configFromEnv(env: Env = process.env): AssessConfig {
  return {
    breakersTable: requireEnv('BREAKERS_TABLE', env),
    signalsTable: optionalEnv('SIGNALS_TABLE', env),
    signals: staticSignals(env),
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
  return lambdaHandler(async (event): Promise<PipelinePlan> => {
    const input = parseOrThrow(AssessInput, event);
    // The execution's clock keeps probe leases consistent with the gate's own timestamps.
    const now = parseIso(input.now ?? input.clock?.now) ?? new Date();
    const breakers = await breakerSignals(ddb, config.breakersTable, (error) =>
      logger.warn('breaker states unavailable; planning without them', { error }),
    );
    const load = config.signalsTable
      ? await loadSignals(ddb, config.signalsTable, input.requestId, now, (error) =>
          logger.warn('load signals unavailable; planning without them', { error }),
        )
      : undefined;
    const plan = decidePlan(input.request, { ...config.signals, breakers, load }, now);
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
