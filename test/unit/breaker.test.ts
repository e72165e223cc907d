import { describe, expect, it } from 'vitest';
import { classifyError } from '#breaker/outcome';
import type { BreakerSettings } from '#breaker/settings';
import {
  type Breaker,
  CLOSED,
  countOutcome,
  type Outcome,
  transition,
  windowStats,
} from '#breaker/transition';

const SETTINGS: BreakerSettings = {
  failureRatePercent: 50,
  minimumCalls: 5,
  windowSeconds: 60,
  openSeconds: 30,
};
const T0 = Date.parse('2026-11-27T02:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const iso = (seconds: number) => at(seconds).toISOString();
const ME = 'exec-probe';

/** Counts then applies each outcome at its second, as record-outcome does, from a closed breaker. */
function run(outcomes: [Outcome, number][], settings = SETTINGS): { breaker: Breaker; events: string[] } {
  let breaker: Breaker = structuredClone(CLOSED);
  const events: string[] = [];
  for (const [outcome, second] of outcomes) {
    breaker = countOutcome(breaker, outcome, at(second), settings);
    const result = transition(breaker, outcome, 'exec-x', at(second), settings);
    if (result.event !== 'none') events.push(result.event);
    breaker = result.next ?? breaker;
  }
  return { breaker, events };
}
const failures = (...seconds: number[]) => seconds.map((s): [Outcome, number] => ['failure', s]);
const successes = (...seconds: number[]) => seconds.map((s): [Outcome, number] => ['success', s]);

describe('breaker opening rule: failure rate over a rolling window, with a minimum number of calls', () => {
  it('does not open below the minimum number of calls, however many of them failed', () => {
    expect(run(failures(0, 1, 2, 3)).breaker.state).toBe('CLOSED');
  });

  it('opens once the minimum is reached and the rate is at the threshold', () => {
    const { breaker, events } = run(failures(0, 1, 2, 3, 4));

    expect(events).toEqual(['opened']);
    expect(breaker).toEqual({ state: 'OPEN', window: [], openUntil: iso(34), updatedAt: iso(4) });
  });

  it('does not open a busy stage for 3 failures in 1,000 calls', () => {
    const outcomes: [Outcome, number][] = [];
    for (let i = 0; i < 1_000; i++) outcomes.push([i % 333 === 0 && i > 0 ? 'failure' : 'success', i * 0.05]);

    const { breaker, events } = run(outcomes);

    expect(outcomes.filter(([o]) => o === 'failure')).toHaveLength(3);
    expect(events).toEqual([]);
    expect(breaker.state).toBe('CLOSED');
    expect(windowStats(breaker.window, at(50), SETTINGS)).toMatchObject({ calls: 1_000, failures: 3 });
  });

  it('stays closed below the rate and opens at it', () => {
    // 2 failures in 5 calls = 40 % < 50 %
    expect(run([...successes(0, 1, 2), ...failures(3, 4)]).breaker.state).toBe('CLOSED');
    // then 3 in 6 = 50 %
    expect(run([...successes(0, 1, 2), ...failures(3, 4, 5)]).events).toEqual(['opened']);
  });

  it('forgets outcomes older than the window', () => {
    const { breaker } = run([...failures(0, 1, 2, 3), ['success', 70]]);

    expect(windowStats(breaker.window, at(70), SETTINGS)).toMatchObject({ calls: 1, failures: 0 });
    expect(windowStats(breaker.window, at(70), SETTINGS).stale.length).toBeGreaterThan(0);
    expect(run([...failures(0, 1, 2, 3), ...failures(70)]).breaker.state).toBe('CLOSED');
  });

  it('counts nothing for a request error and changes no state', () => {
    const before = run(failures(0, 1, 2, 3)).breaker;
    const counted = countOutcome(before, 'rejected', at(4), SETTINGS);

    expect(counted).toEqual(before);
    expect(transition(counted, 'rejected', ME, at(4), SETTINGS)).toEqual({ next: null, event: 'none' });
  });

  it('ignores late outcomes while open', () => {
    const open = run(failures(0, 1, 2, 3, 4)).breaker;

    expect(transition(open, 'failure', ME, at(5), SETTINGS)).toEqual({ next: null, event: 'none' });
    expect(transition(open, 'success', ME, at(5), SETTINGS)).toEqual({ next: null, event: 'none' });
  });

  describe('half-open probe', () => {
    const halfOpen = (): Breaker => ({
      state: 'HALF_OPEN',
      window: [],
      probeOwner: ME,
      probeExpires: iso(600),
      updatedAt: iso(40),
    });

    it('closes the breaker with a fresh window when the probe succeeds', () => {
      const result = transition(halfOpen(), 'success', ME, at(50), SETTINGS);

      expect(result).toEqual({ event: 'closed', next: { state: 'CLOSED', window: [], updatedAt: iso(50) } });
    });

    it('reopens the breaker for another cooldown when the probe fails', () => {
      const result = transition(halfOpen(), 'failure', ME, at(50), SETTINGS);

      expect(result.event).toBe('reopened');
      expect(result.next).toEqual({ state: 'OPEN', window: [], openUntil: iso(80), updatedAt: iso(50) });
    });

    it('gives the lease back when the probe ends in a request error', () => {
      const result = transition(halfOpen(), 'rejected', ME, at(50), SETTINGS);

      expect(result).toEqual({
        event: 'released',
        next: { state: 'HALF_OPEN', window: [], probeExpires: iso(50), updatedAt: iso(50) },
      });
    });

    it.each(['success', 'failure', 'rejected'] as const)(
      'ignores a %s from an execution that is not the probe',
      (outcome) => {
        expect(transition(halfOpen(), outcome, 'exec-other', at(50), SETTINGS)).toEqual({
          next: null,
          event: 'none',
        });
      },
    );
  });
});

describe('error classes', () => {
  it.each(['Template.NotConfigured', 'Template.Refused', 'Template.PromptTooLarge', 'Stage.InvalidInput'])(
    '%s is the request’s own error',
    (name) => {
      expect(classifyError({ Error: name })).toBe('request');
    },
  );

  it.each([
    'Stage.Timeout',
    'Stage.OutOfMemory',
    'Stage.Failed',
    'States.Timeout',
    'States.HeartbeatTimeout',
    'Template.Unavailable',
    'Template.Throttled',
    'Template.ProviderError',
    'Something.Unknown',
  ])('%s says the stage is unhealthy', (name) => {
    expect(classifyError({ Error: name })).toBe('stage');
  });
});
