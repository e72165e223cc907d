// The breakers table (pk `stage`): reads for the assessment, outcomes counted with atomic adds,
// transitions applied with optimistic concurrency so that concurrent outcomes never overwrite each
// other, and the half-open probe lease taken and released.
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { addSeconds, type Clock, toIso } from '#commons/clock';
import { BreakerConflictError, ProbeTakenError } from '#commons/errors';
import { type BreakerState, STAGES, type StageName, type Tier } from '#contracts/schemas';
import type { BreakerSettings } from './settings.ts';
import {
  type Breaker,
  type Bucket,
  bucketStart,
  type Outcome,
  type Transition,
  transition,
  windowStats,
} from './transition.ts';

type Item = Record<string, AttributeValue>;

/** A stored breaker item: the transition state plus bookkeeping that is not part of it. */
export interface StoredBreaker extends Breaker {
  stage: StageName;
  /** Bumped by every transition this module writes; counting and the probe lease do not. */
  version?: number;
  lastDurationMs?: number;
  lastDurationAt?: string;
  lastTier?: Tier;
}

const str = (item: Item, key: string) => item[key]?.S;
const num = (item: Item, key: string) => (item[key]?.N === undefined ? undefined : Number(item[key].N));

/** Window buckets are top-level counters, so that counting is one atomic ADD without a read. */
const CALLS = 'calls_';
const FAILS = 'fails_';
const BUCKET = /^(calls|fails)_(\d+)$/;

function windowOf(item: Item): Bucket[] {
  const buckets = new Map<number, { start: number; calls: number; failures: number }>();
  for (const [key, value] of Object.entries(item)) {
    const match = BUCKET.exec(key);
    if (!match || value.N === undefined) continue;
    const start = Number(match[2]);
    const bucket = buckets.get(start) ?? { start, calls: 0, failures: 0 };
    if (match[1] === 'calls') bucket.calls = Number(value.N);
    else bucket.failures = Number(value.N);
    buckets.set(start, bucket);
  }
  return [...buckets.values()].sort((a, b) => a.start - b.start);
}

const bucketAttributes = (window: readonly Bucket[]) =>
  window.flatMap((bucket) => [`${CALLS}${bucket.start}`, `${FAILS}${bucket.start}`]);

export function fromItem(item: Item): StoredBreaker {
  return {
    stage: str(item, 'stage') as StageName,
    state: (str(item, 'state') ?? 'CLOSED') as BreakerState,
    window: windowOf(item),
    openUntil: str(item, 'openUntil'),
    probeOwner: str(item, 'probeOwner'),
    probeExpires: str(item, 'probeExpires'),
    updatedAt: str(item, 'updatedAt'),
    version: num(item, 'version'),
    lastDurationMs: num(item, 'lastDurationMs'),
    lastDurationAt: str(item, 'lastDurationAt'),
    lastTier: str(item, 'lastTier') as Tier | undefined,
  };
}

export async function getBreaker(ddb: DynamoDBClient, table: string, stage: StageName) {
  const { Item } = await ddb.send(
    new GetItemCommand({ TableName: table, Key: { stage: { S: stage } }, ConsistentRead: true }),
  );
  return Item ? fromItem(Item) : undefined;
}

/** Every stage's breaker in one round trip; absent stages have never failed. */
export async function getBreakers(
  ddb: DynamoDBClient,
  table: string,
): Promise<Partial<Record<StageName, StoredBreaker>>> {
  const out: Partial<Record<StageName, StoredBreaker>> = {};
  let keys: Item[] | undefined = STAGES.map((stage) => ({ stage: { S: stage } }));
  while (keys && keys.length > 0) {
    const response: BatchGetItemCommandOutput = await ddb.send(
      new BatchGetItemCommand({ RequestItems: { [table]: { Keys: keys } } }),
    );
    for (const item of response.Responses?.[table] ?? []) {
      const breaker = fromItem(item);
      out[breaker.stage] = breaker;
    }
    keys = response.UnprocessedKeys?.[table]?.Keys;
  }
  return out;
}

/** The breaker fields a transition writes; the unset optional ones are removed. */
const OPTIONAL_FIELDS = ['openUntil', 'probeOwner', 'probeExpires'] as const;

function conditionFor(
  before: StoredBreaker | undefined,
  names: Record<string, string>,
  values: Item,
): string {
  if (!before) {
    names['#stage'] = 'stage';
    return 'attribute_not_exists(#stage)';
  }
  // Everything the transition was computed from must be unchanged, including what the probe
  // lease sets (state, probeOwner, updatedAt) without bumping the version.
  const parts = ['#state = :prevState'];
  values[':prevState'] = { S: before.state };
  const same = (attr: string, value: string | number | undefined) => {
    names[`#${attr}`] = attr;
    if (value === undefined) return parts.push(`attribute_not_exists(#${attr})`);
    values[`:prev_${attr}`] = typeof value === 'number' ? { N: String(value) } : { S: value };
    return parts.push(`#${attr} = :prev_${attr}`);
  };
  same('version', before.version);
  same('updatedAt', before.updatedAt);
  same('probeOwner', before.probeOwner);
  return parts.join(' AND ');
}

export interface RecordOptions {
  stage: StageName;
  outcome: Outcome;
  executionId: string;
  settings: BreakerSettings;
  clock: Clock;
  /** Successful run's duration and tier, kept for the assessment's estimates. */
  durationMs?: number;
  tier?: Tier;
  maxAttempts?: number;
}

export interface RecordResult {
  /** The breaker the transition was computed from (the outcome counted in its window). */
  before: StoredBreaker | undefined;
  transition: Transition;
  attempts: number;
}

export async function recordOutcome(
  ddb: DynamoDBClient,
  table: string,
  options: RecordOptions,
): Promise<RecordResult> {
  const { stage, outcome, executionId, settings, clock, maxAttempts = 8 } = options;
  let before =
    outcome === 'rejected'
      ? await getBreaker(ddb, table, stage)
      : await countInWindow(ddb, table, options, clock());
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const now = clock();
    const result = transition(before, outcome, executionId, now, settings);
    if (!result.next) {
      if (before) await pruneStale(ddb, table, stage, windowStats(before.window, now, settings).stale);
      return { before, transition: result, attempts: attempt };
    }
    if (await writeTransition(ddb, table, stage, before, result.next, now)) {
      return { before, transition: result, attempts: attempt };
    }
    // Someone else changed the breaker since the read: re-read and recompute.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    before = await getBreaker(ddb, table, stage);
  }
  throw new BreakerConflictError(`breaker ${stage} kept changing; gave up after ${maxAttempts} attempts`);
}

/** One atomic ADD to the current bucket; returns the item as it is after it. */
async function countInWindow(
  ddb: DynamoDBClient,
  table: string,
  options: RecordOptions,
  now: Date,
): Promise<StoredBreaker> {
  const start = bucketStart(now, options.settings);
  const names: Record<string, string> = { '#state': 'state', '#calls': `${CALLS}${start}` };
  const values: Item = { ':one': { N: '1' }, ':closed': { S: 'CLOSED' } };
  const adds = ['#calls :one'];
  if (options.outcome === 'failure') {
    names['#fails'] = `${FAILS}${start}`;
    adds.push('#fails :one');
  }
  // A new item must read as a CLOSED breaker to the gate's Choice state.
  const sets = ['#state = if_not_exists(#state, :closed)'];
  if (options.outcome === 'success' && options.durationMs !== undefined) {
    values[':lastDurationMs'] = { N: String(Math.round(options.durationMs)) };
    values[':lastDurationAt'] = { S: toIso(now) };
    sets.push('lastDurationMs = :lastDurationMs', 'lastDurationAt = :lastDurationAt');
    if (options.tier) {
      values[':lastTier'] = { S: options.tier };
      sets.push('lastTier = :lastTier');
    }
  }
  const { Attributes } = await ddb.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { stage: { S: options.stage } },
      UpdateExpression: `SET ${sets.join(', ')} ADD ${adds.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_NEW',
    }),
  );
  return fromItem(Attributes ?? {});
}

/** Writes a state change unless the item moved on since `before`; false when it did. */
async function writeTransition(
  ddb: DynamoDBClient,
  table: string,
  stage: StageName,
  before: StoredBreaker | undefined,
  next: Breaker,
  now: Date,
): Promise<boolean> {
  const names: Record<string, string> = {
    '#state': 'state',
    '#updatedAt': 'updatedAt',
    '#version': 'version',
  };
  const values: Item = {};
  const condition = conditionFor(before, names, values);
  const sets = ['#state = :state', '#updatedAt = :updatedAt', '#version = :version'];
  values[':state'] = { S: next.state };
  values[':updatedAt'] = { S: next.updatedAt ?? toIso(now) };
  values[':version'] = { N: String((before?.version ?? 0) + 1) };
  const removes: string[] = [];
  for (const field of OPTIONAL_FIELDS) {
    names[`#${field}`] = field;
    const value = next[field];
    if (value === undefined) removes.push(`#${field}`);
    else {
      sets.push(`#${field} = :${field}`);
      values[`:${field}`] = { S: value };
    }
  }
  // Every transition starts a fresh window.
  bucketAttributes(before?.window ?? []).forEach((attribute, i) => {
    names[`#b${i}`] = attribute;
    removes.push(`#b${i}`);
  });
  try {
    await ddb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { stage: { S: stage } },
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** Deletes counters that fell out of the window; nothing counts into them any more. */
async function pruneStale(ddb: DynamoDBClient, table: string, stage: StageName, stale: Bucket[]) {
  if (stale.length === 0) return;
  const names = Object.fromEntries(bucketAttributes(stale).map((attribute, i) => [`#b${i}`, attribute]));
  await ddb.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { stage: { S: stage } },
      UpdateExpression: `REMOVE ${Object.keys(names).join(', ')}`,
      ExpressionAttributeNames: names,
    }),
  );
}

export interface ProbeLease {
  /** The state the lease was taken from: OPEN (a transition to HALF_OPEN) or HALF_OPEN (a lapsed lease). */
  from: BreakerState;
  leaseUntil: string;
}

/**
 * Takes the half-open probe lease for `executionId`, lasting the stage's own timeout. Only one
 * execution wins: the condition re-checks, atomically, that the cooldown or the last lease is over.
 */
export async function takeProbe(
  ddb: DynamoDBClient,
  table: string,
  options: { stage: StageName; executionId: string; now: Date; leaseSeconds: number },
): Promise<ProbeLease> {
  const now = toIso(options.now);
  const leaseUntil = toIso(addSeconds(options.now, options.leaseSeconds));
  try {
    const { Attributes } = await ddb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { stage: { S: options.stage } },
        UpdateExpression:
          'SET #state = :halfOpen, probeOwner = :owner, probeExpires = :lease, updatedAt = :now',
        ConditionExpression:
          '(#state = :open AND openUntil < :now) OR (#state = :halfOpen AND (attribute_not_exists(probeExpires) OR probeExpires < :now))',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':open': { S: 'OPEN' },
          ':halfOpen': { S: 'HALF_OPEN' },
          ':owner': { S: options.executionId },
          ':lease': { S: leaseUntil },
          ':now': { S: now },
        },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return { from: (Attributes?.state?.S ?? 'OPEN') as BreakerState, leaseUntil };
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      throw new ProbeTakenError(`${options.stage}: the breaker is open or another execution holds the probe`);
    }
    throw error;
  }
}

/**
 * Ends every probe lease `executionId` holds (its execution ended abnormally): the breaker stays
 * HALF_OPEN with the lease expired, so the next execution probes. Returns the stages released.
 */
export async function releaseProbes(
  ddb: DynamoDBClient,
  table: string,
  executionId: string,
  now: Date,
): Promise<StageName[]> {
  const held = Object.values(await getBreakers(ddb, table)).filter(
    (breaker) => breaker.state === 'HALF_OPEN' && breaker.probeOwner === executionId,
  );
  const released: StageName[] = [];
  for (const breaker of held) {
    try {
      await ddb.send(
        new UpdateItemCommand({
          TableName: table,
          Key: { stage: { S: breaker.stage } },
          UpdateExpression: 'SET probeExpires = :now, updatedAt = :now REMOVE probeOwner',
          ConditionExpression: '#state = :halfOpen AND probeOwner = :owner',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':now': { S: toIso(now) },
            ':halfOpen': { S: 'HALF_OPEN' },
            ':owner': { S: executionId },
          },
        }),
      );
      released.push(breaker.stage);
    } catch (error) {
      // The probe's own outcome got there first: nothing left to release.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
  return released;
}
