import { readFileSync } from 'node:fs';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { invocationContext } from '#commons/lambda';
import { encodeInline, putPayload, readPayload } from '#commons/payload';
import { BUDGETS, PayloadRef } from '#contracts/schemas';
import { configFromEnv, makeHandler } from '#functions/finalize-result/handler';
import { GenerationResult } from '#functions/finalize-result/result';
import { BUCKET, type Storage, startStorage, TABLES } from './support/storage.ts';

const fixture = JSON.parse(
  readFileSync(new URL('../events/stepfunctions/finalize-input.json', import.meta.url), 'utf8'),
);

// EventBridge has no local emulator; the mock only records what would be sent.
const events = mockClient(EventBridgeClient);
let storage: Storage;
let handler: ReturnType<typeof makeHandler>;
const logic = (event: unknown) => handler(event, invocationContext());

beforeAll(async () => {
  storage = await startStorage();
  const config = configFromEnv({
    CACHE_TABLE: TABLES.cache,
    PAYLOAD_BUCKET: BUCKET,
    EVENT_BUS_NAME: 'test-bus',
    CACHE_TTL_SECONDS: '3600',
    DEGRADED_CACHE_TTL_SECONDS: '60',
  });
  handler = makeHandler(config, storage.deps);
});
afterAll(async () => {
  await storage?.stop();
});
beforeEach(() => {
  events.reset();
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
});

const cacheKeyFor = (requestId: string) => requestId.padEnd(64, '0').slice(0, 64);

async function cacheItem(cacheKey: string) {
  const { Item } = await storage.emulators.dynamodb.send(
    new GetItemCommand({ TableName: TABLES.cache, Key: { cacheKey: { S: cacheKey } } }),
  );
  return Item;
}

function withRequestId(requestId: string) {
  const event = structuredClone(fixture);
  event.requestId = requestId;
  event.cacheKey = cacheKeyFor(requestId);
  return event;
}

/** A large SVG of random coordinates: compresses too poorly to fit a budget by gzip alone. */
function bigSvg(paths: number, segments = 50): string {
  let seed = 12345;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return (seed / 2147483648) * 512;
  };
  const body = Array.from({ length: paths }, (_, i) => {
    const d = Array.from(
      { length: segments },
      (_, j) => `${j ? 'L' : 'M'} ${next().toFixed(2)} ${next().toFixed(2)}`,
    ).join(' ');
    return `<path id="path_${i}" d="${d} Z" fill="#${Math.floor(next() * 32768)
      .toString(16)
      .padStart(6, '0')}"/>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">${body}</svg>`;
}

describe('finalize-result', () => {
  it('returns a sanitized, minified result with the stage reports in pipeline order', async () => {
    const out = await logic(withRequestId('fin-1'));

    expect(out.cache).toBe('miss');
    expect(out.requestId).toBe('fin-1');
    const result = GenerationResult.parse(out.result);
    expect(result.stages.map((stage) => [stage.name, stage.status])).toEqual([
      ['template', 'skipped'],
      ['detail', 'ran'],
      ['optimize', 'ran'],
    ]);
    expect(result.stages[0].objects).toEqual(['fox', 'tree']);
    expect(result).toMatchObject({ tier: 'medium', degraded: false, objectsWritten: 0 });
    const svg = (await readPayload(result.svg)).toString('utf8');
    expect(svg).not.toMatch(/script|onclick|alert|<!--|<\?xml/);
    expect(svg).toMatch(/viewBox="0 0 512 512"/);
    expect(svg.match(/id="path_\d"/g)).toEqual(['id="path_0"', 'id="path_1"', 'id="path_2"']);
    expect(result.output).toEqual({ bytes: Buffer.byteLength(svg), elements: 5 });
    expect(result.output.bytes).toBeLessThan(fixture.current.svg.bytes);
  });

  it('falls back to the template and marks the stage degraded when the best SVG does not sanitize', async () => {
    const event = withRequestId('fin-fallback');
    event.fallback = structuredClone(event.current.svg);
    event.current.svg = encodeInline('<svg><path d="M0 0 L1 1"', 'image/svg+xml', BUDGETS.stageOutput);

    const out = await logic(event);

    const result = GenerationResult.parse(out.result);
    expect(result.degraded).toBe(true);
    expect(result.stages.find((stage) => stage.name === 'optimize')).toMatchObject({
      status: 'degraded',
      reason: expect.stringMatching(/sanitizer.*template used/),
    });
    const svg = (await readPayload(result.svg)).toString('utf8');
    expect(svg).toMatch(/id="path_0"/);
  });

  it('fails with Svg.Invalid when the best SVG does not sanitize and there is no fallback', async () => {
    const event = withRequestId('fin-nofallback');
    event.current.svg = encodeInline('<svg><path d="M0 0 L1 1"', 'image/svg+xml', BUDGETS.stageOutput);

    await expect(logic(event)).rejects.toMatchObject({ name: 'Svg.Invalid' });
  });

  it('keeps the cache key out of the result, so the API output and events cannot confirm a guessed prompt', async () => {
    const out = await logic(withRequestId('fin-nokey'));

    expect(out.result).not.toHaveProperty('cacheKey');
    expect(JSON.stringify(out)).not.toContain(cacheKeyFor('fin-nokey'));
    expect(await cacheItem(cacheKeyFor('fin-nokey'))).toBeDefined();
  });

  it('writes the cache item that ReturnCached reads', async () => {
    const before = Math.floor(Date.now() / 1000);

    const out = await logic(withRequestId('fin-2'));

    const item = await cacheItem(cacheKeyFor(out.requestId));
    expect(JSON.parse(item?.result.S ?? '')).toEqual(out.result);
    expect(item?.tier.S).toBe('medium');
    const expiresAt = Number(item?.expiresAt.N);
    expect(expiresAt - before).toBeGreaterThanOrEqual(3599);
    expect(expiresAt - before).toBeLessThanOrEqual(3601);
    expect(item?.expiresAtIso.S).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Math.floor(Date.parse(item?.expiresAtIso.S ?? '') / 1000)).toBe(expiresAt);
  });

  it('caches a degraded result only briefly and says it degraded', async () => {
    const event = withRequestId('fin-3');
    event.reports.detail = { name: 'detail', status: 'degraded', reason: 'breaker open', durationMs: 0 };
    const before = Math.floor(Date.now() / 1000);

    const out = await logic(event);

    expect(out.result.degraded).toBe(true);
    expect(Number((await cacheItem(cacheKeyFor(out.requestId)))?.expiresAt.N) - before).toBeLessThanOrEqual(
      61,
    );
  });

  it('emits one completion event on the configured bus', async () => {
    const out = await logic(withRequestId('fin-4'));

    const calls = events.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(1);
    const [entry] = calls[0].args[0].input.Entries ?? [];
    expect(entry).toMatchObject({
      EventBusName: 'test-bus',
      Source: 'chat2svg',
      DetailType: 'Generation Completed',
    });
    expect(JSON.parse(entry.Detail ?? '')).toEqual({ requestId: 'fin-4', result: out.result });
  });

  it.each([
    ['the call fails', () => events.on(PutEventsCommand).rejects(new Error('throttled'))],
    [
      'the entry is refused',
      () =>
        events
          .on(PutEventsCommand)
          .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] }),
    ],
  ])('still returns and caches the result when %s', async (name, arrange) => {
    arrange();

    const out = await logic(withRequestId(`fin-5-${name.length}`));

    expect(await cacheItem(cacheKeyFor(out.requestId))).toBeDefined();
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(1);
  });

  it('reads an S3 input, stores a result over the state budget in S3, and counts the run’s objects', async () => {
    const { s3 } = storage.emulators;
    const svg = bigSvg(360);
    const event = withRequestId('fin-6');
    event.current.svg = await putPayload(svg, 'image/svg+xml', 1024, {
      s3,
      bucket: BUCKET,
      requestId: 'fin-6',
      stage: 'optimize',
      name: 'output.svg',
    });

    const out = await logic(event);

    const ref = PayloadRef.parse(out.result.svg);
    expect('s3' in ref && ref.s3.key).toBe('runs/fin-6/finalize/result.svg');
    expect(out.result.objectsWritten).toBe(2);
    expect(out.result.output.elements).toBe(361);
    expect(out.result.output.bytes).toBeGreaterThan(BUDGETS.stageOutput);
    const item = await cacheItem(cacheKeyFor(out.requestId));
    expect(JSON.parse(item?.result.S ?? '').svg).toEqual(ref);
    expect(Object.keys(item ?? {}).sort()).toEqual(
      ['cacheKey', 'createdAt', 'degraded', 'expiresAt', 'expiresAtIso', 'result', 'tier'].sort(),
    );
  });

  it('keeps the cache item within DynamoDB’s limit by leaving a large SVG in S3 only', async () => {
    const event = withRequestId('fin-7');
    event.current.svg = await putPayload(bigSvg(1000), 'image/svg+xml', 1024, {
      s3: storage.emulators.s3,
      bucket: BUCKET,
      requestId: 'fin-7',
      stage: 'optimize',
      name: 'output.svg',
    });

    const out = await logic(event);

    const item = await cacheItem(cacheKeyFor(out.requestId));
    expect(JSON.parse(item?.result.S ?? '').svg.s3.key).toBe('runs/fin-7/finalize/result.svg');
  });

  it('fails with Svg.Invalid when the SVG so far does not parse', async () => {
    const event = withRequestId('fin-8');
    event.current.svg = encodeInline('<svg><path></svg>', 'image/svg+xml', 1024);

    await expect(logic(event)).rejects.toMatchObject({ name: 'Svg.Invalid' });
  });

  it('rejects state data without a plan', async () => {
    const event = withRequestId('fin-9');
    delete event.plan;

    await expect(logic(event)).rejects.toMatchObject({
      name: 'Input.Invalid',
      message: expect.stringMatching(/plan/),
    });
  });
});
