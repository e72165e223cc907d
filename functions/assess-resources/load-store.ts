// The load signal store (DynamoDB table `signals`, pk `name`): GPU load per stage, rolling stage
// durations per tier, and tiers decided at admission. Whoever runs the GPU stages writes it (the
// local `chat2svg serve`; on AWS, the GPU backend); the assessment reads it, in both places alike.
import {
  type AttributeValue,
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { CONTAINER_STAGES, type ContainerStageName, Tier } from '#contracts/schemas';

/** Load items older than this are ignored: a writer that stopped is no signal. */
export const LOAD_STALE_SECONDS = 120;
/** Signal items expire (DynamoDB TTL) this long after their last write. */
const EXPIRES_AFTER_SECONDS = 3600;
/** Stage durations kept per stage and tier; p50 and p95 are taken over these. */
export const SERVICE_WINDOW = 50;
/** Conditional writes tried before a service sample is given up (heavy contention). */
const SAMPLE_ATTEMPTS = 8;
const TIER_NAMES = Tier.options;

export interface StageLoadSignal {
  readonly queued: number;
  readonly running: number;
  readonly workers: number;
  /** GPU-seconds committed to this stage: queued work and what running work has left. */
  readonly backlogSeconds: number;
  readonly updatedAt: string;
}

export interface ServiceSignal {
  readonly p50Seconds: number;
  readonly p95Seconds: number;
  readonly count: number;
}

export interface Allocation {
  readonly tier: Tier;
  readonly reason: string;
}

export interface LoadSignals {
  readonly stages: Partial<Record<ContainerStageName, StageLoadSignal>>;
  readonly service: Partial<Record<ContainerStageName, Partial<Record<Tier, ServiceSignal>>>>;
  /** The tier the front door's allocator gave this request, when it gave one. */
  readonly allocation?: Allocation;
}

const loadName = (stage: ContainerStageName) => `load#${stage}`;
const serviceName = (stage: ContainerStageName, tier: Tier) => `service#${stage}#${tier}`;
const allocationName = (requestId: string) => `allocation#${requestId}`;
const expiresAt = (now: Date) => ({ N: String(Math.floor(now.getTime() / 1000) + EXPIRES_AFTER_SECONDS) });
const num = (value: number) => ({ N: String(Math.round(value * 1000) / 1000) });

export async function readLoadSignals(
  ddb: DynamoDBClient,
  table: string,
  requestId: string | undefined,
  now: Date,
): Promise<LoadSignals> {
  const names = CONTAINER_STAGES.flatMap((stage) => [
    loadName(stage),
    ...TIER_NAMES.map((tier) => serviceName(stage, tier)),
  ]);
  if (requestId) names.push(allocationName(requestId));
  const reply = await ddb.send(
    new BatchGetItemCommand({
      RequestItems: { [table]: { Keys: names.map((name) => ({ name: { S: name } })), ConsistentRead: true } },
    }),
  );
  const items = new Map((reply.Responses?.[table] ?? []).map((item) => [item.name?.S, item]));
  const stages: LoadSignals['stages'] = {};
  const service: Record<string, Partial<Record<Tier, ServiceSignal>>> = {};
  for (const stage of CONTAINER_STAGES) {
    const load = items.get(loadName(stage));
    const updatedAt = load?.updatedAt?.S;
    if (load && updatedAt && now.getTime() - Date.parse(updatedAt) <= LOAD_STALE_SECONDS * 1000) {
      stages[stage] = {
        queued: Number(load.queued?.N ?? 0),
        running: Number(load.running?.N ?? 0),
        workers: Number(load.workers?.N ?? 0),
        backlogSeconds: Number(load.backlogSeconds?.N ?? 0),
        updatedAt,
      };
    }
    for (const tier of TIER_NAMES) {
      const item = items.get(serviceName(stage, tier));
      if (!item) continue;
      service[stage] ??= {};
      service[stage][tier] = {
        p50Seconds: Number(item.p50Seconds?.N),
        p95Seconds: Number(item.p95Seconds?.N),
        count: Number(item.count?.N),
      };
    }
  }
  const allocated = requestId ? items.get(allocationName(requestId)) : undefined;
  const tier = Tier.safeParse(allocated?.tier?.S);
  return {
    stages,
    service,
    ...(tier.success ? { allocation: { tier: tier.data, reason: allocated?.reason?.S ?? '' } } : {}),
  };
}

/** A value in the middle of `samples` (`q` = 0.5) or near its top (0.95); 0 for none. */
export function quantile(samples: readonly number[], q: number): number {
  if (!samples.length) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** p50, p95 and count of a window of stage durations (seconds). */
export function serviceSignal(samples: readonly number[]): ServiceSignal {
  return { p50Seconds: quantile(samples, 0.5), p95Seconds: quantile(samples, 0.95), count: samples.length };
}

/**
 * The rolling window of stage durations: `samples` with `seconds` added, the oldest dropped past
 * `size`. `chat2svg serve` keeps its windows with it in memory, record-outcome in the store.
 */
export function rollWindow(samples: readonly number[], seconds: number, size = SERVICE_WINDOW): number[] {
  return [...samples, seconds].slice(-size);
}

/** One signal item, expiring with the rest: its name, its fields, and a write condition if any. */
function putSignal(
  ddb: DynamoDBClient,
  table: string,
  name: string,
  now: Date,
  fields: Record<string, AttributeValue>,
  condition?: { readonly expression: string; readonly values?: Record<string, AttributeValue> },
) {
  return ddb.send(
    new PutItemCommand({
      TableName: table,
      Item: { name: { S: name }, ...fields, expiresAt: expiresAt(now) },
      ConditionExpression: condition?.expression,
      ExpressionAttributeNames: condition ? { '#version': 'version' } : undefined,
      ExpressionAttributeValues: condition?.values,
    }),
  );
}

export async function writeStageLoad(
  ddb: DynamoDBClient,
  table: string,
  stage: ContainerStageName,
  load: Omit<StageLoadSignal, 'updatedAt'>,
  now = new Date(),
): Promise<void> {
  await putSignal(ddb, table, loadName(stage), now, {
    queued: num(load.queued),
    running: num(load.running),
    workers: num(load.workers),
    backlogSeconds: num(load.backlogSeconds),
    updatedAt: { S: now.toISOString() },
  });
}

/** The stored window behind a service item: its samples, and the version they were read at. */
export interface StoredWindow {
  readonly samples: readonly number[];
  /** The item's `version` when read; undefined for an item without a window. */
  readonly version: number | undefined;
}

/**
 * Writes a service item. With `window`, the samples are stored beside p50/p95 and the write is
 * conditional on the version it was read at (bumped by one), so concurrent writers lose nothing.
 */
export async function writeService(
  ddb: DynamoDBClient,
  table: string,
  stage: ContainerStageName,
  tier: Tier,
  signal: ServiceSignal,
  now = new Date(),
  window?: StoredWindow,
): Promise<void> {
  const fields: Record<string, AttributeValue> = {
    p50Seconds: num(signal.p50Seconds),
    p95Seconds: num(signal.p95Seconds),
    count: num(signal.count),
    updatedAt: { S: now.toISOString() },
  };
  if (!window) {
    await putSignal(ddb, table, serviceName(stage, tier), now, fields);
    return;
  }
  fields.samples = { L: window.samples.map((seconds) => num(seconds)) };
  fields.version = { N: String((window.version ?? 0) + 1) };
  await putSignal(
    ddb,
    table,
    serviceName(stage, tier),
    now,
    fields,
    window.version === undefined
      ? { expression: 'attribute_not_exists(#version)' }
      : { expression: '#version = :version', values: { ':version': { N: String(window.version) } } },
  );
}

/** Service-window writers kept conflicting past every retry. */
export class ServiceWindowConflictError extends Error {
  constructor(stage: ContainerStageName, tier: Tier, attempts: number) {
    super(`service#${stage}#${tier}: ${attempts} conflicting writes in a row; sample not kept`);
    this.name = 'Signals.Conflict';
  }
}

/**
 * Adds one stage duration to the stored rolling window of its stage and tier and rewrites p50/p95:
 * read, roll, write conditional on the version read; on a conflict read again (jittered backoff).
 */
export async function recordServiceSample(
  ddb: DynamoDBClient,
  table: string,
  stage: ContainerStageName,
  tier: Tier,
  seconds: number,
  now = new Date(),
  size = SERVICE_WINDOW,
): Promise<{ signal: ServiceSignal; attempts: number }> {
  for (let attempt = 1; attempt <= SAMPLE_ATTEMPTS; attempt += 1) {
    const read = await ddb.send(
      new GetItemCommand({
        TableName: table,
        Key: { name: { S: serviceName(stage, tier) } },
        ConsistentRead: true,
        ProjectionExpression: '#samples, #version',
        ExpressionAttributeNames: { '#samples': 'samples', '#version': 'version' },
      }),
    );
    const version = read.Item?.version?.N;
    const window: StoredWindow = {
      samples: rollWindow(
        (read.Item?.samples?.L ?? []).map((value) => Number(value.N)).filter(Number.isFinite),
        seconds,
        size,
      ),
      version: version === undefined ? undefined : Number(version),
    };
    const signal = serviceSignal(window.samples);
    try {
      await writeService(ddb, table, stage, tier, signal, now, window);
      return { signal, attempts: attempt };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** attempt));
    }
  }
  throw new ServiceWindowConflictError(stage, tier, SAMPLE_ATTEMPTS);
}

export async function writeAllocation(
  ddb: DynamoDBClient,
  table: string,
  requestId: string,
  allocation: Allocation,
  now = new Date(),
): Promise<void> {
  await putSignal(ddb, table, allocationName(requestId), now, {
    tier: { S: allocation.tier },
    reason: { S: allocation.reason },
  });
}
