// The resource assessment's pure decision core: request + signals + time ⇒ PipelinePlan.
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
  timeoutsSeconds: Record<StageName, number>;
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

function chooseTier(request: GenerationRequest, runs: Runs, signals: Signals, reasons: string[]): Tier {
  const deadline = request.deadlineSeconds;
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

  // A probe lease must outlast this execution's way to the end of the stage: the timeouts of the
  // stages that run before it, and its own.
  const probeLeaseUntil = {} as Record<StageName, string>;
  let elapsed = 0;
  for (const stage of STAGES) {
    elapsed += runs[stage] ? signals.timeoutsSeconds[stage] : 0;
    probeLeaseUntil[stage] = toIso(
      addSeconds(now, runs[stage] ? elapsed : elapsed + signals.timeoutsSeconds[stage]),
    );
  }

  const base = (stage: StageName) => ({
    run: runs[stage],
    reason: stageReason[stage],
    probeLeaseUntil: probeLeaseUntil[stage],
  });
  return {
    tier,
    reasons,
    stages: {
      template: { ...base('template'), config: { ...config.template }, provider },
      detail: { ...base('detail'), config: { ...config.detail } },
      optimize: { ...base('optimize'), config: { ...config.optimize } },
    },
  };
}
