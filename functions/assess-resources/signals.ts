// Thin adapters that gather the assessment's signals: environment, breakers table, model store.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
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

export const DEFAULT_TIMEOUTS_SECONDS = Object.fromEntries(
  STAGES.map((stage) => [stage, STAGE_LIMITS[stage].timeoutSeconds]),
) as Record<StageName, number>;

/**
 * STAGE_TIMEOUTS_SECONDS (`template=120,detail=900`) over the defaults, then any
 * <STAGE>_TIMEOUT_SECONDS (e.g. DETAIL_TIMEOUT_SECONDS, as the CDK stack sets them) over that.
 */
export function stageTimeouts(env: Env = process.env): Record<StageName, number> {
  const out = parseTimeouts(optionalEnv('STAGE_TIMEOUTS_SECONDS', env));
  for (const stage of STAGES) {
    const name = `${stage.toUpperCase()}_TIMEOUT_SECONDS`;
    const raw = optionalEnv(name, env);
    if (raw === undefined) continue;
    const seconds = Number(raw);
    if (!Number.isInteger(seconds) || seconds <= 0)
      throw new InvalidEnvError(name, `expected positive seconds, got "${raw}"`);
    out[stage] = seconds;
  }
  return out;
}

/** `template=120,detail=900` over the defaults. */
export function parseTimeouts(raw: string | undefined): Record<StageName, number> {
  const out = { ...DEFAULT_TIMEOUTS_SECONDS };
  for (const pair of (raw ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const [name, value] = pair.split('=').map((part) => part.trim());
    const seconds = Number(value);
    if (!(STAGES as readonly string[]).includes(name) || !Number.isInteger(seconds) || seconds <= 0) {
      throw new InvalidEnvError('STAGE_TIMEOUTS_SECONDS', `"${pair}" is not <stage>=<positive seconds>`);
    }
    out[name as StageName] = seconds;
  }
  return out;
}

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
    timeoutsSeconds: stageTimeouts(env),
  };
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
