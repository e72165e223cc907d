import { readFileSync } from 'node:fs';
import { DeleteItemCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getBreaker } from '#breaker/store';
import { invocationContext } from '#commons/lambda';
import { configFromEnv, makeHandler } from '#functions/record-outcome';
import { type Storage, startStorage, TABLES } from './support/storage.ts';

const failure = JSON.parse(
  readFileSync(new URL('../events/stepfunctions/record-failure.json', import.meta.url), 'utf8'),
);
const success = JSON.parse(
  readFileSync(new URL('../events/stepfunctions/record-success.json', import.meta.url), 'utf8'),
);

let storage: Storage;
let handler: ReturnType<typeof makeHandler>;
const logic = (event: unknown) => handler(event, invocationContext());

beforeAll(async () => {
  storage = await startStorage();
  const config = configFromEnv({
    BREAKERS_TABLE: TABLES.breakers,
    BREAKER_FAILURE_RATE_PERCENT: '50',
    BREAKER_MINIMUM_CALLS: '3',
    BREAKER_WINDOW_SECONDS: '60',
    BREAKER_OPEN_SECONDS: '30',
  });
  handler = makeHandler(config, storage.deps);
});
afterAll(async () => {
  await storage?.stop();
});
beforeEach(async () => {
  await storage.emulators.dynamodb.send(
    new DeleteItemCommand({ TableName: TABLES.breakers, Key: { stage: { S: 'detail' } } }),
  );
});

const breaker = () => getBreaker(storage.emulators.dynamodb, TABLES.breakers, 'detail');
const failureFrom = (executionId: string) => ({ ...structuredClone(failure), executionId });

describe('record-outcome', () => {
  it('reports a success with its duration and metrics and counts it, without a transition', async () => {
    const report = await logic(structuredClone(success));

    expect(report).toEqual({
      name: 'detail',
      status: 'ran',
      reason: 'ran',
      durationMs: 41500,
      metrics: { paths: 14, seconds: 41.5 },
    });
    const stored = await breaker();
    expect(stored).toMatchObject({ state: 'CLOSED', lastDurationMs: 41500, lastTier: 'medium' });
    expect(stored?.window).toEqual([expect.objectContaining({ calls: 1, failures: 0 })]);
    expect(stored?.updatedAt).toBeUndefined();
    expect(stored?.version).toBeUndefined();
  });

  it('reports a failure as degraded with "<Error>: <Cause>" and counts it', async () => {
    const report = await logic(structuredClone(failure));

    expect(report).toEqual({
      name: 'detail',
      status: 'degraded',
      reason: 'Stage.OutOfMemory: CUDA out of memory. Tried to allocate 2.00 GiB',
      durationMs: 0,
    });
    const stored = await breaker();
    expect(stored).toMatchObject({ state: 'CLOSED' });
    expect(stored?.window.reduce((sum, bucket) => sum + bucket.failures, 0)).toBe(1);
  });

  it('reports a request error as such and does not count it', async () => {
    const event = failureFrom('exec-r');
    event.error = { Error: 'Template.NotConfigured', Cause: 'the plan names no LLM provider' };

    for (let i = 0; i < 3; i++) {
      const report = await logic(structuredClone(event));
      expect(report.reason).toBe(
        'request error (not counted by the breaker): Template.NotConfigured: the plan names no LLM provider',
      );
    }

    expect(await breaker()).toBeUndefined();
  });

  it('reads a Lambda error Cause for its message and shortens long causes', async () => {
    const event = structuredClone(failure);
    event.error = {
      Error: 'Template.Failed',
      Cause: JSON.stringify({
        errorType: 'Template.Failed',
        errorMessage: `bad ${'x'.repeat(500)}`,
        trace: ['at a'],
      }),
    };

    const report = await logic(event);

    expect(report.reason.startsWith('Template.Failed: bad xxx')).toBe(true);
    expect(report.reason.length).toBeLessThanOrEqual(240);
  });

  it('opens the breaker at the minimum number of calls when the failure rate is reached', async () => {
    for (const id of ['a', 'b']) await logic(failureFrom(id));
    expect(await breaker()).toMatchObject({ state: 'CLOSED' });
    await logic(failureFrom('c'));

    const stored = await breaker();
    expect(stored).toMatchObject({ state: 'OPEN', window: [], version: 1 });
    expect(stored?.openUntil).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(stored?.openUntil ?? '') - Date.parse(stored?.updatedAt ?? '')).toBe(30_000);
  });

  it('loses no count when outcomes arrive concurrently', async () => {
    await Promise.all(['a', 'b'].map((id) => logic(failureFrom(id))));

    const stored = await breaker();
    expect(stored).toMatchObject({ state: 'CLOSED' });
    expect(stored?.window.reduce((sum, bucket) => sum + bucket.failures, 0)).toBe(2);
  });

  it('opens exactly once among many concurrent failures', async () => {
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => logic(failureFrom(id))));

    expect(await breaker()).toMatchObject({ state: 'OPEN', version: 1 });
  });

  describe('with a half-open probe held by this execution', () => {
    const holdProbe = async (owner: string) => {
      // What the gate's TakeProbe updateItem leaves behind (it bumps no version).
      await storage.emulators.dynamodb.send(
        new PutItemCommand({
          TableName: TABLES.breakers,
          Item: {
            stage: { S: 'detail' },
            state: { S: 'HALF_OPEN' },
            version: { N: '3' },
            openUntil: { S: '2026-11-27T02:00:30.000Z' },
            probeOwner: { S: owner },
            probeExpires: { S: '2099-01-01T00:00:00.000Z' },
            updatedAt: { S: '2026-11-27T02:00:31.000Z' },
          },
        }),
      );
    };

    it('closes the breaker when the probe succeeds', async () => {
      await holdProbe(success.executionId);

      const report = await logic(structuredClone(success));

      expect(report.reason).toBe('ran as the half-open probe; breaker closed');
      const stored = await breaker();
      expect(stored).toMatchObject({ state: 'CLOSED', window: [], version: 4, lastDurationMs: 41500 });
      expect(stored?.probeOwner).toBeUndefined();
      expect(stored?.openUntil).toBeUndefined();
    });

    it('reopens the breaker when the probe fails', async () => {
      await holdProbe(failure.executionId);

      await logic(structuredClone(failure));

      const stored = await breaker();
      expect(stored).toMatchObject({ state: 'OPEN', version: 4 });
      expect(Date.parse(stored?.openUntil ?? '')).toBeGreaterThan(Date.now());
      expect(stored?.probeOwner).toBeUndefined();
    });

    it('leaves the probe alone when another execution reports', async () => {
      await holdProbe('exec-the-probe');

      await logic(failureFrom('exec-late'));

      expect(await breaker()).toMatchObject({ state: 'HALF_OPEN', probeOwner: 'exec-the-probe', version: 3 });
    });
  });

  it.each([
    ['an unknown stage', { stage: 'render' }],
    ['an unknown outcome', { outcome: 'maybe' }],
    ['no execution id', { executionId: '' }],
  ])('rejects %s with Input.Invalid', async (_name, change) => {
    await expect(logic({ ...structuredClone(failure), ...change })).rejects.toMatchObject({
      name: 'Input.Invalid',
    });
  });
});

describe('record-outcome with the signals table', () => {
  let withSignals: ReturnType<typeof makeHandler>;
  const record = (event: unknown) => withSignals(event, invocationContext());
  const service = async (name: string) =>
    (
      await storage.emulators.dynamodb.send(
        new GetItemCommand({ TableName: TABLES.signals, Key: { name: { S: name } }, ConsistentRead: true }),
      )
    ).Item;

  beforeAll(() => {
    withSignals = makeHandler(
      configFromEnv({
        BREAKERS_TABLE: TABLES.breakers,
        SIGNALS_TABLE: TABLES.signals,
        BREAKER_FAILURE_RATE_PERCENT: '50',
        BREAKER_MINIMUM_CALLS: '3',
        BREAKER_WINDOW_SECONDS: '60',
        BREAKER_OPEN_SECONDS: '30',
      }),
      storage.deps,
    );
  });

  it('rolls a GPU stage’s duration into the window of its tier', async () => {
    await record({ ...structuredClone(success), executionId: 'exec-s1' });
    await record({ ...structuredClone(success), executionId: 'exec-s2', current: { durationMs: 20500 } });

    const item = await service('service#detail#medium');
    expect(item?.samples?.L?.map((value) => Number(value.N))).toEqual([41.5, 20.5]);
    expect(item?.p50Seconds?.N).toBe('41.5');
  });

  it('keeps no duration of a failure or of the template stage', async () => {
    await record({ ...structuredClone(failure), stage: 'optimize', tier: 'low' });
    await record({ ...structuredClone(success), stage: 'template', tier: 'low', executionId: 'exec-t' });

    expect(await service('service#optimize#low')).toBeUndefined();
    expect(await service('service#template#low')).toBeUndefined();
  });
});
