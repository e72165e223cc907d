// The state data stays inside Step Functions' 256 KiB with the largest inline payloads it can
// carry at once: the template (once), a later stage's svg and target, the next stage's input, a
// stage error's longest Cause, a request at its limits and the plan, reports and breaker item.
import { describe, expect, it } from 'vitest';
import { refSize } from '#commons/payload';
import { BUDGETS, type InlinePayloadRef } from '#contracts/schemas';
import { TRANSPORTS } from '#contracts/transports';
import { decidePlan } from '#functions/assess-resources/decide';

/** Step Functions' limit on a state's input or output, in UTF-8 bytes. */
const STATE_LIMIT = 256 * 1024;
/** Step Functions' limit on an error's Cause, in characters. */
const MAX_CAUSE = 32_768;
/** stage-images/worker payload.py make_output_payload: svg and target each get half the output budget. */
const WORKER_FIELD_BUDGET = BUDGETS.stageOutput / 2;

/** An inline PayloadRef whose serialized size is exactly `budget` bytes: the largest one allowed. */
function refAtBudget(budget: number, mediaType = 'image/svg+xml'): InlinePayloadRef {
  const ref = (length: number): InlinePayloadRef => ({
    inline: 'a'.repeat(length),
    encoding: 'utf8',
    mediaType,
    bytes: length,
    sha256: '0'.repeat(64),
  });
  let length = budget - refSize(ref(0));
  while (refSize(ref(length)) > budget) length -= 1;
  return ref(length);
}

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

function largestState() {
  const request = {
    prompt: 'é'.repeat(2000),
    style: 'é'.repeat(200),
    tier: 'high',
    seed: 2 ** 31,
    llm: 'anthropic',
  };
  const plan = decidePlan(
    request as never,
    {
      containerStages: ['detail', 'optimize'],
      defaultLlm: 'anthropic',
      breakers: {
        template: {
          state: 'OPEN',
          openUntil: '2026-11-27T02:00:30.000Z',
          lastDurationMs: 99_999,
          lastTier: 'high',
        },
        detail: { state: 'HALF_OPEN', lastDurationMs: 99_999, lastTier: 'high' },
        optimize: {
          state: 'OPEN',
          openUntil: '2026-11-27T02:00:30.000Z',
          lastDurationMs: 99_999,
          lastTier: 'high',
        },
      },
      gpu: { freeSlots: 1, queueDepth: 0 },
      timeoutsSeconds: { template: 99_999, detail: 99_999, optimize: 99_999 },
    },
    new Date('2026-11-27T02:00:00.000Z'),
  );
  const metrics = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`metric_number_${i}`, 1234.5678]));
  const reason = 'r'.repeat(240);
  const window = Object.fromEntries(
    Array.from({ length: 22 }, (_, i) => [
      `${i % 2 ? 'fails' : 'calls'}_${1_795_000_000 + i}`,
      { N: '99999' },
    ]),
  );
  return {
    request,
    requestId: 'x'.repeat(80),
    cacheKey: 'f'.repeat(64),
    clock: { now: '2026-11-27T02:00:00.000Z' },
    cached: {},
    plan,
    reports: {
      template: {
        name: 'template',
        status: 'ran',
        reason,
        durationMs: 99_999,
        metrics,
        objects: Array(30).fill('lighthouse'),
      },
      detail: { name: 'detail', status: 'ran', reason, durationMs: 99_999, metrics },
    },
    templateSvg: refAtBudget(BUDGETS.templateOutput),
    current: {
      svg: refAtBudget(WORKER_FIELD_BUDGET),
      target: refAtBudget(WORKER_FIELD_BUDGET, 'image/png'),
      metrics,
      durationMs: 99_999,
    },
    gate: {
      now: '2026-11-27T02:00:05.000Z',
      breaker: {
        Item: {
          stage: { S: 'optimize' },
          state: { S: 'HALF_OPEN' },
          openUntil: { S: '2026-11-27T02:00:30.000Z' },
          probeOwner: {
            S: `arn:aws:states:us-east-1:123456789012:execution:chat2svg-prod-pipeline:${'x'.repeat(80)}`,
          },
          probeExpires: { S: '2026-11-27T02:10:30.000Z' },
          updatedAt: { S: '2026-11-27T02:00:30.000Z' },
          version: { N: '99999' },
          lastDurationMs: { N: '99999' },
          lastDurationAt: { S: '2026-11-27T02:00:30.000Z' },
          lastTier: { S: 'high' },
          ...window,
        },
      },
      probe: { leaseUntil: '2026-11-27T02:10:30.000Z' },
      // The largest stage input any GPU backend carries inline.
      input: {
        ref: refAtBudget(Math.max(...Object.values(TRANSPORTS).map((t) => t.limitBytes)), 'application/json'),
      },
      error: { Error: 'Stage.OutOfMemory', Cause: 'c'.repeat(MAX_CAUSE) },
    },
  };
}

describe('state size', () => {
  it('stays inside 256 KiB with every inline payload at its budget and the longest Cause', () => {
    const state = largestState();

    expect(bytes(state)).toBeLessThanOrEqual(STATE_LIMIT);
    expect(bytes(state)).toBeGreaterThan(0.85 * STATE_LIMIT); // the payloads dominate: a real boundary
  });

  it('would not, with the template carried twice or at the stage output budget', () => {
    const twice = {
      ...largestState(),
      current: { ...largestState().current, template: refAtBudget(BUDGETS.templateOutput) },
    };
    const large = { ...largestState(), templateSvg: refAtBudget(BUDGETS.stageOutput) };

    expect(bytes(twice)).toBeGreaterThan(STATE_LIMIT);
    expect(bytes(large)).toBeGreaterThan(STATE_LIMIT);
  });
});
