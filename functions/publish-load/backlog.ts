// What each GPU backend (infra/constructs/gpu/) has waiting and running per stage, read from the
// services that hold it: pool = the stage's SQS queue and ECS service, task = the ECS tasks of the
// stage's family, batch = the Batch jobs of the stage on the job queue.
import { type BatchClient, type JobStatus, ListJobsCommand } from '@aws-sdk/client-batch';
import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { CONTAINER_STAGES } from '#contracts/schemas';
import type { BacklogSource, PerStage } from './environment.ts';

export interface StageBacklog {
  /** Requests waiting for a worker. */
  readonly queued: number;
  /** Requests a worker is on. */
  readonly running: number;
  /** Workers up (pool: the service's running tasks; task and batch: one per running request). */
  readonly workers: number;
}

export interface GpuClients {
  readonly sqs: SQSClient;
  readonly ecs: ECSClient;
  readonly batch: BatchClient;
}

export async function readBacklog(
  source: BacklogSource,
  clients: GpuClients,
): Promise<PerStage<StageBacklog>> {
  if (source.backend === 'pool') return poolBacklog(source, clients);
  if (source.backend === 'task') return taskBacklog(source, clients.ecs);
  return batchBacklog(source, clients.batch);
}

async function poolBacklog(
  source: Extract<BacklogSource, { backend: 'pool' }>,
  { sqs, ecs }: GpuClients,
): Promise<PerStage<StageBacklog>> {
  const described = await ecs.send(
    new DescribeServicesCommand({
      cluster: source.cluster,
      services: CONTAINER_STAGES.map((stage) => source.stages[stage].service),
    }),
  );
  const runningOf = (service: string) =>
    described.services?.find((s) => s.serviceName === service || s.serviceArn === service)?.runningCount ?? 0;
  const entries = await Promise.all(
    CONTAINER_STAGES.map(async (stage) => {
      const { queueUrl, service } = source.stages[stage];
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      // A message a worker took is invisible until it is deleted: that is the work running.
      return [
        stage,
        {
          queued: Number(Attributes.ApproximateNumberOfMessages ?? 0),
          running: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
          workers: runningOf(service),
        },
      ] as const;
    }),
  );
  return Object.fromEntries(entries) as PerStage<StageBacklog>;
}

async function taskBacklog(
  source: Extract<BacklogSource, { backend: 'task' }>,
  ecs: ECSClient,
): Promise<PerStage<StageBacklog>> {
  const entries = await Promise.all(
    CONTAINER_STAGES.map(async (stage) => {
      // Desired RUNNING covers tasks still waiting for capacity (PROVISIONING, PENDING) too.
      const arns: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await ecs.send(
          new ListTasksCommand({
            cluster: source.cluster,
            family: source.stages[stage].family,
            desiredStatus: 'RUNNING',
            nextToken,
          }),
        );
        arns.push(...(page.taskArns ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      let running = 0;
      for (let i = 0; i < arns.length; i += 100) {
        const { tasks = [] } = await ecs.send(
          new DescribeTasksCommand({ cluster: source.cluster, tasks: arns.slice(i, i + 100) }),
        );
        running += tasks.filter((task) => task.lastStatus === 'RUNNING').length;
      }
      return [stage, { queued: arns.length - running, running, workers: running }] as const;
    }),
  );
  return Object.fromEntries(entries) as PerStage<StageBacklog>;
}

/** Waiting for an instance, or placed on one (STARTING pulls the image there). */
const BATCH_STATUSES: Record<'queued' | 'running', JobStatus[]> = {
  queued: ['SUBMITTED', 'PENDING', 'RUNNABLE'],
  running: ['STARTING', 'RUNNING'],
};

async function batchBacklog(
  source: Extract<BacklogSource, { backend: 'batch' }>,
  batch: BatchClient,
): Promise<PerStage<StageBacklog>> {
  const counts = Object.fromEntries(
    CONTAINER_STAGES.map((stage) => [stage, { queued: 0, running: 0 }]),
  ) as PerStage<{ queued: number; running: number }>;
  const stageOf = new Map(CONTAINER_STAGES.map((stage) => [source.stages[stage].jobName, stage]));
  for (const [kind, statuses] of Object.entries(BATCH_STATUSES) as ['queued' | 'running', JobStatus[]][]) {
    for (const jobStatus of statuses) {
      let nextToken: string | undefined;
      do {
        const page = await batch.send(
          new ListJobsCommand({ jobQueue: source.jobQueue, jobStatus, nextToken }),
        );
        for (const job of page.jobSummaryList ?? []) {
          const stage = stageOf.get(job.jobName ?? '');
          if (stage) counts[stage][kind] += 1;
        }
        nextToken = page.nextToken;
      } while (nextToken);
    }
  }
  return Object.fromEntries(
    CONTAINER_STAGES.map((stage) => [stage, { ...counts[stage], workers: counts[stage].running }]),
  ) as PerStage<StageBacklog>;
}
