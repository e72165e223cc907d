// The load signal store (DynamoDB table `signals`, pk `name`): GPU load per stage, rolling stage
// durations per tier, and tiers decided at admission. Whoever runs the GPU stages writes it (the
// local `chat2svg serve`; on AWS, the GPU backend); the assessment reads it, in both places alike.
import {
  type AttributeValue,
  BatchGetItemCommand,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { CONTAINER_STAGES, type ContainerStageName, Tier } from '#contracts/schemas';

/** Load items older than this are ignored: a writer that stopped is no signal. */
export const LOAD_STALE_SECONDS = 120;
/** Signal items expire (DynamoDB TTL) this long after their last write. */
const EXPIRES_AFTER_SECONDS = 3600;
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

/** One signal item, expiring with the rest: its name, its fields. */
function putSignal(
  ddb: DynamoDBClient,
  table: string,
  name: string,
  now: Date,
  fields: Record<string, AttributeValue>,
) {
  return ddb.send(
    new PutItemCommand({
      TableName: table,
      Item: { name: { S: name }, ...fields, expiresAt: expiresAt(now) },
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

export async function writeService(
  ddb: DynamoDBClient,
  table: string,
  stage: ContainerStageName,
  tier: Tier,
  signal: ServiceSignal,
  now = new Date(),
): Promise<void> {
  await putSignal(ddb, table, serviceName(stage, tier), now, {
    p50Seconds: num(signal.p50Seconds),
    p95Seconds: num(signal.p95Seconds),
    count: num(signal.count),
    updatedAt: { S: now.toISOString() },
  });
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
