import { readFileSync } from 'node:fs';
import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
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
    BREAKER_FAILURE_THRESHOLD: '3',
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
  it('reports a success with its duration and metrics and writes no breaker state', async () => {
    const report = await logic(structuredClone(success));

    expect(report).toEqual({
      name: 'detail',
      status: 'ran',
      reason: 'ran',
      durationMs: 41500,
      metrics: { paths: 14, seconds: 41.5 },
    });
    const stored = await breaker();
    expect(stored).toMatchObject({ state: 'CLOSED', failures: 0, lastDurationMs: 41500, lastTier: 'medium' });
    expect(stored?.updatedAt).toBeUndefined();
    expect(stored?.version).toBeUndefined();
  });

  it('refreshes the recorded duration at most once per refresh period', async () => {
    await logic(structuredClone(success));
    const faster = structuredClone(success);
    faster.current.durationMs = 1000;

    await logic(faster);

    expect((await breaker())?.lastDurationMs).toBe(41500);
  });

  it('reports a failure as degraded with "<Error>: <Cause>" and counts it', async () => {
    const report = await logic(structuredClone(failure));

    expect(report).toEqual({
      name: 'detail',
      status: 'degraded',
      reason: 'Stage.OutOfMemory: CUDA out of memory. Tried to allocate 2.00 GiB',
      durationMs: 0,
    });
    expect(await breaker()).toMatchObject({ state: 'CLOSED', failures: 1, version: 1 });
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

  it('opens the breaker after the third failure within the window', async () => {
    for (const id of ['a', 'b', 'c']) await logic(failureFrom(id));

    const stored = await breaker();
    expect(stored).toMatchObject({ state: 'OPEN', failures: 3, version: 3 });
    expect(stored?.openUntil).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(stored?.openUntil ?? '') - Date.parse(stored?.updatedAt ?? '')).toBe(30_000);
  });

  it('loses no update when failures arrive concurrently', async () => {
    await Promise.all(['a', 'b'].map((id) => logic(failureFrom(id))));

    expect(await breaker()).toMatchObject({ state: 'CLOSED', failures: 2, version: 2 });
  });

  it('loses no update among many concurrent failures, and opens exactly once', async () => {
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => logic(failureFrom(id))));

    expect(await breaker()).toMatchObject({ state: 'OPEN', failures: 3, version: 3 });
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
            failures: { N: '3' },
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
      expect(stored).toMatchObject({ state: 'CLOSED', failures: 0, version: 4, lastDurationMs: 41500 });
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
