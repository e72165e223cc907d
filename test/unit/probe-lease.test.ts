// take-probe and execution-ended against dynalite: the lease lasts the stage's own timeout, one
// execution wins it, and an execution that ends abnormally gives it back.
import { readFileSync } from 'node:fs';
import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getBreaker } from '#breaker/store';
import { invocationContext } from '#commons/lambda';
import { GenerationFailedEvent } from '#contracts/events';
import * as ExecutionEnded from '#functions/execution-ended';
import * as TakeProbe from '#functions/take-probe';
import { type Storage, startStorage, TABLES } from './support/storage.ts';

let storage: Storage;
let takeProbeHandler: ReturnType<typeof TakeProbe.makeHandler>;
let executionEndedHandler: ReturnType<typeof ExecutionEnded.makeHandler>;
const takeProbe = (event: unknown) => takeProbeHandler(event, invocationContext());
const executionEnded = (event: unknown) => executionEndedHandler(event, invocationContext());

beforeAll(async () => {
  storage = await startStorage();
  const env = { BREAKERS_TABLE: TABLES.breakers };
  takeProbeHandler = TakeProbe.makeHandler(
    TakeProbe.configFromEnv({
      ...env,
      TEMPLATE_TIMEOUT_SECONDS: '120',
      DETAIL_TIMEOUT_SECONDS: '900',
      OPTIMIZE_TIMEOUT_SECONDS: '600',
    }),
    storage.deps,
  );
  executionEndedHandler = ExecutionEnded.makeHandler(ExecutionEnded.configFromEnv(env), storage.deps);
});
afterAll(async () => {
  await storage?.stop();
});

const openSince = async (openUntil: string) => {
  await storage.emulators.dynamodb.send(
    new PutItemCommand({
      TableName: TABLES.breakers,
      Item: {
        stage: { S: 'optimize' },
        state: { S: 'OPEN' },
        version: { N: '1' },
        openUntil: { S: openUntil },
        updatedAt: { S: '2026-01-01T00:00:00.000Z' },
      },
    }),
  );
};
beforeEach(async () => {
  await storage.emulators.dynamodb.send(
    new DeleteItemCommand({ TableName: TABLES.breakers, Key: { stage: { S: 'optimize' } } }),
  );
});
const breaker = () => getBreaker(storage.emulators.dynamodb, TABLES.breakers, 'optimize');
const statusChange = JSON.parse(
  readFileSync(new URL('../events/eventbridge/execution-aborted.json', import.meta.url), 'utf8'),
);

describe('take-probe', () => {
  it('leases the probe for the stage’s own timeout once the cooldown is over', async () => {
    await openSince('2026-01-01T00:00:30.000Z');
    const before = Date.now();

    const { leaseUntil } = await takeProbe({ stage: 'optimize', executionId: 'exec-1' });

    const lease = Date.parse(leaseUntil) - before;
    expect(lease).toBeGreaterThanOrEqual(600_000);
    expect(lease).toBeLessThan(605_000);
    expect(await breaker()).toMatchObject({
      state: 'HALF_OPEN',
      probeOwner: 'exec-1',
      probeExpires: leaseUntil,
    });
  });

  it('lets one execution win and tells the others Breaker.ProbeTaken', async () => {
    await openSince('2026-01-01T00:00:30.000Z');

    const results = await Promise.allSettled(
      ['a', 'b', 'c'].map((id) => takeProbe({ stage: 'optimize', executionId: id })),
    );

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((r) => r.status === 'rejected'))
      expect((r as PromiseRejectedResult).reason).toMatchObject({ name: 'Breaker.ProbeTaken' });
  });

  it('refuses while the cooldown runs', async () => {
    await openSince('2099-01-01T00:00:00.000Z');

    await expect(takeProbe({ stage: 'optimize', executionId: 'x' })).rejects.toMatchObject({
      name: 'Breaker.ProbeTaken',
    });
  });
});

describe('execution-ended', () => {
  it('gives back the lease of an aborted execution, so the next one probes at once', async () => {
    await openSince('2026-01-01T00:00:30.000Z');
    await takeProbe({ stage: 'optimize', executionId: statusChange.detail.executionArn });

    const event = await executionEnded(structuredClone(statusChange));

    expect(GenerationFailedEvent.parse(event)).toMatchObject({
      outcome: 'failed',
      status: 'ABORTED',
      releasedProbes: ['optimize'],
    });
    const stored = await breaker();
    expect(stored).toMatchObject({ state: 'HALF_OPEN' });
    expect(stored?.probeOwner).toBeUndefined();
    await expect(takeProbe({ stage: 'optimize', executionId: 'next' })).resolves.toBeDefined();
  });

  it('leaves a lease another execution holds', async () => {
    await openSince('2026-01-01T00:00:30.000Z');
    await takeProbe({ stage: 'optimize', executionId: 'someone-else' });

    const event = await executionEnded(structuredClone(statusChange));

    expect(event.releasedProbes).toEqual([]);
    expect(await breaker()).toMatchObject({ probeOwner: 'someone-else' });
  });
});
