// The admission decision at POST /v1/generations (pure), shared by the deployed front door
// (handler.ts beside it) and `chat2svg serve`: the allocator (assess-resources/allocate.ts) run for
// the new request against the GPU work already committed picks the tier of an `auto` request, or
// turns the request away (429 + Retry-After) when the environment says `reject` and even its
// cheapest choice misses the deadline. Explicit tiers are honoured or rejected, never changed.
import { type Env, InvalidEnvError, optionalEnv } from '#commons/env';
import type { ContainerStageName, GenerationRequest, Tier } from '#contracts/schemas';
import { TIER_ORDER } from '#contracts/tiers';
import {
  allocate,
  DEFAULT_QUALITY,
  type Load,
  type ServiceSeconds,
  serviceTable,
  UPGRADE_WITHIN,
} from '#functions/assess-resources/allocate';
import type { LoadSignals } from '#functions/assess-resources/load-store';

export interface AdmissionPolicy {
  /** What happens to a request that misses its deadline even at its cheapest choice. */
  readonly overload: 'reject' | 'low';
  /** The deadline of a request that names none. */
  readonly defaultDeadlineSeconds: number;
}

/** The environment's `admission` settings as synthesized (ADMISSION_OVERLOAD, DEFAULT_DEADLINE_SECONDS). */
export function admissionPolicyFromEnv(env: Env): AdmissionPolicy {
  const overload = optionalEnv('ADMISSION_OVERLOAD', env) ?? 'low';
  if (overload !== 'low' && overload !== 'reject')
    throw new InvalidEnvError('ADMISSION_OVERLOAD', `expected "low" or "reject", got "${overload}"`);
  const deadline = Number(optionalEnv('DEFAULT_DEADLINE_SECONDS', env) ?? 900);
  if (!Number.isInteger(deadline) || deadline <= 0)
    throw new InvalidEnvError('DEFAULT_DEADLINE_SECONDS', 'expected a positive whole number of seconds');
  return { overload, defaultDeadlineSeconds: deadline };
}

export type Decision =
  | { readonly ok: true; readonly tier?: Tier; readonly reason?: string }
  | { readonly ok: false; readonly retryAfterSeconds: number; readonly message: string };

/**
 * Seconds per stage and tier from measured p50s (a tier not measured is scaled from one that is);
 * undefined while a stage that runs has no measurement at all: then nothing is decided here.
 */
export function measuredService(
  stages: readonly ContainerStageName[],
  p50: (stage: ContainerStageName, tier: Tier) => number | undefined,
): ServiceSeconds | undefined {
  const unmeasured = (stage: ContainerStageName) =>
    TIER_ORDER.every((tier) => p50(stage, tier) === undefined);
  if (stages.some(unmeasured)) return undefined;
  return serviceTable(stages, p50, () => 0);
}

/**
 * The load the signal store holds for `stages`: undefined unless every one of them has a fresh
 * load item and a measured duration (the assessment then decides alone, as before).
 */
export function loadFromSignals(
  signals: LoadSignals,
  stages: readonly ContainerStageName[],
): Load | undefined {
  if (!stages.length || stages.some((stage) => !signals.stages[stage])) return undefined;
  const service = measuredService(stages, (stage, tier) => signals.service[stage]?.[tier]?.p50Seconds);
  if (!service) return undefined;
  return {
    workers: {
      detail: Math.max(1, signals.stages.detail?.workers ?? 1),
      optimize: Math.max(1, signals.stages.optimize?.workers ?? 1),
    },
    backlogSeconds: {
      detail: signals.stages.detail?.backlogSeconds ?? 0,
      optimize: signals.stages.optimize?.backlogSeconds ?? 0,
    },
    service,
  };
}

/** Whether a request is taken against `load`, and at which tier for `auto`; no load ⇒ taken. */
export function admissionDecision(
  request: GenerationRequest,
  load: Load | undefined,
  policy: AdmissionPolicy,
): Decision {
  if (!load) return { ok: true };
  const deadline = request.deadlineSeconds ?? policy.defaultDeadlineSeconds;
  const [allocation] = allocate([{ id: 'new', tier: request.tier, deadlineSeconds: deadline }], load, {
    quality: DEFAULT_QUALITY,
    overload: 'low',
    upgradeWithin: UPGRADE_WITHIN,
  });
  if (!('tier' in allocation)) return { ok: true };
  if (allocation.late && policy.overload === 'reject') {
    const wait = Math.max(1, Math.ceil(allocation.finishSeconds - deadline));
    const what = request.tier === 'auto' ? 'even the low tier' : `tier ${request.tier}`;
    return {
      ok: false,
      retryAfterSeconds: wait,
      message: `GPU capacity is busy: ${what} would finish in about ${Math.round(allocation.finishSeconds)} s, past the ${deadline} s deadline; retry in ${wait} s`,
    };
  }
  if (request.tier !== 'auto') return { ok: true };
  const reason = `allocated ${allocation.tier} at admission: about ${Math.round(allocation.finishSeconds)} s against the ${deadline} s deadline${allocation.late ? ' (late even at low)' : ''}`;
  return { ok: true, tier: allocation.tier, reason };
}
