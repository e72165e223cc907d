// The signal store's rolling service windows, on dynalite: p50/p95 over the last samples, and
// concurrent writers (record-outcome in many executions at once) that lose no sample.
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  readLoadSignals,
  recordServiceSample,
  rollWindow,
  serviceSignal,
  writeService,
} from '#functions/assess-resources/load-store';
import { deleteSignals, TABLES, useStorage } from './support/storage.ts';

const storage = useStorage();
beforeEach(async () => {
  await deleteSignals(storage, ['service#detail#medium', 'service#optimize#low']);
});

const stored = async (name: string) =>
  (
    await storage.emulators.dynamodb.send(
      new GetItemCommand({ TableName: TABLES.signals, Key: { name: { S: name } }, ConsistentRead: true }),
    )
  ).Item;
const samplesOf = (item: Awaited<ReturnType<typeof stored>>) =>
  (item?.samples?.L ?? []).map((v) => Number(v.N));

describe('the rolling window', () => {
  it('keeps the last samples and drops the oldest past its size', () => {
    let window: number[] = [];
    for (let i = 1; i <= 7; i++) window = rollWindow(window, i, 5);

    expect(window).toEqual([3, 4, 5, 6, 7]);
  });

  it('takes p50 from the middle and p95 from the top of the window', () => {
    const samples = Array.from({ length: 20 }, (_, i) => 20 - i);

    expect(serviceSignal(samples)).toEqual({ p50Seconds: 11, p95Seconds: 20, count: 20 });
    expect(serviceSignal([])).toEqual({ p50Seconds: 0, p95Seconds: 0, count: 0 });
  });
});

describe('recordServiceSample', () => {
  it('stores the samples with p50, p95 and count, which the assessment reads back', async () => {
    for (const seconds of [30, 40, 50, 60]) {
      await recordServiceSample(storage.emulators.dynamodb, TABLES.signals, 'detail', 'medium', seconds);
    }

    const item = await stored('service#detail#medium');
    expect(samplesOf(item)).toEqual([30, 40, 50, 60]);
    expect(item?.version?.N).toBe('4');
    const signals = await readLoadSignals(storage.emulators.dynamodb, TABLES.signals, undefined, new Date());
    expect(signals.service.detail?.medium).toEqual({ p50Seconds: 50, p95Seconds: 60, count: 4 });
  });

  it('keeps only the last 50 durations', async () => {
    for (let i = 1; i <= 53; i++)
      await recordServiceSample(storage.emulators.dynamodb, TABLES.signals, 'optimize', 'low', i);

    const item = await stored('service#optimize#low');
    expect(samplesOf(item)).toEqual(Array.from({ length: 50 }, (_, i) => i + 4));
    expect(item?.count?.N).toBe('50');
  });

  it('loses no sample when many writers add at once', async () => {
    const durations = Array.from({ length: 20 }, (_, i) => 10 + i);

    const results = await Promise.all(
      durations.map((seconds) =>
        recordServiceSample(storage.emulators.dynamodb, TABLES.signals, 'detail', 'medium', seconds),
      ),
    );

    const item = await stored('service#detail#medium');
    expect(samplesOf(item).sort((a, b) => a - b)).toEqual(durations);
    expect(item?.count?.N).toBe('20');
    expect(item?.version?.N).toBe('20');
    expect(results.some((result) => result.attempts > 1)).toBe(true);
  });

  it('starts a window over an item written without one', async () => {
    await writeService(storage.emulators.dynamodb, TABLES.signals, 'detail', 'medium', {
      p50Seconds: 99,
      p95Seconds: 99,
      count: 1,
    });

    await recordServiceSample(storage.emulators.dynamodb, TABLES.signals, 'detail', 'medium', 42);

    const item = await stored('service#detail#medium');
    expect(samplesOf(item)).toEqual([42]);
    expect(item?.p50Seconds?.N).toBe('42');
  });
});
