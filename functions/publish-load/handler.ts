// Publish load: run every minute (an EventBridge schedule), reads what the GPU backend has waiting
// and running per stage (backlog.ts) and writes it to the signal store as `load#<stage>`, with the
// GPU-seconds queued at the stage's rolling p50, for admission and the assessment to allocate tiers.
import { BatchClient } from '@aws-sdk/client-batch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SQSClient } from '@aws-sdk/client-sqs';
import { dynamoClient, type HandlerDeps } from '#commons/clients';
import { type Clock, systemClock } from '#commons/clock';
import { type Env, requireEnv } from '#commons/env';
import { createTools, lambdaHandler } from '#commons/lambda';
import { CONTAINER_STAGES, type ContainerStageName } from '#contracts/schemas';
import { workFactor } from '#contracts/tiers';
import { serviceTable } from '#functions/assess-resources/allocate';
import { DEFAULT_MEDIUM_SECONDS } from '#functions/assess-resources/decide';
import {
  readLoadSignals,
  type StageLoadSignal,
  writeStageLoad,
} from '#functions/assess-resources/load-store';
import { type GpuClients, readBacklog } from './backlog.ts';
import { type BacklogSource, backlogSourceFromEnv } from './environment.ts';

export interface PublishLoadConfig {
  readonly signalsTable: string;
  readonly source: BacklogSource;
  /** @default the system clock */
  readonly clock?: Clock;
}

export function configFromEnv(env: Env = process.env): PublishLoadConfig {
  return { signalsTable: requireEnv('SIGNALS_TABLE', env), source: backlogSourceFromEnv(env) };
}

export type PublishLoadDeps = HandlerDeps & { readonly gpu?: Partial<GpuClients> };

export function makeHandler(config: PublishLoadConfig, deps: PublishLoadDeps = {}) {
  const tools = deps.tools ?? createTools('publish-load');
  const { logger, tracer } = tools;
  const ddb = deps.clients?.dynamodb ?? dynamoClient(tools);
  const gpu: GpuClients = {
    sqs: deps.gpu?.sqs ?? tracer.captureAWSv3Client(new SQSClient({})),
    ecs: deps.gpu?.ecs ?? tracer.captureAWSv3Client(new ECSClient({})),
    batch: deps.gpu?.batch ?? tracer.captureAWSv3Client(new BatchClient({})),
  };
  return lambdaHandler(async (): Promise<Record<ContainerStageName, Omit<StageLoadSignal, 'updatedAt'>>> => {
    const now = (config.clock ?? systemClock)();
    const [backlog, signals] = await Promise.all([
      readBacklog(config.source, gpu),
      readLoadSignals(ddb, config.signalsTable, undefined, now),
    ]);
    // The tier of queued work is not known here: it counts at medium's p50 (scaled from a measured
    // tier when medium has none, else the assessment's default estimate).
    const service = serviceTable(
      CONTAINER_STAGES,
      (stage, tier) => signals.service[stage]?.[tier]?.p50Seconds,
      (stage, tier) => DEFAULT_MEDIUM_SECONDS[stage] * workFactor(stage, tier),
    );
    const load = Object.fromEntries(
      CONTAINER_STAGES.map((stage) => [
        stage,
        { ...backlog[stage], backlogSeconds: backlog[stage].queued * service.medium[stage] },
      ]),
    ) as Record<ContainerStageName, Omit<StageLoadSignal, 'updatedAt'>>;
    await Promise.all(
      CONTAINER_STAGES.map((stage) => writeStageLoad(ddb, config.signalsTable, stage, load[stage], now)),
    );
    logger.info('load published', { backend: config.source.backend, load });
    return load;
  }, tools);
}
