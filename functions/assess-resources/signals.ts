// Thin adapters that gather the assessment's signals: environment, breakers table, model store.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { stageTimeoutsFromEnv } from '#breaker/settings';
import { getBreakers } from '#breaker/store';
import { type Env, InvalidEnvError, listEnv, optionalEnv } from '#commons/env';
import { STAGE_LIMITS } from '#contracts/defaults';
import { MODEL_STORE_PREFIX, manifestKey } from '#contracts/model-store';
import {
  CONTAINER_STAGES,
  type ContainerStageName,
  LlmProvider,
  STAGES,
  type StageName,
} from '#contracts/schemas';
import type { ModelSignal, Signals } from './decide.ts';
import { type LoadSignals, readLoadSignals } from './load-store.ts';

export function parseCapabilities(names: string[]): ContainerStageName[] {
  for (const name of names) {
    if (!(CONTAINER_STAGES as readonly string[]).includes(name)) {
      throw new InvalidEnvError(
        'STAGE_CAPABILITIES',
        `unknown stage "${name}" (expected ${CONTAINER_STAGES.join(', ')})`,
      );
    }
  }
  return names as ContainerStageName[];
}

function optionalCount(name: string, env: Env): number | undefined {
  const raw = optionalEnv(name, env);
  if (raw === undefined || raw === 'unknown') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new InvalidEnvError(name, `expected a count or "unknown", got "${raw}"`);
  return value;
}

/** The stage timeouts as synthesized, or the contract's defaults where none are set (unit tests). */
function timeoutsOf(env: Env): Record<StageName, number> {
  const set = STAGES.some(
    (stage) => optionalEnv(`${stage.toUpperCase()}_TIMEOUT_SECONDS`, env) !== undefined,
  );
  if (set) return { ...stageTimeoutsFromEnv(env) };
  return Object.fromEntries(STAGES.map((stage) => [stage, STAGE_LIMITS[stage].timeoutSeconds])) as Record<
    StageName,
    number
  >;
}

/** The signals that come from configuration; read once per cold start. */
export function staticSignals(env: Env = process.env): Omit<Signals, 'breakers'> {
  const llm = optionalEnv('CHAT2SVG_LLM', env) ?? optionalEnv('DEFAULT_LLM_PROVIDER', env);
  const parsedLlm = llm === undefined ? undefined : LlmProvider.safeParse(llm);
  if (parsedLlm && !parsedLlm.success) {
    throw new InvalidEnvError(
      'CHAT2SVG_LLM',
      `unknown provider "${llm}" (expected ${LlmProvider.options.join(', ')})`,
    );
  }
  return {
    containerStages: parseCapabilities(listEnv('STAGE_CAPABILITIES', env)),
    defaultLlm: parsedLlm?.data,
    // GPU load comes from whoever runs the backend (a scheduled metric copy, the local runtime);
    // unset means unknown and the assessment stays at the medium tier.
    gpu: {
      freeSlots: optionalCount('GPU_FREE_SLOTS', env),
      queueDepth: optionalCount('GPU_QUEUE_DEPTH', env),
    },
    timeoutsSeconds: timeoutsOf(env),
    defaultDeadlineSeconds: optionalCount('DEFAULT_DEADLINE_SECONDS', env),
  };
}

/** GPU load, stage durations and this request's admission tier; unreadable ⇒ no signal. */
export async function loadSignals(
  ddb: DynamoDBClient,
  table: string,
  requestId: string | undefined,
  now: Date,
  onError: (error: unknown) => void,
): Promise<LoadSignals | undefined> {
  try {
    return await readLoadSignals(ddb, table, requestId, now);
  } catch (error) {
    onError(error);
    return undefined;
  }
}

/** Breaker states and recent durations; an unreachable table degrades to "no signal", never fails the run. */
export async function breakerSignals(
  ddb: DynamoDBClient,
  table: string,
  onError: (error: unknown) => void,
): Promise<Signals['breakers']> {
  try {
    return await getBreakers(ddb, table);
  } catch (error) {
    onError(error);
    return {};
  }
}

export interface ModelStoreLocation {
  bucket: string;
  prefix: string;
  /** Stages whose weights must be published before they run. */
  stages: ContainerStageName[];
}

/** MODEL_STORE_BUCKET, MODEL_STORE_PREFIX and MODEL_STAGES; undefined when there is no store to check. */
export function modelStoreLocation(env: Env = process.env): ModelStoreLocation | undefined {
  const bucket = optionalEnv('MODEL_STORE_BUCKET', env);
  if (!bucket) return undefined;
  return {
    bucket,
    prefix: optionalEnv('MODEL_STORE_PREFIX', env) ?? MODEL_STORE_PREFIX,
    stages: parseCapabilities(listEnv('MODEL_STAGES', env)),
  };
}

/**
 * Whether each stage's manifest is in the store. A missing manifest means "not published"; any
 * other error leaves the stage unchecked (the worker's own fetch then decides), never failing the run.
 */
export async function modelSignals(
  s3: S3Client,
  store: ModelStoreLocation | undefined,
  onError: (error: unknown) => void,
): Promise<Signals['models']> {
  if (!store) return undefined;
  const entries = await Promise.all(
    store.stages.map(async (stage): Promise<[ContainerStageName, ModelSignal | undefined]> => {
      const key = manifestKey(stage, store.prefix);
      try {
        await s3.send(new HeadObjectCommand({ Bucket: store.bucket, Key: key }));
        return [stage, { published: true }];
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 404) {
          return [
            stage,
            {
              published: false,
              reason: `${stage} skipped: its models are not published (no s3://${store.bucket}/${key}; run scripts/publish-models)`,
            },
          ];
        }
        onError(error);
        return [stage, undefined];
      }
    }),
  );
  return Object.fromEntries(entries.filter(([, signal]) => signal));
}
