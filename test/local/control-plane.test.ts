// Never drop, never poison, on the local runtime: a control-plane fault degrades a stage, not the
// request; a caller's own errors do not open a breaker; every outcome is one event.
import { readFileSync } from 'node:fs';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { DETAIL_TYPES, GenerationFailedEvent, GenerationResultEvent } from '#contracts/events';
import type { LocalRuntime } from '#local/runtime';
import { FAKE_STAGES_DIR, rendersAsSvg, SYNTH_TIMEOUT_MS, startTestRuntime } from '../support/local.ts';

const runtimes: LocalRuntime[] = [];
async function runtime(options: Parameters<typeof startTestRuntime>[0] = {}): Promise<LocalRuntime> {
  const started = await startTestRuntime(options);
  runtimes.push(started);
  return started;
}
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});

const breakersTable = (local: LocalRuntime) =>
  local.definition.tables.find((t) => t.KeySchema[0].AttributeName === 'stage')?.name as string;

async function breakerState(local: LocalRuntime, stage: string): Promise<string | undefined> {
  const item = await local.emulators.dynamodb.send(
    new GetItemCommand({
      TableName: breakersTable(local),
      Key: { stage: { S: stage } },
      ConsistentRead: true,
    }),
  );
  return item.Item?.state?.S;
}

function events(local: LocalRuntime): { DetailType: string; Detail: string }[] {
  try {
    return readFileSync(local.emulators.eventsFile, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  } catch {
    return [];
  }
}

describe('control-plane faults', { timeout: SYNTH_TIMEOUT_MS }, () => {
  it('degrades a stage whose gate cannot read its breaker (DynamoDB throttling), and still ends with an SVG', async () => {
    const local = await runtime({ capabilities: ['optimize'], stagesDir: FAKE_STAGES_DIR });
    local.emulators.faults.rules = [
      { service: 'dynamodb', operation: 'GetItem', resource: breakersTable(local), kind: 'throttle' },
    ];

    const { report, svg, statesEntered } = await local.generate({ prompt: 'a lighthouse at dusk' });

    expect(statesEntered).toContain('optimize.ControlDegraded');
    expect(local.calls.optimize).toBe(0);
    expect(report.stages.find((s) => s.name === 'optimize')).toMatchObject({
      status: 'degraded',
      reason: expect.stringContaining('breaker unavailable (DynamoDB.ThrottlingException)'),
    });
    expect(local.emulators.faults.injected.dynamodb.throttle).toBeGreaterThan(0);
    expect(rendersAsSvg(svg)).toBe(true);
  });

  it('still ends with an SVG when every DynamoDB and S3 call of the run may fail', async () => {
    const local = await runtime({ capabilities: ['optimize'], stagesDir: FAKE_STAGES_DIR });
    local.emulators.faults.rules = [
      { service: 'dynamodb', kind: 'throttle', probability: 0.3 },
      { service: 'dynamodb', kind: 'error', probability: 0.2 },
      { service: 's3', kind: 'error', probability: 0.3 },
    ];

    for (const n of [1, 2, 3]) {
      const { svg } = await local.generate({ prompt: `a paper kite, take ${n}` });
      expect(rendersAsSvg(svg)).toBe(true);
    }
  });
});

describe('request errors and the breaker', { timeout: SYNTH_TIMEOUT_MS }, () => {
  it('leaves the template breaker CLOSED after three Template.NotConfigured requests', async () => {
    // Three counted failures would open it (minimum 3 calls, 50 %): these are not counted.
    const local = await runtime({
      capabilities: [],
      env: { BREAKER_MINIMUM_CALLS: '3', ANTHROPIC_API_KEY: '', ANTHROPIC_API_KEY_SECRET_ARN: '' },
    });

    for (const n of [1, 2, 3]) {
      const { report, svg } = await local.generate({ prompt: `a teapot, take ${n}`, llm: 'anthropic' });
      expect(report.stages.find((s) => s.name === 'template')).toMatchObject({
        status: 'degraded',
        reason: expect.stringMatching(
          /^request error \(not counted by the breaker\): Template\.NotConfigured/,
        ),
      });
      expect(rendersAsSvg(svg)).toBe(true);
    }

    expect(local.calls.template).toBe(3);
    expect(await breakerState(local, 'template')).toBeUndefined();
    const fourth = await local.generate({ prompt: 'a teapot, take 4', llm: 'anthropic' });
    expect(fourth.statesEntered).toContain('template.Run');
  });
});

describe('outcome events', { timeout: SYNTH_TIMEOUT_MS }, () => {
  it('emits one event per outcome: a completion, a cache hit, a failure', async () => {
    const local = await runtime({ capabilities: ['optimize'], stagesDir: FAKE_STAGES_DIR });

    const first = await local.generate({ prompt: 'a blue whale', seed: 3 });
    const afterMiss = events(local);
    const second = await local.generate({ prompt: 'a blue whale', seed: 3 });
    const afterHit = events(local);
    await expect(local.generate({ prompt: '' })).rejects.toMatchObject({ name: 'Request.Invalid' });
    const afterFailure = events(local);

    expect(afterMiss).toHaveLength(1);
    expect(afterMiss[0].DetailType).toBe(
      first.report.degraded ? DETAIL_TYPES.completedDegraded : DETAIL_TYPES.completed,
    );
    expect(second.report.cache).toBe('hit');
    expect(afterHit).toHaveLength(2);
    expect(afterHit[1].DetailType).toBe(DETAIL_TYPES.cacheHit);
    expect(GenerationResultEvent.parse(JSON.parse(afterHit[1].Detail))).toMatchObject({
      outcome: 'cache-hit',
      requestId: second.report.requestId,
    });
    expect(afterFailure).toHaveLength(3);
    expect(afterFailure[2].DetailType).toBe(DETAIL_TYPES.failed);
    expect(GenerationFailedEvent.parse(JSON.parse(afterFailure[2].Detail))).toMatchObject({
      outcome: 'failed',
      status: 'FAILED',
      error: 'Request.Invalid',
      releasedProbes: [],
    });
  });
});
