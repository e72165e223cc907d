// The tier allocator against exhaustive search on small cases, and its admission rules.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Tier } from '#contracts/schemas';
import {
  type Allocation,
  allocate,
  DEFAULT_QUALITY,
  type Load,
  type Pending,
  type Policy,
  schedule,
  totalQuality,
} from '#functions/assess-resources/allocate';

const TIERS: Tier[] = ['high', 'medium', 'low'];
// Per-tier GPU seconds in the proportions of the tier matrix (detail steps, optimize iterations).
const SERVICE = {
  high: { detail: 36, optimize: 43 },
  medium: { detail: 30, optimize: 30 },
  low: { detail: 24, optimize: 21 },
};
const policy: Policy = { quality: DEFAULT_QUALITY, overload: 'reject' };

function load(workers: number, backlog = 0, service = SERVICE): Load {
  return {
    workers: { detail: workers, optimize: workers },
    backlogSeconds: { detail: backlog, optimize: backlog },
    service,
  };
}

/** The best total quality over every tier assignment that meets every deadline (auto requests only). */
function optimum(requests: Pending[], capacity: Load): number {
  let best = 0;
  const choose = (i: number, tiers: Tier[]) => {
    if (i === requests.length) {
      const finish = schedule(tiers, capacity);
      if (finish.every((f, k) => f <= requests[k].deadlineSeconds))
        best = Math.max(
          best,
          tiers.reduce((sum, tier) => sum + policy.quality[tier], 0),
        );
      return;
    }
    for (const tier of TIERS) choose(i + 1, [...tiers, tier]);
  };
  choose(0, []);
  return best;
}

const largestStep = Math.max(
  DEFAULT_QUALITY.medium - DEFAULT_QUALITY.low,
  DEFAULT_QUALITY.high - DEFAULT_QUALITY.medium,
);
const tierOf = (a: Allocation) => ('tier' in a ? a.tier : 'rejected');

describe('allocate', () => {
  it('gives every request high when the GPUs are idle and the deadlines are loose', () => {
    const requests: Pending[] = [1, 2, 3].map((i) => ({ id: `r${i}`, tier: 'auto', deadlineSeconds: 3600 }));

    expect(allocate(requests, load(2), policy).map(tierOf)).toEqual(['high', 'high', 'high']);
  });

  it('steps auto requests down under load so that all of them meet the deadline', () => {
    const requests: Pending[] = [1, 2, 3, 4].map((i) => ({
      id: `r${i}`,
      tier: 'auto',
      deadlineSeconds: 150,
    }));

    const allocations = allocate(requests, load(1), policy);

    expect(allocations.every((a) => 'tier' in a && !a.late && a.finishSeconds <= 150)).toBe(true);
    expect(allocations.map(tierOf).filter((tier) => tier === 'high').length).toBeLessThan(4);
    // All at high would finish the last one at 36 + 4 × 43 s, past the deadline.
    expect(schedule(['high', 'high', 'high', 'high'], load(1)).at(-1)).toBeGreaterThan(150);
  });

  it('honours or rejects an explicit tier, never changes it', () => {
    const requests: Pending[] = [
      { id: 'fits', tier: 'high', deadlineSeconds: 3600 },
      { id: 'too-slow', tier: 'high', deadlineSeconds: 60 },
    ];

    const [fits, tooSlow] = allocate(requests, load(1), policy);

    expect(fits).toMatchObject({ tier: 'high', late: false });
    expect(tooSlow).toMatchObject({ rejected: true });
    expect(allocate(requests, load(1), { ...policy, overload: 'low' })[1]).toMatchObject({
      tier: 'high',
      late: true,
    });
  });

  it('upgrades only within the share of the deadline the policy allows, keeping the rest as headroom', () => {
    // Idle, one worker: low 45 s, medium 60 s, high 79 s against a 100 s deadline.
    const request: Pending = { id: 'r', tier: 'auto', deadlineSeconds: 100 };

    const [whole] = allocate([request], load(1), policy);
    const [half] = allocate([request], load(1), { ...policy, upgradeWithin: 0.5 });
    const [nearly] = allocate([request], load(1), { ...policy, upgradeWithin: 0.7 });

    expect(whole).toMatchObject({ tier: 'high', late: false });
    expect(half).toMatchObject({ tier: 'low', late: false });
    expect(nearly).toMatchObject({ tier: 'medium', late: false });
  });

  it('rejects with a Retry-After, or runs late at low, when even low misses the deadline', () => {
    const request: Pending = { id: 'r', tier: 'auto', deadlineSeconds: 100 };

    const [rejected] = allocate([request], load(1, 300), policy);
    const [lowAnyway] = allocate([request], load(1, 300), { ...policy, overload: 'low' });

    expect(rejected).toMatchObject({ rejected: true });
    expect('retryAfterSeconds' in rejected && rejected.retryAfterSeconds).toBeGreaterThanOrEqual(
      300 + 45 - 100,
    );
    expect(lowAnyway).toMatchObject({ tier: 'low', late: true });
  });

  it('stays within one upgrade step of the exhaustive optimum with one worker and one deadline', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 45, max: 600 }), (count, deadline) => {
        const requests: Pending[] = Array.from({ length: count }, (_, i) => ({
          id: `r${i}`,
          tier: 'auto',
          deadlineSeconds: deadline,
        }));
        const capacity = load(1);
        const greedy = totalQuality(allocate(requests, capacity, policy), policy);
        expect(greedy).toBeGreaterThanOrEqual(optimum(requests, capacity) - largestStep - 1e-9);
      }),
      { numRuns: 200, seed: 10 },
    );
  });

  it('stays within one upgrade step of the optimum on small cases with mixed deadlines and workers', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 45, max: 400 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 0, max: 120 }),
        (deadlines, workers, backlog) => {
          const requests: Pending[] = deadlines.map((d, i) => ({
            id: `r${i}`,
            tier: 'auto',
            deadlineSeconds: d,
          }));
          const capacity = load(workers, backlog);
          const allocations = allocate(requests, capacity, policy);
          const served = requests.filter((_, i) => !('rejected' in allocations[i]));
          const greedy = totalQuality(allocations, policy);
          // The optimum over the requests the greedy admitted (the rejected ones miss even at low).
          expect(greedy).toBeGreaterThanOrEqual(optimum(served, capacity) - largestStep - 1e-9);
        },
      ),
      { numRuns: 300, seed: 11 },
    );
  });
});
