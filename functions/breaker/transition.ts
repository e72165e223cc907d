// The circuit breaker's pure transition core (docs/architecture.md §4): state + outcome + time ⇒ the
// next item, or null when nothing needs writing. breaker-store.ts applies it with conditional writes.

import { addSeconds, parseIso, toIso } from '#commons/clock';
import type { BreakerState } from '#contracts/schemas';

export interface Breaker {
  state: BreakerState;
  /** Failures within the rolling window (= recentFailures.length while CLOSED). */
  failures: number;
  /** Timestamps of the latest failures, oldest first, at most `failureThreshold` of them. */
  recentFailures: string[];
  /** Oldest failure still in the window. */
  windowStart?: string;
  openUntil?: string;
  probeOwner?: string;
  probeExpires?: string;
  updatedAt?: string;
}

export interface BreakerSettings {
  failureThreshold: number;
  windowSeconds: number;
  openSeconds: number;
}

export const DEFAULT_BREAKER_SETTINGS: BreakerSettings = {
  failureThreshold: 3,
  windowSeconds: 60,
  openSeconds: 30,
};

export type Outcome = 'success' | 'failure';
export type BreakerEvent = 'none' | 'counted' | 'opened' | 'closed' | 'reopened';

export interface Transition {
  /** The item to write; null saves the write (e.g. a success while CLOSED, the common case). */
  next: Breaker | null;
  event: BreakerEvent;
}

export const CLOSED: Breaker = { state: 'CLOSED', failures: 0, recentFailures: [] };

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
    // Only the probe decides; executions that started before the breaker opened do not.
    if (breaker.probeOwner !== executionId) return { next: null, event: 'none' };
    if (outcome === 'success') return { next: { ...CLOSED, updatedAt: at }, event: 'closed' };
    const recentFailures = [...breaker.recentFailures, at].slice(-settings.failureThreshold);
    return { next: opened({ ...breaker, recentFailures }, now, settings), event: 'reopened' };
  }

  if (breaker.state === 'OPEN') {
    // Late outcomes of runs that passed the gate before it opened: the cooldown and the probe
    // decide, so neither extends nor shortens it.
    return { next: null, event: 'none' };
  }

  if (outcome === 'success') return { next: null, event: 'none' };

  const windowFloor = addSeconds(now, -settings.windowSeconds).getTime();
  const recent = [...breaker.recentFailures, at]
    .filter((stamp) => (parseIso(stamp)?.getTime() ?? 0) > windowFloor)
    .slice(-settings.failureThreshold);
  if (recent.length >= settings.failureThreshold) {
    return { next: opened({ ...breaker, recentFailures: recent }, now, settings), event: 'opened' };
  }
  return {
    next: {
      state: 'CLOSED',
      failures: recent.length,
      recentFailures: recent,
      windowStart: recent[0],
      updatedAt: at,
    },
    event: 'counted',
  };
}

function opened(breaker: Breaker, now: Date, settings: BreakerSettings): Breaker {
  return {
    state: 'OPEN',
    failures: breaker.recentFailures.length,
    recentFailures: breaker.recentFailures,
    windowStart: breaker.recentFailures[0],
    openUntil: toIso(addSeconds(now, settings.openSeconds)),
    updatedAt: toIso(now),
  };
}
