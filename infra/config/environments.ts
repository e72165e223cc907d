// Typed per-environment configuration, chosen with `cdk synth -c env=dev|staging|prod`.
// One defaults object; each environment states only what differs from it.
import type { BreakerSettings } from '#breaker/settings';
import { LLM_MODELS, STAGE_LIMITS } from '#contracts/defaults';
import { CONTAINER_STAGES, type LlmProvider, STAGES, type StageName } from '#contracts/schemas';
import { GPU_BACKENDS, type GpuBackendName } from '#contracts/transports';

export const ENV_NAMES = ['dev', 'staging', 'prod'] as const;
export type EnvName = (typeof ENV_NAMES)[number];

export interface StageTimeout {
  /**
   * The stage's own timeout: its Run task's limit (queueing for a GPU instance included) and the
   * length of its half-open probe lease.
   */
  readonly timeoutSeconds: number;
}

export interface ContainerStageTimeouts extends StageTimeout {
  /** Seconds without a heartbeat before Step Functions fails the task (States.HeartbeatTimeout). */
  readonly heartbeatSeconds: number;
}

export interface PipelineConfig {
  readonly envName: EnvName;
  /** Opening rule per stage breaker: failure rate over a rolling window (functions/breaker/settings.ts). */
  readonly breaker: BreakerSettings;
  /** Where an alarm on the degraded share of completions fires (percent over 15 minutes). */
  readonly degradedAlarmPercent: number;
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
    /**
     * How GPU stages run (docs/architecture.md, "GPU backends"): `pool` (warm workers on an SQS
     * queue), `task` (one ECS RunTask per request) or `batch` (an AWS Batch job per request).
     * `cdk synth -c gpuBackend=…` overrides it.
     */
    readonly backend: GpuBackendName;
    /**
     * Longest expected wait for capacity from zero: instance boot, multi-GB image pull, model fetch.
     * Every backend adds it to the stage heartbeat, since the heartbeat clock starts when the
     * request is sent, not when a worker starts.
     */
    readonly coldStartSeconds: number;
    readonly instanceType: string;
    /** Capacity scales between 0 and this many GPU instances (pool: workers per stage; batch: vCPUs / 4). */
    readonly maxInstances: number;
    readonly rootVolumeGiB: number;
    /** Memory reserved per stage container (MiB); leaves room for the ECS agent on the instance. */
    readonly containerMemoryMiB: number;
  };
  readonly stages: {
    readonly template: StageTimeout;
    readonly detail: ContainerStageTimeouts;
    readonly optimize: ContainerStageTimeouts;
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
    /** Browser origins allowed to call the API (CORS); none means no CORS at all. */
    readonly corsOrigins: readonly string[];
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
  breaker: { failureRatePercent: 50, minimumCalls: 5, windowSeconds: 60, openSeconds: 30 },
  degradedAlarmPercent: 20,
  cacheTtlSeconds: 24 * 3600,
  payloadExpiryDays: 3,
  pointInTimeRecovery: false,
  retainData: false,
  logRetentionDays: 7,
  logExecutionData: true,
  gpu: {
    backend: 'task',
    coldStartSeconds: 420,
    instanceType: 'g5.xlarge',
    maxInstances: 2,
    rootVolumeGiB: 100,
    containerMemoryMiB: 14_336,
  },
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
  api: { rateLimit: 5, burstLimit: 10, corsOrigins: [] },
  admission: { defaultDeadlineSeconds: 900, overload: 'low' },
};

const OVERRIDES: Record<EnvName, Overrides> = {
  dev: { api: { corsOrigins: ['http://localhost:5173', 'http://127.0.0.1:5173'] } },
  staging: {
    gpu: { backend: 'pool' },
    llm: { defaultProvider: 'bedrock' },
    logRetentionDays: 30,
  },
  prod: {
    pointInTimeRecovery: true,
    retainData: true,
    logRetentionDays: 90,
    logExecutionData: false,
    gpu: { backend: 'pool', maxInstances: 8 },
    // Busier: a larger sample before a rate means anything.
    breaker: { minimumCalls: 20, windowSeconds: 120 },
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

/** Each stage's own timeout in seconds, as the handlers receive them (take-probe's lease length). */
export function stageTimeouts(config: PipelineConfig): Record<StageName, number> {
  return Object.fromEntries(STAGES.map((stage) => [stage, config.stages[stage].timeoutSeconds])) as Record<
    StageName,
    number
  >;
}

/**
 * `optimize=5,detail=8` (the `stageTimeouts` CDK context value) over an environment's stage
 * timeouts; a heartbeat never outlasts its timeout. For short local runs: chaos, lease tests.
 */
export function withStageTimeouts(config: PipelineConfig, raw: string | undefined): PipelineConfig {
  if (!raw) return config;
  const stages = { ...config.stages } as Record<StageName, StageTimeout & { heartbeatSeconds?: number }>;
  for (const pair of raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const [stage, value] = pair.split('=').map((part) => part.trim());
    const seconds = Number(value);
    if (!(STAGES as readonly string[]).includes(stage) || !Number.isInteger(seconds) || seconds < 1)
      throw new Error(`stageTimeouts: "${pair}" is not <stage>=<positive seconds>`);
    const current = stages[stage as StageName];
    stages[stage as StageName] = {
      ...current,
      timeoutSeconds: seconds,
      ...(current.heartbeatSeconds ? { heartbeatSeconds: Math.min(current.heartbeatSeconds, seconds) } : {}),
    };
  }
  return { ...config, stages: stages as unknown as PipelineConfig['stages'] };
}

export function isGpuBackend(value: unknown): value is GpuBackendName {
  return typeof value === 'string' && (GPU_BACKENDS as readonly string[]).includes(value);
}

export interface ConfigOverrides {
  /** `-c gpuBackend=pool|task|batch`. */
  readonly gpuBackend?: string;
}

export function loadConfig(envName: string, options: ConfigOverrides = {}): PipelineConfig {
  if (!isEnvName(envName)) {
    throw new Error(`unknown environment "${envName}"; expected one of ${ENV_NAMES.join(', ')}`);
  }
  if (options.gpuBackend !== undefined && !isGpuBackend(options.gpuBackend)) {
    throw new Error(
      `unknown GPU backend "${options.gpuBackend}"; expected one of ${GPU_BACKENDS.join(', ')}`,
    );
  }
  const overrides = OVERRIDES[envName];
  const merged: Record<string, unknown> = { envName };
  for (const [key, value] of Object.entries(DEFAULTS) as [string, unknown][]) {
    const override: unknown = overrides[key as keyof Overrides];
    merged[key] = isObject(value) && isObject(override) ? { ...value, ...override } : (override ?? value);
  }
  if (options.gpuBackend) merged.gpu = { ...(merged.gpu as object), backend: options.gpuBackend };
  const config = merged as unknown as PipelineConfig;
  for (const stage of CONTAINER_STAGES) {
    const timeouts = config.stages[stage];
    if (config.gpu.coldStartSeconds + timeouts.heartbeatSeconds >= timeouts.timeoutSeconds) {
      throw new Error(
        `${envName}: ${stage} timeoutSeconds must outlast a cold start plus one heartbeat interval`,
      );
    }
  }
  if (config.payloadExpiryDays * 86_400 <= config.cacheTtlSeconds) {
    throw new Error(
      `${envName}: payloadExpiryDays must outlast cacheTtlSeconds (cached results point into runs/)`,
    );
  }
  return config;
}
