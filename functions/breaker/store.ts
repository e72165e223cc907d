// The breakers table (pk `stage`): reads for the assessment, and breaker transitions applied with
// optimistic concurrency so that concurrent outcomes never overwrite each other.
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
import { BreakerConflictError } from '#commons/errors';
import { type BreakerState, STAGES, type StageName, type Tier } from '#contracts/schemas';
import {
  type Breaker,
  type BreakerSettings,
  type Outcome,
  type Transition,
  transition,
} from './transition.ts';

type Item = Record<string, AttributeValue>;

/** A stored breaker item: the transition state plus bookkeeping that is not part of it. */
export interface StoredBreaker extends Breaker {
  stage: StageName;
  /** Bumped by every transition this module writes; the gate's probe update may not. */
  version?: number;
  lastDurationMs?: number;
  lastDurationAt?: string;
  lastTier?: Tier;
}

const str = (item: Item, key: string) => item[key]?.S;
const num = (item: Item, key: string) => (item[key]?.N === undefined ? undefined : Number(item[key].N));

export function fromItem(item: Item): StoredBreaker {
  return {
    stage: str(item, 'stage') as StageName,
    state: (str(item, 'state') ?? 'CLOSED') as BreakerState,
    failures: num(item, 'failures') ?? 0,
    recentFailures: item.recentFailures?.L?.map((entry) => entry.S ?? '').filter(Boolean) ?? [],
    windowStart: str(item, 'windowStart'),
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
const OPTIONAL_FIELDS = ['windowStart', 'openUntil', 'probeOwner', 'probeExpires'] as const;

function conditionFor(
  before: StoredBreaker | undefined,
  names: Record<string, string>,
  values: Item,
): string {
  if (!before) {
    names['#stage'] = 'stage';
    return 'attribute_not_exists(#stage)';
  }
  // Everything the transition was computed from must be unchanged, including what the gate's
  // probe update sets (state, probeOwner, updatedAt) without bumping the version.
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
  /** How stale the stored duration may get before a success while CLOSED refreshes it. */
  durationRefreshSeconds?: number;
  maxAttempts?: number;
}

export interface RecordResult {
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
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const before = await getBreaker(ddb, table, stage);
    const now = clock();
    const result = transition(before, outcome, executionId, now, settings);
    if (!result.next) {
      if (outcome === 'success') await maybeRefreshDuration(ddb, table, before, now, options);
      return { before, transition: result, attempts: attempt };
    }
    const names: Record<string, string> = { '#state': 'state' };
    const values: Item = {};
    const condition = conditionFor(before, names, values);
    const next = result.next;
    const sets = [
      '#state = :state',
      'failures = :failures',
      'recentFailures = :recent',
      '#updatedAt = :updatedAt',
    ];
    sets.push('#version = :version');
    names['#updatedAt'] = 'updatedAt';
    names['#version'] = 'version';
    values[':state'] = { S: next.state };
    values[':failures'] = { N: String(next.failures) };
    values[':recent'] = { L: next.recentFailures.map((stamp) => ({ S: stamp })) };
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
    if (outcome === 'success' && options.durationMs !== undefined)
      sets.push(...durationSets(now, options, values));
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
      return { before, transition: result, attempts: attempt };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Someone else changed the breaker since the read: re-read and recompute.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
  throw new BreakerConflictError(`breaker ${stage} kept changing; gave up after ${maxAttempts} attempts`);
}

function durationSets(now: Date, options: RecordOptions, values: Item): string[] {
  values[':lastDurationMs'] = { N: String(Math.round(options.durationMs ?? 0)) };
  values[':lastDurationAt'] = { S: toIso(now) };
  const sets = ['lastDurationMs = :lastDurationMs', 'lastDurationAt = :lastDurationAt'];
  if (options.tier) {
    values[':lastTier'] = { S: options.tier };
    sets.push('lastTier = :lastTier');
  }
  return sets;
}

/**
 * A success while CLOSED writes no breaker state; the duration estimate is refreshed at most once
 * per `durationRefreshSeconds` per stage, and never touches the fields transitions condition on.
 */
async function maybeRefreshDuration(
  ddb: DynamoDBClient,
  table: string,
  before: StoredBreaker | undefined,
  now: Date,
  options: RecordOptions,
): Promise<void> {
  const refresh = options.durationRefreshSeconds ?? 300;
  if (options.durationMs === undefined || (before && before.state !== 'CLOSED')) return;
  const staleBefore = toIso(addSeconds(now, -refresh));
  if (before?.lastDurationAt && before.lastDurationAt > staleBefore) return;
  const values: Item = { ':stale': { S: staleBefore }, ':closed': { S: 'CLOSED' }, ':zero': { N: '0' } };
  const sets = durationSets(now, options, values);
  // A new item must read as a CLOSED breaker to the gate's Choice state.
  sets.push('#state = if_not_exists(#state, :closed)', 'failures = if_not_exists(failures, :zero)');
  try {
    await ddb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { stage: { S: options.stage } },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_not_exists(lastDurationAt) OR lastDurationAt < :stale',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: values,
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
