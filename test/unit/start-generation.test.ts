// The API's front door on dynalite with the real allocator: admission from the load in the signal
// store (429 + Retry-After when the environment rejects), explicit tiers honoured, Idempotency-Key
// retries mapped to one execution. Step Functions has no local emulator of its API, so a stand-in
// with its named-execution rules answers StartExecution and DescribeExecution.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  ExecutionLimitExceeded,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { invocationContext } from '#commons/lambda';
import { GenerationRequest, PIPELINE_VERSION, type Tier } from '#contracts/schemas';
import { writeService, writeStageLoad } from '#functions/assess-resources/load-store';
import {
  makeHandler as makeNormalize,
  configFromEnv as normalizeConfig,
} from '#functions/normalize-request/handler';
import { cacheKeyOf } from '#functions/normalize-request/identity';
import { configFromEnv, makeHandler } from '#functions/start-generation/handler';
import { deleteSignals, TABLES, useStorage } from './support/storage.ts';

const post = JSON.parse(
  readFileSync(new URL('../events/apigateway/post-generation.json', import.meta.url), 'utf8'),
);
const MACHINE = 'arn:aws:states:us-east-1:111122223333:stateMachine:chat2svg-dev-pipeline';
const NOW = new Date('2026-11-29T08:00:00.000Z');
const ALICE = 'arn:aws:iam::111122223333:user/alice';

/** Step Functions' named executions: a name starts once; the same input again returns that run. */
const executions = new Map<string, { input: string; startDate: Date; status: string }>();
/** Stand-in faults: describes that miss a started execution (a race), a start that is refused. */
const faults: { hiddenDescribes: number; nextStart?: Error } = { hiddenDescribes: 0 };
const sfn = new SFNClient({ region: 'us-east-1' });
const sfnStub = mockClient(sfn);
function standInStepFunctions() {
  sfnStub.reset();
  sfnStub.on(StartExecutionCommand).callsFake(({ name, input }) => {
    const refused = faults.nextStart;
    faults.nextStart = undefined;
    if (refused) throw refused;
    const executionArn = `${MACHINE.replace(':stateMachine:', ':execution:')}:${name}`;
    const earlier = executions.get(name);
    if (earlier) {
      if (earlier.input === input && earlier.status === 'RUNNING')
        return { executionArn, startDate: earlier.startDate };
      throw new ExecutionAlreadyExists({
        message: `Execution Already Exists: '${executionArn}'`,
        $metadata: {},
      });
    }
    const startDate = new Date(NOW.getTime() + executions.size * 1000);
    executions.set(name, { input, startDate, status: 'RUNNING' });
    return { executionArn, startDate };
  });
  sfnStub.on(DescribeExecutionCommand).callsFake(({ executionArn }) => {
    const name = String(executionArn).split(':').at(-1) ?? '';
    const execution = executions.get(name);
    const hidden = faults.hiddenDescribes > 0;
    if (hidden) faults.hiddenDescribes -= 1;
    if (!execution || hidden)
      throw new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} });
    return { executionArn, name, ...execution };
  });
}

const storage = useStorage();
beforeEach(async () => {
  executions.clear();
  faults.hiddenDescribes = 0;
  standInStepFunctions();
  await deleteSignals(storage, [
    'load#detail',
    'load#optimize',
    'service#detail#medium',
    'service#optimize#medium',
  ]);
});

function frontDoor(overload: 'reject' | 'low', more: Record<string, string> = {}) {
  const config = configFromEnv({
    STATE_MACHINE_ARN: MACHINE,
    SIGNALS_TABLE: TABLES.signals,
    STAGE_CAPABILITIES: 'detail,optimize',
    DEFAULT_DEADLINE_SECONDS: '900',
    ADMISSION_OVERLOAD: overload,
    ...more,
  });
  const handler = makeHandler({ ...config, clock: () => NOW }, { ...storage.deps, sfn });
  return (event: unknown) => handler(event, invocationContext());
}

/** A POST event with this body and these extra headers, from `caller`. */
function request(body: unknown, headers: Record<string, string> = {}, caller = ALICE, requestId?: string) {
  const event = structuredClone(post);
  event.body = JSON.stringify(body);
  Object.assign(event.headers, headers);
  for (const [name, value] of Object.entries(headers)) event.multiValueHeaders[name] = [value];
  event.requestContext.identity.userArn = caller;
  event.requestContext.requestId = requestId ?? randomUUID();
  return event;
}

/** GPU load in the store: one worker per stage with `backlogSeconds` queued on detail. */
async function gpuLoad(backlogSeconds: number) {
  const { dynamodb } = storage.emulators;
  for (const stage of ['detail', 'optimize'] as const) {
    await writeStageLoad(
      dynamodb,
      TABLES.signals,
      stage,
      {
        queued: backlogSeconds ? 10 : 0,
        running: 1,
        workers: 1,
        backlogSeconds: stage === 'detail' ? backlogSeconds : 0,
      },
      NOW,
    );
    await writeService(
      dynamodb,
      TABLES.signals,
      stage,
      'medium',
      { p50Seconds: 60, p95Seconds: 80, count: 20 },
      NOW,
    );
  }
}

const allocation = async (name: string) =>
  (
    await storage.emulators.dynamodb.send(
      new GetItemCommand({
        TableName: TABLES.signals,
        Key: { name: { S: `allocation#${name}` } },
        ConsistentRead: true,
      }),
    )
  ).Item;
const json = (reply: { body: string }) => JSON.parse(reply.body);

describe('start-generation', () => {
  it('starts the execution under the API request id with the caller envelope, which Normalize unwraps', async () => {
    const reply = await frontDoor('low')(
      request({ prompt: ' a "quoted" fox\n', seed: 3 }, {}, ALICE, post.requestContext.requestId),
    );

    expect(reply.statusCode).toBe(202);
    expect(json(reply)).toEqual({ id: post.requestContext.requestId, startDate: NOW.toISOString() });
    const started = sfnStub.commandCalls(StartExecutionCommand)[0].args[0].input;
    expect(started).toMatchObject({ stateMachineArn: MACHINE, name: post.requestContext.requestId });
    const input = JSON.parse(started.input ?? '');
    expect(input.caller).toBe(ALICE);
    const normalize = makeNormalize(normalizeConfig({}));
    const normalized = await normalize({ request: input, executionName: started.name }, invocationContext());
    expect(normalized.request).toMatchObject({ prompt: 'a "quoted" fox', seed: 3 });
    expect(normalized.requestId).toBe(post.requestContext.requestId);
  });

  it('answers 400 with the schema’s reasons, and for a body that is not JSON', async () => {
    const door = frontDoor('low');

    const invalid = await door(request({ prompt: '', tier: 'ultra' }));
    const notJson = await door({ ...request({}), body: '{"prompt": ' });

    expect(invalid.statusCode).toBe(400);
    expect(json(invalid).message).toMatch(/^invalid request: prompt: .+; tier: /);
    expect(notJson.statusCode).toBe(400);
    expect(json(notJson)).toEqual({ message: 'request body is not JSON' });
    expect(sfnStub.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  describe('admission', () => {
    it('turns a request away with 429 and Retry-After when even low misses the deadline and the environment rejects', async () => {
      await gpuLoad(3000);

      const reply = await frontDoor('reject')(request({ prompt: 'a fox' }));

      expect(reply.statusCode).toBe(429);
      const retryAfter = Number(reply.headers['Retry-After']);
      expect(retryAfter).toBeGreaterThan(2000);
      expect(json(reply).message).toMatch(
        new RegExp(
          `^GPU capacity is busy: even the low tier would finish in about \\d+ s, past the 900 s deadline; retry in ${retryAfter} s$`,
        ),
      );
      expect(sfnStub.commandCalls(StartExecutionCommand)).toHaveLength(0);
    });

    it('takes a repeat whatever the load: its key holds a fresh result or a live claim to join', async () => {
      await gpuLoad(3000);
      const door = frontDoor('reject', { CACHE_TABLE: TABLES.cache });
      const cacheKey = cacheKeyOf(GenerationRequest.parse({ prompt: 'a fox' }), PIPELINE_VERSION);
      const item = async (attributes: Record<string, string>) =>
        storage.emulators.dynamodb.send(
          new PutItemCommand({
            TableName: TABLES.cache,
            Item: {
              cacheKey: { S: cacheKey },
              ...Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, { S: value }])),
            },
          }),
        );
      const later = new Date(NOW.getTime() + 60_000).toISOString();
      const earlier = new Date(NOW.getTime() - 60_000).toISOString();

      await item({ expiresAtIso: later });
      expect((await door(request({ prompt: '  a fox ' }))).statusCode).toBe(202);
      await item({ status: 'pending', pendingUntil: later });
      expect((await door(request({ prompt: 'a fox' }))).statusCode).toBe(202);
      // An expired result and a claim past its lease hold nothing: the request is admitted as new.
      await item({ expiresAtIso: earlier });
      expect((await door(request({ prompt: 'a fox' }))).statusCode).toBe(429);
      await item({ status: 'pending', pendingUntil: earlier });
      expect((await door(request({ prompt: 'a fox' }))).statusCode).toBe(429);
      expect((await door(request({ prompt: 'a wolf' }))).statusCode).toBe(429);
    });

    it('keeps the request at low, late, where the environment does not reject', async () => {
      await gpuLoad(3000);

      const reply = await frontDoor('low')(request({ prompt: 'a fox' }));

      expect(reply.statusCode).toBe(202);
      expect(await allocation(json(reply).id)).toMatchObject({
        tier: { S: 'low' },
        reason: { S: expect.stringContaining('(late even at low)') },
      });
    });

    it('allocates the best tier that meets the deadline when the GPUs have room, for the assessment to take', async () => {
      await gpuLoad(0);

      const reply = await frontDoor('reject')(request({ prompt: 'a fox' }));

      expect(reply.statusCode).toBe(202);
      expect((await allocation(json(reply).id))?.tier).toEqual({ S: 'high' });
    });

    it.each<Tier>(['high', 'low'])('honours an explicit %s tier and never rewrites it', async (tier) => {
      await gpuLoad(100);

      const reply = await frontDoor('reject')(request({ prompt: 'a fox', tier }));

      expect(reply.statusCode).toBe(202);
      expect(await allocation(json(reply).id)).toBeUndefined();
      const input = JSON.parse(sfnStub.commandCalls(StartExecutionCommand)[0].args[0].input.input ?? '');
      expect(input.request.tier).toBe(tier);
    });

    it('rejects an explicit tier that would miss its deadline, naming the tier', async () => {
      await gpuLoad(3000);

      const reply = await frontDoor('reject')(
        request({ prompt: 'a fox', tier: 'high', deadlineSeconds: 600 }),
      );

      expect(reply.statusCode).toBe(429);
      expect(json(reply).message).toMatch(
        /^GPU capacity is busy: tier high would finish in about \d+ s, past the 600 s deadline/,
      );
    });

    it('takes every request while the store holds no fresh load', async () => {
      const reply = await frontDoor('reject')(request({ prompt: 'a fox' }));

      expect(reply.statusCode).toBe(202);
      expect(await allocation(json(reply).id)).toBeUndefined();
    });
  });

  describe('Idempotency-Key', () => {
    it('maps a retry with the same body to the execution its key started', async () => {
      const door = frontDoor('low');
      const body = { prompt: 'a fox', seed: 1 };

      const first = await door(request(body, { 'Idempotency-Key': 'order-42' }, ALICE, 'req-1'));
      const retry = await door(
        request({ seed: 1, prompt: ' a fox ' }, { 'idempotency-key': 'order-42' }, ALICE, 'req-2'),
      );

      expect(first.statusCode).toBe(202);
      expect(retry.statusCode).toBe(202);
      expect(json(retry)).toEqual(json(first));
      expect(json(first).id).toMatch(/^idem-[0-9a-f]{64}$/);
      expect(executions.size).toBe(1);
    });

    it('answers 422 when the key was used with a different body', async () => {
      const door = frontDoor('low');
      await door(request({ prompt: 'a fox' }, { 'Idempotency-Key': 'order-43' }));

      const reply = await door(request({ prompt: 'a wolf' }, { 'Idempotency-Key': 'order-43' }));

      expect(reply.statusCode).toBe(422);
      expect(json(reply)).toEqual({
        message: 'Idempotency-Key "order-43" was used with a different request',
      });
      expect(executions.size).toBe(1);
    });

    it('answers a retry after the execution ended from the execution its key started', async () => {
      const door = frontDoor('low');
      const first = await door(request({ prompt: 'a fox' }, { 'Idempotency-Key': 'order-44' }));
      for (const execution of executions.values()) execution.status = 'SUCCEEDED';

      const retry = await door(request({ prompt: 'a fox' }, { 'Idempotency-Key': 'order-44' }));

      expect(retry.statusCode).toBe(202);
      expect(json(retry)).toEqual(json(first));
      expect(executions.size).toBe(1);
    });

    it('answers a retry that races the first start from the execution Step Functions kept', async () => {
      const door = frontDoor('low');
      await door(request({ prompt: 'a fox' }, { 'Idempotency-Key': 'order-45' }));
      for (const execution of executions.values()) execution.status = 'SUCCEEDED';
      // The retry's look-up misses the first start; its own start then finds the name taken.
      faults.hiddenDescribes = 1;

      const retry = await door(request({ prompt: 'a fox' }, { 'Idempotency-Key': 'order-45' }));
      faults.hiddenDescribes = 1;
      const changed = await door(request({ prompt: 'a wolf' }, { 'Idempotency-Key': 'order-45' }));

      expect(retry.statusCode).toBe(202);
      expect(changed.statusCode).toBe(422);
      expect(executions.size).toBe(1);
    });

    it('keeps one caller’s keys apart from another’s', async () => {
      const door = frontDoor('low');

      const alice = await door(request({ prompt: 'a fox' }, { 'Idempotency-Key': 'k' }));
      const bob = await door(
        request({ prompt: 'a fox' }, { 'Idempotency-Key': 'k' }, 'arn:aws:iam::111122223333:user/bob'),
      );

      expect(json(alice).id).not.toBe(json(bob).id);
      expect(executions.size).toBe(2);
    });

    it('refuses a key that is empty, too long or sent twice', async () => {
      const door = frontDoor('low');
      const twice = request({ prompt: 'a fox' });
      twice.multiValueHeaders['Idempotency-Key'] = ['a', 'b'];

      for (const event of [
        request({ prompt: 'a fox' }, { 'Idempotency-Key': '' }),
        request({ prompt: 'a fox' }, { 'Idempotency-Key': 'k'.repeat(256) }),
        twice,
      ]) {
        const reply = await door(event);
        expect(reply.statusCode).toBe(400);
        expect(json(reply).message).toBe('Idempotency-Key must be one value of 1 to 255 characters');
      }
    });
  });

  it('answers Step Functions throttling with 429 and Retry-After, a repeated request id with 409', async () => {
    const door = frontDoor('low');
    faults.nextStart = new ExecutionLimitExceeded({ message: 'limit', $metadata: {} });
    const throttled = await door(request({ prompt: 'a fox' }, {}, ALICE, 'req-9'));
    await door(request({ prompt: 'a fox' }, {}, ALICE, 'req-10'));

    const repeated = await door(request({ prompt: 'a wolf' }, {}, ALICE, 'req-10'));

    expect(throttled.statusCode).toBe(429);
    expect(throttled.headers['Retry-After']).toBe('1');
    expect(repeated.statusCode).toBe(409);
  });

  it('answers a Step Functions fault with a generic 500', async () => {
    faults.nextStart = Object.assign(new Error('boom at 10.0.0.1'), { $fault: 'server' });

    const reply = await frontDoor('low')(request({ prompt: 'a fox' }));

    expect(reply.statusCode).toBe(500);
    expect(json(reply)).toEqual({ message: 'internal error' });
  });

  it('refuses an admission setting the environment cannot mean, at cold start', () => {
    const env = { STATE_MACHINE_ARN: MACHINE, STAGE_CAPABILITIES: 'detail,optimize' };

    expect(() => configFromEnv({ ...env, ADMISSION_OVERLOAD: 'drop' })).toThrow(
      /ADMISSION_OVERLOAD is invalid/,
    );
    expect(() => configFromEnv({ ...env, DEFAULT_DEADLINE_SECONDS: '-5' })).toThrow(
      /DEFAULT_DEADLINE_SECONDS is invalid/,
    );
    expect(configFromEnv(env).policy).toEqual({ overload: 'low', defaultDeadlineSeconds: 900 });
  });

  it('echoes an allowed browser Origin and lets the page read Retry-After', async () => {
    const door = frontDoor('reject', { CORS_ORIGINS: 'http://localhost:5173' });
    await gpuLoad(3000);

    const allowed = await door(request({ prompt: 'a fox' }, { Origin: 'http://localhost:5173' }));
    const other = await door(request({ prompt: 'a fox' }, { Origin: 'https://evil.example' }));

    expect(allowed.headers).toMatchObject({
      'Access-Control-Allow-Origin': 'http://localhost:5173',
      'Access-Control-Expose-Headers': 'Retry-After',
      Vary: 'Origin',
    });
    expect(other.headers).not.toHaveProperty('Access-Control-Allow-Origin');
  });
});
