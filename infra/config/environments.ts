// Typed per-environment configuration, chosen with `cdk synth -c env=dev|staging|prod`.
// One defaults object; each environment states only what differs from it.
import { LLM_MODELS, STAGE_LIMITS } from '#contracts/defaults';
import type { LlmProvider } from '#contracts/schemas';

export const ENV_NAMES = ['dev', 'staging', 'prod'] as const;
export type EnvName = (typeof ENV_NAMES)[number];

export interface StageTimeouts {
  /** Seconds without a heartbeat before Step Functions fails the task (States.HeartbeatTimeout). */
  readonly heartbeatSeconds: number;
  /** Upper bound for the whole task, queueing for a GPU instance included. */
  readonly timeoutSeconds: number;
}

export interface PipelineConfig {
  readonly envName: EnvName;
  readonly breaker: {
    /** Failures within the window that open the breaker. */
    readonly failureThreshold: number;
    readonly windowSeconds: number;
    /** How long an opened breaker stays open before one probe may run. */
    readonly openSeconds: number;
  };
  /** How long a finished result is served from the cache. */
  readonly cacheTtlSeconds: number;
  /**
   * Lifetime of payloads under `runs/`; longer than the cache TTL, since a cached result may
   * point at its SVG there.
   */
  readonly payloadExpiryDays: number;
  readonly pointInTimeRecovery: boolean;
  /** Whether tables, logs and the bucket survive `cdk destroy`. */
  readonly retainData: boolean;
  readonly logRetentionDays: number;
  /** Whether state machine logs carry state input/output (prompts); handy in dev, off in prod. */
  readonly logExecutionData: boolean;
  readonly gpu: {
    readonly instanceType: string;
    /** The capacity provider scales the group between 0 and this many instances. */
    readonly maxInstances: number;
    readonly rootVolumeGiB: number;
    /** Memory reserved per stage container (MiB); leaves room for the ECS agent on the instance. */
    readonly containerMemoryMiB: number;
  };
  readonly stages: {
    /** The template Lambda's timeout, and its Run task's. */
    readonly template: { readonly timeoutSeconds: number };
    readonly detail: StageTimeouts;
    readonly optimize: StageTimeouts;
  };
  /** Whole-execution limit; a run past it ends as ExecutionsTimedOut (alarmed). */
  readonly executionTimeoutSeconds: number;
  readonly alarms: {
    /** Address subscribed to the alarm topic; none means the topic has no subscriber yet. */
    readonly email?: string;
  };
  readonly llm: {
    /** Template provider when a request names none. */
    readonly defaultProvider: LlmProvider;
    /** Bedrock model ids for the standard and the larger template model. */
    readonly bedrockModelId: string;
    readonly bedrockLargeModelId: string;
    /** Secrets Manager ARNs of API keys for the non-AWS providers, where used. */
    readonly apiKeySecretArns: { readonly anthropic?: string; readonly openai?: string };
  };
  readonly api: {
    readonly rateLimit: number;
    readonly burstLimit: number;
  };
  /** Load-adaptive tiers and admission (functions/assess-resources/allocate.ts). */
  readonly admission: {
    /** The deadline of a request that names none. */
    readonly defaultDeadlineSeconds: number;
    /**
     * A request that misses its deadline even at the low tier: `reject` (429 + Retry-After at the
     * front door) or `low` (run it at low anyway, late).
     */
    readonly overload: 'reject' | 'low';
  };
}

type Overrides = { readonly [K in keyof PipelineConfig]?: Partial<PipelineConfig[K]> };

const DEFAULTS: Omit<PipelineConfig, 'envName'> = {
  breaker: { failureThreshold: 3, windowSeconds: 60, openSeconds: 30 },
  cacheTtlSeconds: 24 * 3600,
  payloadExpiryDays: 3,
  pointInTimeRecovery: false,
  retainData: false,
  logRetentionDays: 7,
  logExecutionData: true,
  gpu: { instanceType: 'g5.xlarge', maxInstances: 2, rootVolumeGiB: 100, containerMemoryMiB: 14_336 },
  stages: {
    template: { ...STAGE_LIMITS.template },
    detail: { ...STAGE_LIMITS.detail },
    optimize: { ...STAGE_LIMITS.optimize },
  },
  executionTimeoutSeconds: 3600,
  alarms: {},
  llm: {
    defaultProvider: 'offline',
    bedrockModelId: LLM_MODELS.bedrock.standard,
    bedrockLargeModelId: LLM_MODELS.bedrock.large,
    apiKeySecretArns: {},
  },
  api: { rateLimit: 5, burstLimit: 10 },
  admission: { defaultDeadlineSeconds: 900, overload: 'low' },
};

const OVERRIDES: Record<EnvName, Overrides> = {
  dev: {},
  staging: {
    llm: { defaultProvider: 'bedrock' },
    logRetentionDays: 30,
  },
  prod: {
    pointInTimeRecovery: true,
    retainData: true,
    logRetentionDays: 90,
    logExecutionData: false,
    gpu: { maxInstances: 8 },
    llm: { defaultProvider: 'bedrock' },
    api: { rateLimit: 50, burstLimit: 100 },
    admission: { overload: 'reject' },
  },
};

export function isEnvName(value: unknown): value is EnvName {
  return typeof value === 'string' && (ENV_NAMES as readonly string[]).includes(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

export function loadConfig(envName: string): PipelineConfig {
  if (!isEnvName(envName)) {
    throw new Error(`unknown environment "${envName}"; expected one of ${ENV_NAMES.join(', ')}`);
  }
  const overrides = OVERRIDES[envName];
  const merged: Record<string, unknown> = { envName };
  for (const [key, value] of Object.entries(DEFAULTS) as [string, unknown][]) {
    const override: unknown = overrides[key as keyof Overrides];
    merged[key] = isObject(value) && isObject(override) ? { ...value, ...override } : (override ?? value);
  }
  const config = merged as unknown as PipelineConfig;
  if (config.payloadExpiryDays * 86_400 <= config.cacheTtlSeconds) {
    throw new Error(
      `${envName}: payloadExpiryDays must outlast cacheTtlSeconds (cached results point into runs/)`,
    );
  }
  return config;
}
