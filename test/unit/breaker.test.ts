import { describe, expect, it } from 'vitest';
import { type Breaker, type BreakerSettings, CLOSED, transition } from '#breaker/transition';

const SETTINGS: BreakerSettings = { failureThreshold: 3, windowSeconds: 60, openSeconds: 30 };
const T0 = Date.parse('2026-11-27T02:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const iso = (seconds: number) => at(seconds).toISOString();
const ME = 'exec-probe';

/** Applies failures at the given second offsets, starting from a closed breaker. */
function failAt(...seconds: number[]): Breaker {
  let breaker: Breaker = structuredClone(CLOSED);
  for (const second of seconds) {
    breaker = transition(breaker, 'failure', 'exec-x', at(second), SETTINGS).next ?? breaker;
  }
  return breaker;
}

describe('breaker transitions', () => {
  it('writes nothing for a success while closed', () => {
    expect(transition(undefined, 'success', ME, at(0), SETTINGS)).toEqual({ next: null, event: 'none' });
    expect(transition(failAt(0), 'success', ME, at(1), SETTINGS).next).toBeNull();
  });

  it('counts a first failure and starts the window', () => {
    const result = transition(undefined, 'failure', ME, at(0), SETTINGS);

    expect(result.event).toBe('counted');
    expect(result.next).toEqual({
      state: 'CLOSED',
      failures: 1,
      recentFailures: [iso(0)],
      windowStart: iso(0),
      updatedAt: iso(0),
    });
  });

  it('opens the breaker after the third failure within the window', () => {
    const before = failAt(0, 20);

    const result = transition(before, 'failure', ME, at(40), SETTINGS);

    expect(result.event).toBe('opened');
    expect(result.next).toMatchObject({ state: 'OPEN', failures: 3, openUntil: iso(70), updatedAt: iso(40) });
  });

  it('forgets failures older than the window', () => {
    const before = failAt(0, 30);

    const result = transition(before, 'failure', ME, at(65), SETTINGS);

    expect(result.event).toBe('counted');
    expect(result.next).toMatchObject({ state: 'CLOSED', failures: 2, windowStart: iso(30) });
  });

  it('rolls the window: three failures spread over more than a minute do not open it', () => {
    expect(failAt(0, 50, 61)).toMatchObject({ state: 'CLOSED', failures: 2, windowStart: iso(50) });
    expect(failAt(0, 50, 61, 70)).toMatchObject({ state: 'OPEN', openUntil: iso(100) });
  });

  it('ignores late outcomes while open', () => {
    const open = failAt(0, 1, 2);

    expect(transition(open, 'failure', ME, at(3), SETTINGS)).toEqual({ next: null, event: 'none' });
    expect(transition(open, 'success', ME, at(3), SETTINGS)).toEqual({ next: null, event: 'none' });
  });

  describe('half-open probe', () => {
    const halfOpen = (): Breaker => ({
      ...failAt(0, 1, 2),
      state: 'HALF_OPEN',
      probeOwner: ME,
      probeExpires: iso(600),
      updatedAt: iso(40),
    });

    it('closes the breaker when the probe succeeds', () => {
      const result = transition(halfOpen(), 'success', ME, at(50), SETTINGS);

      expect(result.event).toBe('closed');
      expect(result.next).toEqual({ state: 'CLOSED', failures: 0, recentFailures: [], updatedAt: iso(50) });
    });

    it('reopens the breaker for another cooldown when the probe fails', () => {
      const result = transition(halfOpen(), 'failure', ME, at(50), SETTINGS);

      expect(result.event).toBe('reopened');
      expect(result.next).toMatchObject({ state: 'OPEN', openUntil: iso(80), updatedAt: iso(50) });
      expect(result.next?.probeOwner).toBeUndefined();
      expect(result.next?.probeExpires).toBeUndefined();
    });

    it.each(['success', 'failure'] as const)(
      'ignores a %s from an execution that is not the probe',
      (outcome) => {
        expect(transition(halfOpen(), outcome, 'exec-other', at(50), SETTINGS)).toEqual({
          next: null,
          event: 'none',
        });
      },
    );
  });

  it('keeps timestamps in ISO-8601 UTC with milliseconds', () => {
    const result = transition(undefined, 'failure', ME, new Date('2026-11-27T02:00:00.5Z'), SETTINGS);

    expect(result.next?.updatedAt).toBe('2026-11-27T02:00:00.500Z');
  });
});
