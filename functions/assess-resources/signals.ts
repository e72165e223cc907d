// Thin adapters that gather the assessment's signals: environment, breakers table.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { getBreakers } from '#breaker/store';
import { type Env, InvalidEnvError, listEnv, optionalEnv } from '#commons/env';
import { STAGE_LIMITS } from '#contracts/defaults';
import {
  CONTAINER_STAGES,
  type ContainerStageName,
  LlmProvider,
  STAGES,
  type StageName,
} from '#contracts/schemas';
import type { Signals } from './decide.ts';
import { type LoadSignals, readLoadSignals } from './load-store.ts';

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
