// Tier allocation under load (pure; no I/O): which tier each waiting request gets, or whether it is
// turned away, so that under load many requests get medium or low instead of a few getting high
// and the rest missing their deadlines. docs/benchmarks.md ("Load") measures it; the algorithm:
//
// 1. Every `auto` request starts at low, every explicit request at its own tier.
// 2. A request that misses its deadline even so is rejected (`overload: 'reject'`, 429 +
//    Retry-After) or kept and runs late (`overload: 'low'`). Explicit tiers are never changed.
// 3. Upgrades (low→medium, medium→high) of `auto` requests are taken greedily, the best quality
//    gained per GPU-second first, each only if every request that met its deadline still does and
//    the upgraded one finishes within `upgradeWithin` of its deadline: the rest is headroom for
//    requests not yet arrived, whom an upgrade's GPU-seconds would otherwise delay or turn away.
//
// Completion times come from `schedule`: the requests in arrival order through each GPU stage's
// workers (first free worker first), stage after stage, after the work already committed.
// Bound: with `upgradeWithin` 1 (the default), one deadline for all and one worker, step 3 is the
// greedy for the multiple-choice knapsack over increasing-efficiency-ordered upgrades, within one
// upgrade's quality of the optimum; test/unit/allocate.test.ts checks it against exhaustive search
// on small cases.
import { CONTAINER_STAGES, type ContainerStageName, type Tier } from '#contracts/schemas';
import { TIER_ORDER, workFactor } from '#contracts/tiers';

export type RequestedTier = Tier | 'auto';

export interface Pending {
  readonly id: string;
  readonly tier: RequestedTier;
  /** Seconds from now the result is due. */
  readonly deadlineSeconds: number;
}

/** Seconds one request spends on each GPU stage at each tier (rolling p50 where measured). */
export type ServiceSeconds = Record<Tier, Record<ContainerStageName, number>>;

export interface Load {
  /** Workers per GPU stage. */
  readonly workers: Record<ContainerStageName, number>;
  /** GPU-seconds already committed per stage (queued work and what running work has left). */
  readonly backlogSeconds: Record<ContainerStageName, number>;
  readonly service: ServiceSeconds;
  /**
   * Seconds outside the GPU stages (template, orchestration), added to each finish time;
   * `chat2svg serve` measures it (src/local/serve/overhead.ts). @default 0
   */
  readonly overheadSeconds?: number;
}

export interface Policy {
  /** Relative value of a result at each tier (high = 1). */
  readonly quality: Record<Tier, number>;
  /** What happens to a request that misses its deadline even at the cheapest choice it allows. */
  readonly overload: 'reject' | 'low';
  /** Share of its deadline within which an upgraded request must finish. @default 1 */
  readonly upgradeWithin?: number;
}

/** Relative quality per tier: medium keeps most of high's value for about 70% of its GPU time. */
export const DEFAULT_QUALITY: Record<Tier, number> = { high: 1, medium: 0.8, low: 0.55 };

/**
 * Upgrades spend at most half a request's deadline: one request at a time is allocated (at the
 * front door, in the assessment), so the other half is kept for the ones arriving after it.
 */
export const UPGRADE_WITHIN = 0.5;

export type Allocation =
  | { readonly id: string; readonly tier: Tier; readonly finishSeconds: number; readonly late: boolean }
  | {
      readonly id: string;
      readonly rejected: true;
      readonly retryAfterSeconds: number;
      readonly reason: string;
    };

const UPGRADE: Partial<Record<Tier, Tier>> = { low: 'medium', medium: 'high' };

/**
 * The per-tier service table of the stages that run: a stage's measured p50 at a tier where there
 * is one, else a measured tier of the same stage scaled by the work factors, else `estimate`.
 */
export function serviceTable(
  stages: readonly ContainerStageName[],
  measured: (stage: ContainerStageName, tier: Tier) => number | undefined,
  estimate: (stage: ContainerStageName, tier: Tier) => number,
): ServiceSeconds {
  const table = {} as ServiceSeconds;
  for (const tier of TIER_ORDER) table[tier] = { detail: 0, optimize: 0 };
  for (const stage of stages) {
    const known = TIER_ORDER.find((tier) => measured(stage, tier) !== undefined);
    for (const tier of TIER_ORDER) {
      table[tier][stage] =
        measured(stage, tier) ??
        (known
          ? ((measured(stage, known) as number) / workFactor(stage, known)) * workFactor(stage, tier)
          : estimate(stage, tier));
    }
  }
  return table;
}

/** Finish time (seconds from now) of each request, given its tier, in arrival order. */
export function schedule(tiers: readonly Tier[], load: Load): number[] {
  const free = Object.fromEntries(
    CONTAINER_STAGES.map((stage) => {
      const count = Math.max(1, load.workers[stage]);
      return [stage, Array.from({ length: count }, () => load.backlogSeconds[stage] / count)];
    }),
  ) as Record<ContainerStageName, number[]>;
  return tiers.map((tier) => {
    let ready = 0;
    for (const stage of CONTAINER_STAGES) {
      const seconds = load.service[tier][stage];
      if (seconds <= 0) continue;
      const workers = free[stage];
      let first = 0;
      for (let i = 1; i < workers.length; i += 1) if (workers[i] < workers[first]) first = i;
      const start = Math.max(ready, workers[first]);
      ready = start + seconds;
      workers[first] = ready;
    }
    return ready + (load.overheadSeconds ?? 0);
  });
}

const gpuSeconds = (tier: Tier, load: Load) =>
  CONTAINER_STAGES.reduce((sum, stage) => sum + load.service[tier][stage], 0);

export function allocate(requests: readonly Pending[], load: Load, policy: Policy): Allocation[] {
  const tiers: Tier[] = requests.map((request) => (request.tier === 'auto' ? 'low' : request.tier));
  const kept = requests.map(() => true);
  const late = requests.map(() => false);
  const keptIndexes = () => requests.map((_, i) => i).filter((i) => kept[i]);
  const finishes = (): Map<number, number> => {
    const order = keptIndexes();
    const times = schedule(
      order.map((i) => tiers[i]),
      load,
    );
    return new Map(order.map((i, k) => [i, times[k]]));
  };

  // Step 2: in arrival order, so an early request is not turned away for a later one.
  let finish = finishes();
  for (let i = 0; i < requests.length; i += 1) {
    if ((finish.get(i) ?? 0) <= requests[i].deadlineSeconds) continue;
    if (policy.overload === 'reject') {
      kept[i] = false;
      finish = finishes();
    } else late[i] = true;
  }

  // Step 3: upgrades by quality per GPU-second, best first.
  const efficiency = (i: number): number => {
    const next = UPGRADE[tiers[i]];
    if (!next) return -1;
    const cost = gpuSeconds(next, load) - gpuSeconds(tiers[i], load);
    const gain = policy.quality[next] - policy.quality[tiers[i]];
    return cost > 0 ? gain / cost : Number.POSITIVE_INFINITY;
  };
  const candidates = new Set(
    requests.map((_, i) => i).filter((i) => kept[i] && !late[i] && requests[i].tier === 'auto'),
  );
  while (candidates.size) {
    let best = -1;
    for (const i of candidates) if (best < 0 || efficiency(i) > efficiency(best)) best = i;
    const next = UPGRADE[tiers[best]];
    if (!next || efficiency(best) <= 0) {
      candidates.delete(best);
      continue;
    }
    const before = tiers[best];
    tiers[best] = next;
    const trial = finishes();
    const stillOnTime =
      (trial.get(best) ?? 0) <= requests[best].deadlineSeconds * (policy.upgradeWithin ?? 1) &&
      keptIndexes().every((i) => late[i] || (trial.get(i) ?? 0) <= requests[i].deadlineSeconds);
    if (stillOnTime) finish = trial;
    else {
      tiers[best] = before;
      candidates.delete(best);
    }
  }

  return requests.map((request, i) => {
    if (kept[i]) return { id: request.id, tier: tiers[i], finishSeconds: finish.get(i) ?? 0, late: late[i] };
    // Until the work ahead drains enough for this request to fit.
    const alone = schedule([tiers[i]], load)[0];
    const lateBy = Math.max(1, Math.ceil(alone - request.deadlineSeconds));
    return {
      id: request.id,
      rejected: true,
      retryAfterSeconds: lateBy,
      reason:
        request.tier === 'auto'
          ? `even the low tier would finish in about ${Math.round(alone)} s, past the ${request.deadlineSeconds} s deadline`
          : `tier ${request.tier} would finish in about ${Math.round(alone)} s, past the ${request.deadlineSeconds} s deadline`,
    };
  });
}

/** Total quality of an allocation (rejected and late requests count 0). */
export function totalQuality(allocations: readonly Allocation[], policy: Policy): number {
  return allocations.reduce((sum, a) => sum + ('tier' in a && !a.late ? policy.quality[a.tier] : 0), 0);
}
