import { readFileSync } from 'node:fs';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTools, invocationContext } from '#commons/lambda';
import { PipelinePlan } from '#contracts/schemas';
import { configFromEnv, makeHandler } from '#functions/assess-resources/handler';
import { type Storage, startStorage, TABLES } from './support/storage.ts';

const fixture = JSON.parse(
  readFileSync(new URL('../events/stepfunctions/assess-input.json', import.meta.url), 'utf8'),
);

let storage: Storage;
let config: ReturnType<typeof configFromEnv>;
let handler: ReturnType<typeof makeHandler>;
const logic = (event: unknown) => handler(event, invocationContext());

beforeAll(async () => {
  storage = await startStorage();
  config = configFromEnv({
    BREAKERS_TABLE: TABLES.breakers,
    STAGE_CAPABILITIES: 'detail, optimize',
    CHAT2SVG_LLM: 'bedrock',
    GPU_FREE_SLOTS: '2',
    GPU_QUEUE_DEPTH: '0',
    STAGE_TIMEOUTS_SECONDS: 'template=60,detail=600',
  });
  handler = makeHandler(config, storage.deps);
  await storage.emulators.dynamodb.send(
    new PutItemCommand({
      TableName: TABLES.breakers,
      Item: {
        stage: { S: 'detail' },
        state: { S: 'OPEN' },
        failures: { N: '3' },
        openUntil: { S: '2026-11-27T02:00:30.000Z' },
        updatedAt: { S: '2026-11-27T02:00:00.000Z' },
      },
    }),
  );
});
afterAll(async () => {
  await storage?.stop();
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('assess-resources', () => {
  it('publishes the tier it chose and a cache miss as EMF metrics', async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false'); // the test run turns metrics off otherwise
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => lines.push(line));
    const withMetrics = makeHandler(config, { ...storage.deps, tools: createTools('assess-resources') });

    const plan = await withMetrics(structuredClone(fixture), invocationContext());

    const emf = lines.map((line) => JSON.parse(line)).filter((entry) => entry._aws);
    expect(emf).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ tier: plan.tier, TierChosen: 1 }),
        expect.objectContaining({ CacheMiss: 1 }),
      ]),
    );
    expect(emf[0]._aws.CloudWatchMetrics[0].Namespace).toBe('chat2svg');
  });

  it('plans from the environment and the breakers table at the execution’s clock', async () => {
    const plan = await logic(structuredClone(fixture));

    expect(PipelinePlan.parse(plan)).toEqual(plan);
    expect(plan.tier).toBe('high');
    expect(plan.stages.template).toMatchObject({
      run: true,
      provider: 'bedrock',
      probeLeaseUntil: '2026-11-27T02:01:00.000Z',
    });
    expect(plan.stages.detail).toMatchObject({ run: true, probeLeaseUntil: '2026-11-27T02:11:00.000Z' });
    expect(plan.stages.optimize).toMatchObject({ run: true, probeLeaseUntil: '2026-11-27T02:21:00.000Z' });
    expect(plan.reasons).toContain(
      'detail breaker OPEN until 2026-11-27T02:00:30.000Z; its gate decides at run time',
    );
  });

  it('lets the request choose the provider and tier', async () => {
    const event = structuredClone(fixture);
    event.request.llm = 'offline';
    event.request.tier = 'low';

    const plan = await logic(event);

    expect(plan.tier).toBe('low');
    expect(plan.stages.template).toMatchObject({
      run: false,
      reason: 'no LLM provider configured; offline composer',
    });
  });

  it('also reads the time from the whole state data’s clock', async () => {
    const { now, ...rest } = structuredClone(fixture);
    const event = { ...rest, clock: { now: '2026-11-27T03:00:00.000Z' }, cacheKey: 'k', cached: {} };

    const plan = await logic(event);

    expect(plan.stages.template.probeLeaseUntil).toBe('2026-11-27T03:01:00.000Z');
  });

  it('rejects state data without a request', async () => {
    await expect(logic({ requestId: 'x' })).rejects.toMatchObject({ name: 'Input.Invalid' });
  });
});
