// Where the load publisher finds each GPU backend's backlog: the variables the backend construct
// writes (infra/constructs/gpu/, bindLoadReader) and the handler reads, named here once.
import { type Env, InvalidEnvError, requireEnv } from '#commons/env';
import { CONTAINER_STAGES, type ContainerStageName } from '#contracts/schemas';

export type PerStage<T> = Record<ContainerStageName, T>;

export type BacklogSource =
  | {
      readonly backend: 'pool';
      /** The ECS cluster of the workers. */
      readonly cluster: string;
      readonly stages: PerStage<{ readonly queueUrl: string; readonly service: string }>;
    }
  | {
      readonly backend: 'task';
      readonly cluster: string;
      readonly stages: PerStage<{ readonly family: string }>;
    }
  | {
      readonly backend: 'batch';
      readonly jobQueue: string;
      /** Every job of a stage is submitted under this name. */
      readonly stages: PerStage<{ readonly jobName: string }>;
    };

const BACKEND = 'GPU_BACKEND';
const CLUSTER = 'GPU_CLUSTER';
const JOB_QUEUE = 'BATCH_JOB_QUEUE';
/** Per-stage variables are `<STAGE>_<FIELD>`, e.g. DETAIL_QUEUE_URL. */
const FIELDS = { queueUrl: 'QUEUE_URL', service: 'SERVICE', family: 'TASK_FAMILY', jobName: 'JOB_NAME' };
const stageVariable = (stage: ContainerStageName, field: keyof typeof FIELDS) =>
  `${stage.toUpperCase()}_${FIELDS[field]}`;

/** The environment that describes `source` (tokens welcome: the construct passes its resources). */
export function backlogEnvironment(source: BacklogSource): Record<string, string> {
  const env: Record<string, string> = { [BACKEND]: source.backend };
  if (source.backend === 'batch') env[JOB_QUEUE] = source.jobQueue;
  else env[CLUSTER] = source.cluster;
  for (const stage of CONTAINER_STAGES)
    for (const [field, value] of Object.entries(source.stages[stage]))
      env[stageVariable(stage, field as keyof typeof FIELDS)] = value;
  return env;
}

export function backlogSourceFromEnv(env: Env): BacklogSource {
  const backend = requireEnv(BACKEND, env);
  const perStage = <T>(read: (stage: ContainerStageName) => T) =>
    Object.fromEntries(CONTAINER_STAGES.map((stage) => [stage, read(stage)])) as PerStage<T>;
  const field = (stage: ContainerStageName, name: keyof typeof FIELDS) =>
    requireEnv(stageVariable(stage, name), env);
  if (backend === 'pool')
    return {
      backend,
      cluster: requireEnv(CLUSTER, env),
      stages: perStage((stage) => ({ queueUrl: field(stage, 'queueUrl'), service: field(stage, 'service') })),
    };
  if (backend === 'task')
    return {
      backend,
      cluster: requireEnv(CLUSTER, env),
      stages: perStage((stage) => ({ family: field(stage, 'family') })),
    };
  if (backend === 'batch')
    return {
      backend,
      jobQueue: requireEnv(JOB_QUEUE, env),
      stages: perStage((stage) => ({ jobName: field(stage, 'jobName') })),
    };
  throw new InvalidEnvError(BACKEND, `expected pool, task or batch, got "${backend}"`);
}
