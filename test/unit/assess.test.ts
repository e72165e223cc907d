import { describe, expect, it } from 'vitest';
import { GenerationRequest, PipelinePlan, type Tier } from '#contracts/schemas';
import { TIERS } from '#contracts/tiers';
import { decidePlan, NO_LLM_REASON, type Signals } from '#functions/assess-resources/decide';

const NOW = new Date('2026-11-27T02:00:00.000Z');

function signals(overrides: Partial<Signals> = {}): Signals {
  return {
    containerStages: ['detail', 'optimize'],
    defaultLlm: 'bedrock',
    breakers: {},
    gpu: {},
    timeoutsSeconds: { template: 120, detail: 900, optimize: 600 },
    ...overrides,
  };
}

function request(fields: Record<string, unknown> = {}) {
  return GenerationRequest.parse({ prompt: 'a red fox', ...fields });
}

describe('decidePlan', () => {
  it.each<[string, Record<string, unknown>, Partial<Signals>, Tier, RegExp]>([
    ['medium when GPU capacity is unknown', {}, {}, 'medium', /GPU capacity unknown/],
    [
      'high when GPU slots are free and nothing is queued',
      {},
      { gpu: { freeSlots: 2, queueDepth: 0 } },
      'high',
      /capacity free/,
    ],
    [
      'low when no slot is free and jobs are queued',
      {},
      { gpu: { freeSlots: 0, queueDepth: 3 } },
      'low',
      /saturated/,
    ],
    ['low when the queue is deep', {}, { gpu: { freeSlots: 1, queueDepth: 9 } }, 'low', /saturated/],
    [
      'medium when the GPU is busy but not saturated',
      {},
      { gpu: { freeSlots: 1, queueDepth: 1 } },
      'medium',
      /busy/,
    ],
    [
      'the caller’s tier whatever the signals',
      { tier: 'low' },
      { gpu: { freeSlots: 4, queueDepth: 0 } },
      'low',
      /requested by the caller/,
    ],
    [
      'medium when no GPU stage runs here but an LLM does',
      {},
      { containerStages: [] },
      'medium',
      /no GPU stage runs here/,
    ],
    [
      'low when only the offline composer runs',
      { llm: 'offline' },
      { containerStages: [] },
      'low',
      /only the offline composer/,
    ],
    // Defaults at medium: 30 + 90 + 180 = 300 s; high = 60 + 108 + 257 = 425 s; low = 30 + 72 + 129 = 231 s.
    [
      'a lower tier when the deadline is tight',
      { deadlineSeconds: 320 },
      { gpu: { freeSlots: 2, queueDepth: 0 } },
      'medium',
      /stepped down to medium/,
    ],
    ['low when even medium misses the deadline', { deadlineSeconds: 240 }, {}, 'low', /stepped down to low/],
    [
      'low and a warning when no tier meets the deadline',
      { deadlineSeconds: 60 },
      {},
      'low',
      /below even the low-tier estimate/,
    ],
    [
      'the starting tier when the deadline is generous',
      { deadlineSeconds: 3600 },
      { gpu: { freeSlots: 2, queueDepth: 0 } },
      'high',
      /fits the high-tier estimate/,
    ],
    [
      'a lower tier when recent durations say the GPU stages are slow',
      { deadlineSeconds: 600 },
      { breakers: { optimize: { state: 'CLOSED', lastDurationMs: 500_000, lastTier: 'medium' } } },
      'low',
      /stepped down to low/,
    ],
  ])('picks %s', (_name, fields, overrides, tier, reason) => {
    // Act
    const plan = decidePlan(request(fields), signals(overrides), NOW);

    // Assess
    expect(PipelinePlan.parse(plan)).toEqual(plan);
    expect(plan.tier).toBe(tier);
    expect(plan.reasons.join('\n')).toMatch(reason);
    expect(plan.stages.detail.config).toEqual(TIERS[tier].detail);
    expect(plan.stages.optimize.config).toEqual(TIERS[tier].optimize);
    expect(plan.stages.template.config).toEqual(TIERS[tier].template);
  });

  it('uses the tier table of docs/architecture.md §7', () => {
    expect(TIERS.high.detail).toEqual({
      numInferenceSteps: 30,
      strength: 1.0,
      guidanceScale: 7.0,
      samPointsPerSide: 64,
    });
    expect(TIERS.medium.detail).toEqual({
      numInferenceSteps: 25,
      strength: 0.9,
      guidanceScale: 6.5,
      samPointsPerSide: 32,
    });
    expect(TIERS.low.detail).toEqual({
      numInferenceSteps: 20,
      strength: 0.85,
      guidanceScale: 6.0,
      samPointsPerSide: 24,
    });
    expect(TIERS.high.optimize).toEqual({
      iterations: 1000,
      learningRate: 0.01,
      optForSize: false,
      optForQuality: true,
      resolution: 512,
      sizeBudget: 3,
      addPaths: 8,
    });
    expect(TIERS.medium.optimize).toEqual({
      iterations: 700,
      learningRate: 0.008,
      optForSize: true,
      optForQuality: true,
      sizeBudget: 1.5,
    });
    expect(TIERS.low.optimize).toEqual({
      iterations: 500,
      learningRate: 0.005,
      optForSize: true,
      optForQuality: false,
    });
    expect([TIERS.high, TIERS.medium, TIERS.low].map((tier) => tier.template.useLargerModel)).toEqual([
      true,
      false,
      false,
    ]);
  });

  it.each<[string, Record<string, unknown>, Signals['defaultLlm'], string]>([
    ['no provider anywhere', {}, undefined, 'offline'],
    ['the request asks for offline', { llm: 'offline' }, 'bedrock', 'offline'],
    ['the deployment default is offline', {}, 'offline', 'offline'],
  ])('skips the LLM template when %s', (_name, fields, defaultLlm, provider) => {
    const plan = decidePlan(request(fields), signals({ defaultLlm }), NOW);

    expect(plan.stages.template).toMatchObject({ run: false, reason: NO_LLM_REASON, provider });
  });

  it('lets the request’s provider override the deployment default', () => {
    const plan = decidePlan(request({ llm: 'anthropic' }), signals({ defaultLlm: 'offline' }), NOW);

    expect(plan.stages.template).toMatchObject({ run: true, provider: 'anthropic' });
  });

  it.each(['high', 'low'] as const)(
    'does not run a stage this machine cannot run, even at tier %s',
    (tier) => {
      const plan = decidePlan(request({ tier }), signals({ containerStages: ['optimize'] }), NOW);

      expect(plan.stages.detail.run).toBe(false);
      expect(plan.stages.detail.reason).toMatch(/cannot run here/);
      expect(plan.stages.optimize.run).toBe(true);
      expect(plan.stages.optimize.reason).toMatch(/size only/);
      expect(plan.reasons).toContain(`detail: skip (${plan.stages.detail.reason})`);
    },
  );

  it('skips a stage whose models are not published, with the store’s reason', () => {
    const reason = 'detail skipped: its models are not published (no s3://store/models/detail/manifest.json)';
    const plan = decidePlan(request(), signals({ models: { detail: { published: false, reason } } }), NOW);

    expect(plan.stages.detail).toMatchObject({ run: false, reason });
    expect(plan.stages.optimize.run).toBe(true);
    expect(plan.reasons).toContain(`detail: skip (${reason})`);
  });

  it('runs a stage whose models are published', () => {
    const plan = decidePlan(request(), signals({ models: { detail: { published: true } } }), NOW);

    expect(plan.stages.detail.run).toBe(true);
  });

  it('still runs a stage whose breaker is open, and says the gate decides', () => {
    const breakers: Signals['breakers'] = {
      detail: { state: 'OPEN', openUntil: '2026-11-27T02:00:30.000Z' },
    };

    const plan = decidePlan(request(), signals({ breakers }), NOW);

    expect(plan.stages.detail.run).toBe(true);
    expect(plan.reasons).toContain(
      'detail breaker OPEN until 2026-11-27T02:00:30.000Z; its gate decides at run time',
    );
  });

  it('does not change the request or the signals it is given', () => {
    const given = signals({ gpu: { freeSlots: 1, queueDepth: 0 } });
    const copy = structuredClone(given);

    decidePlan(request(), given, NOW);

    expect(given).toEqual(copy);
  });
});

describe('decidePlan under measured GPU load', () => {
  const service = {
    detail: {
      high: { p50Seconds: 36, p95Seconds: 40, count: 9 },
      medium: { p50Seconds: 30, p95Seconds: 33, count: 9 },
    },
    optimize: {
      low: { p50Seconds: 21, p95Seconds: 25, count: 9 },
      medium: { p50Seconds: 30, p95Seconds: 35, count: 9 },
    },
  };
  const stageLoad = (backlogSeconds: number) => ({
    queued: 0,
    running: 1,
    workers: 2,
    backlogSeconds,
    updatedAt: NOW.toISOString(),
  });

  it('picks high for auto when the GPUs are idle and the deadline is loose', () => {
    const load = { stages: { detail: stageLoad(0), optimize: stageLoad(0) }, service };

    const plan = decidePlan(request({ deadlineSeconds: 600 }), signals({ load }), NOW);

    expect(plan.tier).toBe('high');
    expect(plan.reasons.join('\n')).toMatch(
      /GPU load \(detail 1\/2 busy, 0 s queued.*high finishes in about \d+ s within the 600 s deadline/,
    );
  });

  it('steps auto down as the committed GPU work grows, upgrading only within half the deadline', () => {
    const load = { stages: { detail: stageLoad(90), optimize: stageLoad(90) }, service };

    expect(decidePlan(request({ deadlineSeconds: 240 }), signals({ load }), NOW).tier).toBe('medium');
    expect(decidePlan(request({ deadlineSeconds: 200 }), signals({ load }), NOW).tier).toBe('low');
  });

  it('uses the default deadline when the request names none', () => {
    const load = { stages: { detail: stageLoad(90), optimize: stageLoad(90) }, service };

    expect(decidePlan(request(), signals({ load, defaultDeadlineSeconds: 100 }), NOW).tier).toBe('low');
  });

  it('takes the tier the front door allocated, and never changes an explicit tier', () => {
    const load = {
      stages: {},
      service: {},
      allocation: { tier: 'low' as const, reason: 'allocated low at admission' },
    };

    const auto = decidePlan(request(), signals({ load }), NOW);
    const explicit = decidePlan(request({ tier: 'high' }), signals({ load }), NOW);

    expect(auto.tier).toBe('low');
    expect(auto.reasons[0]).toBe('auto: allocated low at admission');
    expect(explicit.tier).toBe('high');
  });
});
