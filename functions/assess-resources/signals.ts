// Thin adapters that gather the assessment's signals: environment, breakers table.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { getBreakers } from '#breaker/store';
import { type Env, InvalidEnvError, listEnv, optionalEnv } from '#commons/env';
import { CONTAINER_STAGES, type ContainerStageName, LlmProvider } from '#contracts/schemas';
import type { Signals } from './decide.ts';

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
