// The circuit breaker's pure core (docs/architecture.md §4): the rolling window of
// counted outcomes, and state + outcome + time ⇒ the next state, or null when nothing changes.
// store.ts counts outcomes with atomic adds and applies transitions with conditional writes.

import { addSeconds, toIso } from '#commons/clock';
import type { BreakerState } from '#contracts/schemas';
import type { BreakerSettings } from './settings.ts';

/** Outcomes counted in one slice of the window; `start` is epoch seconds, a multiple of its width. */
export interface Bucket {
  readonly start: number;
  readonly calls: number;
  readonly failures: number;
}

export interface Breaker {
  state: BreakerState;
  /** Counted outcomes per bucket, any order; buckets older than the window are stale. */
  window: Bucket[];
  openUntil?: string;
  probeOwner?: string;
  probeExpires?: string;
  updatedAt?: string;
}

/**
 * What an execution's stage outcome is to its breaker: `success` and `failure` (the stage is
 * unhealthy) are counted; `rejected` (the request's own fault: invalid input, provider not
 * configured, refusal) is not, and only gives back a probe lease its execution holds.
 */
export type Outcome = 'success' | 'failure' | 'rejected';
export type BreakerEvent = 'none' | 'opened' | 'closed' | 'reopened' | 'released';

export interface Transition {
  /** The state to write; null when the outcome changes no state (the common case). */
  next: Breaker | null;
  event: BreakerEvent;
}

export const CLOSED: Breaker = { state: 'CLOSED', window: [] };

/** Ten buckets per window, at least a second each. */
export function bucketSeconds(settings: BreakerSettings): number {
  return Math.max(1, Math.ceil(settings.windowSeconds / 10));
}

export function bucketStart(now: Date, settings: BreakerSettings): number {
  const width = bucketSeconds(settings);
  return Math.floor(now.getTime() / 1000 / width) * width;
}

export interface WindowStats {
  calls: number;
  failures: number;
  /** Buckets that ended before the window began: safe to delete. */
  stale: Bucket[];
}

export function windowStats(window: readonly Bucket[], now: Date, settings: BreakerSettings): WindowStats {
  const floor = now.getTime() / 1000 - settings.windowSeconds;
  const stats: WindowStats = { calls: 0, failures: 0, stale: [] };
  for (const bucket of window) {
    if (bucket.start + bucketSeconds(settings) <= floor) {
      stats.stale.push(bucket);
      continue;
    }
    stats.calls += bucket.calls;
    stats.failures += bucket.failures;
  }
  return stats;
}

/** The window with one more outcome counted: what the store's atomic ADD does to the item. */
export function countOutcome(
  breaker: Breaker | undefined,
  outcome: Outcome,
  now: Date,
  settings: BreakerSettings,
): Breaker {
  const current = breaker ?? CLOSED;
  if (outcome === 'rejected') return current;
  const start = bucketStart(now, settings);
  const failure = outcome === 'failure' ? 1 : 0;
  const existing = current.window.find((bucket) => bucket.start === start);
  const window = existing
    ? current.window.map((bucket) =>
        bucket === existing
          ? { start, calls: bucket.calls + 1, failures: bucket.failures + failure }
          : bucket,
      )
    : [...current.window, { start, calls: 1, failures: failure }];
  return { ...current, window };
}

/** Whether the counted window says the stage is unhealthy. */
export function tripped(stats: WindowStats, settings: BreakerSettings): boolean {
  return (
    stats.calls >= settings.minimumCalls && stats.failures * 100 >= settings.failureRatePercent * stats.calls
  );
}

/**
 * The state change an outcome causes, given the breaker with that outcome already counted.
 * Opening, closing and reopening start a fresh window.
 */
export function transition(
  current: Breaker | undefined,
  outcome: Outcome,
  executionId: string,
  now: Date,
  settings: BreakerSettings,
): Transition {
  const breaker = current ?? CLOSED;
  const at = toIso(now);

  if (breaker.state === 'HALF_OPEN') {
    // Only the probe decides; executions that passed the gate before the breaker opened do not.
    if (breaker.probeOwner !== executionId) return { next: null, event: 'none' };
    if (outcome === 'success') return { next: { ...CLOSED, updatedAt: at }, event: 'closed' };
    if (outcome === 'rejected') {
      // Neither healthy nor not: the lease ends now, and the next execution probes.
      return {
        next: { state: 'HALF_OPEN', window: [], probeExpires: at, updatedAt: at },
        event: 'released',
      };
    }
    return { next: opened(now, settings), event: 'reopened' };
  }

  // While OPEN, late outcomes of runs that passed the gate before it opened change nothing: the
  // cooldown and the probe decide.
  if (breaker.state === 'OPEN' || outcome !== 'failure') return { next: null, event: 'none' };

  if (tripped(windowStats(breaker.window, now, settings), settings)) {
    return { next: opened(now, settings), event: 'opened' };
  }
  return { next: null, event: 'none' };
}

function opened(now: Date, settings: BreakerSettings): Breaker {
  return {
    state: 'OPEN',
    window: [],
    openUntil: toIso(addSeconds(now, settings.openSeconds)),
    updatedAt: toIso(now),
  };
}
