// The resource assessment's pure decision core: request + signals ⇒ PipelinePlan.
// Adapters (assess-signals.ts) gather the signals; nothing here does I/O.

import { addSeconds, toIso } from '#commons/clock';
import {
  type BreakerState,
  type ContainerStageName,
  type GenerationRequest,
  type LlmProvider,
  type PipelinePlan,
  STAGES,
  type StageName,
  type Tier,
} from '#contracts/schemas';
import { TIER_ORDER, TIERS, workFactor } from '#contracts/tiers';
import { allocate, DEFAULT_QUALITY, type ServiceSeconds, serviceTable, UPGRADE_WITHIN } from './allocate.ts';
import type { LoadSignals } from './load-store.ts';

export interface BreakerSignal {
  state: BreakerState;
  openUntil?: string;
  /** Duration of the last successful run and the tier it ran at (record-outcome stores both). */
  lastDurationMs?: number;
  lastTier?: Tier;
}

/** GPU backend load; a field left undefined is unknown. */
export interface GpuSignal {
  freeSlots?: number;
  queueDepth?: number;
}

/** Whether a stage's weights are in the model store; a stage left out needs none or is unchecked. */
export type ModelSignal = { published: true } | { published: false; reason: string };

export interface Signals {
  /** Container stages this deployment or machine can run at all (STAGE_CAPABILITIES). */
  containerStages: readonly ContainerStageName[];
  /** Model store state of the stages that need weights (MODEL_STAGES); absent when not checked. */
  models?: Partial<Record<ContainerStageName, ModelSignal>>;
  /** The deployment's default template provider; request.llm overrides it. */
  defaultLlm: LlmProvider | undefined;
  breakers: Partial<Record<StageName, BreakerSignal>>;
  gpu: GpuSignal;
  /** Each stage's own timeout; their sum over the planned stages bounds an in-flight claim. */
  timeoutsSeconds: Record<StageName, number>;
  /** GPU load and stage durations from the signal store; absent or empty = unknown. */
  load?: LoadSignals;
  /** Deadline of a request that names none (DEFAULT_DEADLINE_SECONDS). @default none */
  defaultDeadlineSeconds?: number;
}

/** Medium-tier seconds per stage when no recent duration is known (GPU stages on one A10G-class GPU). */
export const DEFAULT_MEDIUM_SECONDS: Record<StageName, number> = { template: 30, detail: 90, optimize: 180 };

/** A queue at least this deep with no free slot means a request waits more than it computes. */
const SATURATED_QUEUE_DEPTH = 4;

export const NO_LLM_REASON = 'no LLM provider configured; offline composer';

type Runs = Record<StageName, boolean>;

function mediumSeconds(stage: StageName, breaker: BreakerSignal | undefined): number {
  if (breaker?.lastDurationMs === undefined) return DEFAULT_MEDIUM_SECONDS[stage];
  return breaker.lastDurationMs / 1000 / workFactor(stage, breaker.lastTier ?? 'medium');
}

/** Expected seconds for the stages that run, at `tier`. */
export function estimateSeconds(tier: Tier, runs: Runs, signals: Signals): number {
  let total = 0;
  for (const stage of STAGES) {
    if (runs[stage]) total += mediumSeconds(stage, signals.breakers[stage]) * workFactor(stage, tier);
  }
  return Math.round(total);
}

function startingTier(runs: Runs, gpu: GpuSignal): [Tier, string] {
  if (!runs.detail && !runs.optimize) {
    return runs.template
      ? ['medium', 'auto: no GPU stage runs here, so medium (standard template model)']
      : ['low', 'auto: only the offline composer runs here, so low'];
  }
  const { freeSlots, queueDepth } = gpu;
  const load = `free slots ${freeSlots ?? 'unknown'}, queue depth ${queueDepth ?? 'unknown'}`;
  if (freeSlots === undefined && queueDepth === undefined)
    return ['medium', 'auto: GPU capacity unknown, so medium'];
  if ((freeSlots === 0 && (queueDepth ?? 0) > 0) || (queueDepth ?? 0) >= SATURATED_QUEUE_DEPTH) {
    return ['low', `auto: GPU saturated (${load}), so low`];
  }
  if (freeSlots !== undefined && freeSlots > 0 && (queueDepth ?? 0) === 0) {
    return ['high', `auto: GPU capacity free (${load}), so high`];
  }
  return ['medium', `auto: GPU busy or partly known (${load}), so medium`];
}

/** Seconds per GPU stage at each tier: measured p50 where the store has it, else the estimate. */
function serviceSeconds(runs: Runs, signals: Signals): ServiceSeconds {
  return serviceTable(
    (['detail', 'optimize'] as const).filter((stage) => runs[stage]),
    (stage, tier) => signals.load?.service[stage]?.[tier]?.p50Seconds,
    (stage, tier) => mediumSeconds(stage, signals.breakers[stage]) * workFactor(stage, tier),
  );
}

/** Tier `auto` under measured GPU load: the allocator's pick for this request (allocate.ts). */
function loadAdaptiveTier(
  runs: Runs,
  signals: Signals,
  deadline: number,
  reasons: string[],
): Tier | undefined {
  const stages = signals.load?.stages ?? {};
  const running = (['detail', 'optimize'] as const).filter((stage) => runs[stage]);
  if (!running.length || running.some((stage) => !stages[stage])) return undefined;
  const [allocation] = allocate(
    [{ id: 'this', tier: 'auto', deadlineSeconds: deadline }],
    {
      workers: { detail: stages.detail?.workers ?? 1, optimize: stages.optimize?.workers ?? 1 },
      backlogSeconds: {
        detail: stages.detail?.backlogSeconds ?? 0,
        optimize: stages.optimize?.backlogSeconds ?? 0,
      },
      service: serviceSeconds(runs, signals),
    },
    // The front door rejects; once running, a request is always served (at low when late).
    { quality: DEFAULT_QUALITY, overload: 'low', upgradeWithin: UPGRADE_WITHIN },
  );
  if (!('tier' in allocation)) return undefined;
  const load = running
    .map(
      (stage) =>
        `${stage} ${stages[stage]?.running}/${stages[stage]?.workers} busy, ${Math.round(stages[stage]?.backlogSeconds ?? 0)} s queued`,
    )
    .join('; ');
  reasons.push(
    `auto: GPU load (${load}): ${allocation.tier} finishes in about ${Math.round(allocation.finishSeconds)} s` +
      (allocation.late ? `, past the ${deadline} s deadline even so` : ` within the ${deadline} s deadline`),
  );
  return allocation.tier;
}

function chooseTier(request: GenerationRequest, runs: Runs, signals: Signals, reasons: string[]): Tier {
  const deadline = request.deadlineSeconds;
  if (request.tier === 'auto' && signals.load?.allocation) {
    reasons.push(`auto: ${signals.load.allocation.reason}`);
    return signals.load.allocation.tier;
  }
  if (request.tier === 'auto' && (runs.detail || runs.optimize)) {
    const adaptive = loadAdaptiveTier(
      runs,
      signals,
      deadline ?? signals.defaultDeadlineSeconds ?? 3600,
      reasons,
    );
    if (adaptive) return adaptive;
  }
  if (request.tier !== 'auto') {
    reasons.push(`tier ${request.tier} requested by the caller`);
    const estimate = estimateSeconds(request.tier, runs, signals);
    if (deadline !== undefined && estimate > deadline) {
      reasons.push(
        `deadline ${deadline} s is below the ${request.tier}-tier estimate of ${estimate} s; kept the requested tier`,
      );
    }
    return request.tier;
  }
  const [start, why] = startingTier(runs, signals.gpu);
  reasons.push(why);
  if (deadline === undefined) return start;
  let tier = start;
  for (const candidate of TIER_ORDER.slice(TIER_ORDER.indexOf(start))) {
    tier = candidate;
    const estimate = estimateSeconds(candidate, runs, signals);
    if (estimate <= deadline) {
      reasons.push(
        candidate === start
          ? `deadline ${deadline} s fits the ${candidate}-tier estimate of ${estimate} s`
          : `deadline ${deadline} s: stepped down to ${candidate} (estimate ${estimate} s)`,
      );
      return candidate;
    }
  }
  reasons.push(
    `deadline ${deadline} s is below even the low-tier estimate of ${estimateSeconds('low', runs, signals)} s; stages that overrun their timeouts degrade`,
  );
  return tier;
}

export function decidePlan(request: GenerationRequest, signals: Signals, now: Date): PipelinePlan {
  const reasons: string[] = [];
  const provider: LlmProvider = request.llm ?? signals.defaultLlm ?? 'offline';
  const capable = new Set<StageName>(signals.containerStages);
  // A stage without published weights would only fail on a GPU and open its breaker for everyone.
  const unpublished = (stage: ContainerStageName) => {
    const model = signals.models?.[stage];
    return model && !model.published ? model.reason : undefined;
  };
  const runs: Runs = {
    template: provider !== 'offline',
    detail: capable.has('detail') && !unpublished('detail'),
    optimize: capable.has('optimize') && !unpublished('optimize'),
  };
  const cannotRun = (stage: ContainerStageName, missing: string) =>
    unpublished(stage) ?? `${stage} cannot run here (not in STAGE_CAPABILITIES: ${missing})`;
  const tier = chooseTier(request, runs, signals, reasons);
  const config = TIERS[tier];

  const stageReason: Record<StageName, string> = {
    template: runs.template
      ? `${provider} ${config.template.useLargerModel ? 'larger' : 'standard'} model at tier ${tier}`
      : NO_LLM_REASON,
    detail: runs.detail
      ? `runs at tier ${tier}`
      : cannotRun('detail', 'no GPU backend, model weights or Python'),
    optimize: runs.optimize ? `runs at tier ${tier}` : cannotRun('optimize', 'no GPU backend or Python'),
  };
  if (runs.optimize && !runs.detail) stageReason.optimize += '; size only: no detail target here';
  for (const stage of STAGES)
    reasons.push(`${stage}: ${runs[stage] ? 'run' : 'skip'} (${stageReason[stage]})`);

  for (const stage of STAGES) {
    const breaker = signals.breakers[stage];
    if (runs[stage] && breaker && breaker.state !== 'CLOSED') {
      const until = breaker.state === 'OPEN' && breaker.openUntil ? ` until ${breaker.openUntil}` : '';
      reasons.push(`${stage} breaker ${breaker.state}${until}; its gate decides at run time`);
    }
  }

  // An identical request joins this one's in-flight claim for as long as this execution can take.
  const claimSeconds = STAGES.reduce(
    (sum, stage) => sum + (runs[stage] ? signals.timeoutsSeconds[stage] : 0),
    0,
  );

  const base = (stage: StageName) => ({
    run: runs[stage],
    reason: stageReason[stage],
  });
  return {
    tier,
    reasons,
    claimUntil: toIso(addSeconds(now, claimSeconds)),
    stages: {
      template: { ...base('template'), config: { ...config.template }, provider },
      detail: { ...base('detail'), config: { ...config.detail } },
      optimize: { ...base('optimize'), config: { ...config.optimize } },
    },
  };
}
