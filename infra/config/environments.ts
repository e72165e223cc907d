// Typed per-environment configuration, chosen with `cdk synth -c env=dev|staging|prod`.
// One defaults object; each environment states only what differs from it.
import { LLM_MODELS, STAGE_LIMITS } from '#contracts/defaults';
import { CONTAINER_STAGES, type LlmProvider } from '#contracts/schemas';
import { GPU_BACKENDS, type GpuBackendName } from '#contracts/transports';

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
  api: { rateLimit: 5, burstLimit: 10 },
};

const OVERRIDES: Record<EnvName, Overrides> = {
  dev: {},
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
    llm: { defaultProvider: 'bedrock' },
    api: { rateLimit: 50, burstLimit: 100 },
  },
};

export function isEnvName(value: unknown): value is EnvName {
  return typeof value === 'string' && (ENV_NAMES as readonly string[]).includes(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
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
