// publish-load on dynalite: each GPU backend's backlog (SQS, ECS and Batch have no local emulator,
// so their clients are stubbed per call) turned into `load#<stage>` items the assessment reads.
import { BatchClient, ListJobsCommand } from '@aws-sdk/client-batch';
import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { invocationContext } from '#commons/lambda';
import { DEFAULT_MEDIUM_SECONDS } from '#functions/assess-resources/decide';
import { readLoadSignals, writeService } from '#functions/assess-resources/load-store';
import { type BacklogSource, backlogEnvironment } from '#functions/publish-load/environment';
import { configFromEnv, makeHandler } from '#functions/publish-load/handler';
import { deleteSignals, TABLES, useStorage } from './support/storage.ts';

const NOW = new Date('2026-11-29T08:00:00.000Z');
const sqs = new SQSClient({ region: 'us-east-1' });
const ecs = new ECSClient({ region: 'us-east-1' });
const batch = new BatchClient({ region: 'us-east-1' });
const sqsStub = mockClient(sqs);
const ecsStub = mockClient(ecs);
const batchStub = mockClient(batch);

const JOB_QUEUE = 'arn:aws:batch:us-east-1:000000000000:job-queue/chat2svg-gpu';
const SOURCES: Record<BacklogSource['backend'], BacklogSource> = {
  pool: {
    backend: 'pool',
    cluster: 'gpu',
    stages: {
      detail: { queueUrl: 'https://sqs/detail', service: 'detail-workers' },
      optimize: { queueUrl: 'https://sqs/optimize', service: 'optimize-workers' },
    },
  },
  task: {
    backend: 'task',
    cluster: 'gpu',
    stages: { detail: { family: 'chat2svg-dev-detail' }, optimize: { family: 'chat2svg-dev-optimize' } },
  },
  batch: {
    backend: 'batch',
    jobQueue: JOB_QUEUE,
    stages: { detail: { jobName: 'chat2svg-prod-detail' }, optimize: { jobName: 'chat2svg-prod-optimize' } },
  },
};

const storage = useStorage();
beforeEach(async () => {
  for (const stub of [sqsStub, ecsStub, batchStub]) stub.reset();
  await deleteSignals(storage, [
    'load#detail',
    'load#optimize',
    'service#detail#medium',
    'service#optimize#low',
  ]);
});

/** The handler as Lambda builds it from its environment, with the stubbed backend clients. */
function publish(source: BacklogSource) {
  const config = configFromEnv({ SIGNALS_TABLE: TABLES.signals, ...backlogEnvironment(source) });
  const handler = makeHandler({ ...config, clock: () => NOW }, { ...storage.deps, gpu: { sqs, ecs, batch } });
  return handler({}, invocationContext());
}
const stored = () => readLoadSignals(storage.emulators.dynamodb, TABLES.signals, undefined, NOW);

describe('publish-load', () => {
  it('reads the pool’s queues and services, and counts the queued work at the medium p50', async () => {
    await writeService(storage.emulators.dynamodb, TABLES.signals, 'detail', 'medium', {
      p50Seconds: 40,
      p95Seconds: 60,
      count: 12,
    });
    // Only low is measured for optimize: medium is scaled from it by the tiers' work factors.
    await writeService(storage.emulators.dynamodb, TABLES.signals, 'optimize', 'low', {
      p50Seconds: 50,
      p95Seconds: 70,
      count: 8,
    });
    sqsStub.on(GetQueueAttributesCommand, { QueueUrl: 'https://sqs/detail' }).resolves({
      Attributes: { ApproximateNumberOfMessages: '3', ApproximateNumberOfMessagesNotVisible: '1' },
    });
    sqsStub.on(GetQueueAttributesCommand, { QueueUrl: 'https://sqs/optimize' }).resolves({
      Attributes: { ApproximateNumberOfMessages: '2', ApproximateNumberOfMessagesNotVisible: '2' },
    });
    ecsStub.on(DescribeServicesCommand).resolves({
      services: [
        { serviceName: 'detail-workers', runningCount: 1 },
        { serviceName: 'optimize-workers', runningCount: 2 },
      ],
    });

    const load = await publish(SOURCES.pool);

    expect(load.detail).toEqual({ queued: 3, running: 1, workers: 1, backlogSeconds: 120 });
    expect(load.optimize).toMatchObject({ queued: 2, running: 2, workers: 2 });
    expect(load.optimize.backlogSeconds).toBeGreaterThan(2 * 50);
    expect(ecsStub.commandCalls(DescribeServicesCommand)[0].args[0].input).toEqual({
      cluster: 'gpu',
      services: ['detail-workers', 'optimize-workers'],
    });
    const signals = await stored();
    expect(signals.stages.detail).toEqual({
      queued: 3,
      running: 1,
      workers: 1,
      backlogSeconds: 120,
      updatedAt: NOW.toISOString(),
    });
    expect(signals.stages.optimize?.backlogSeconds).toBeCloseTo(load.optimize.backlogSeconds, 3);
  });

  it('splits the task backend’s tasks into running and waiting for capacity, across pages', async () => {
    ecsStub
      .on(ListTasksCommand, { family: 'chat2svg-dev-detail', nextToken: undefined })
      .resolves({ taskArns: ['t1', 't2'], nextToken: 'page-2' })
      .on(ListTasksCommand, { family: 'chat2svg-dev-detail', nextToken: 'page-2' })
      .resolves({ taskArns: ['t3'] })
      .on(ListTasksCommand, { family: 'chat2svg-dev-optimize' })
      .resolves({ taskArns: [] })
      .on(DescribeTasksCommand)
      .resolves({
        tasks: [
          { taskArn: 't1', lastStatus: 'RUNNING' },
          { taskArn: 't2', lastStatus: 'PROVISIONING' },
          { taskArn: 't3', lastStatus: 'PENDING' },
        ],
      });

    const load = await publish(SOURCES.task);

    // Nothing measured yet: the assessment's default medium estimate.
    expect(load.detail).toEqual({
      queued: 2,
      running: 1,
      workers: 1,
      backlogSeconds: 2 * DEFAULT_MEDIUM_SECONDS.detail,
    });
    expect(load.optimize).toEqual({ queued: 0, running: 0, workers: 0, backlogSeconds: 0 });
    expect(ecsStub.commandCalls(ListTasksCommand)[0].args[0].input).toMatchObject({
      cluster: 'gpu',
      desiredStatus: 'RUNNING',
    });
    expect((await stored()).stages.detail?.queued).toBe(2);
  });

  it('counts the batch jobs of each stage by name, waiting and started', async () => {
    const jobs = (status: string, names: string[]) => ({
      jobSummaryList: names.map((jobName, i) => ({ jobId: `${status}-${i}`, jobName })),
    });
    batchStub
      .on(ListJobsCommand)
      .resolves({ jobSummaryList: [] })
      .on(ListJobsCommand, { jobStatus: 'RUNNABLE' })
      .resolves(jobs('RUNNABLE', ['chat2svg-prod-detail', 'chat2svg-prod-detail', 'someone-else']))
      .on(ListJobsCommand, { jobStatus: 'SUBMITTED' })
      .resolves(jobs('SUBMITTED', ['chat2svg-prod-optimize']))
      .on(ListJobsCommand, { jobStatus: 'STARTING' })
      .resolves(jobs('STARTING', ['chat2svg-prod-detail']))
      .on(ListJobsCommand, { jobStatus: 'RUNNING' })
      .resolves(jobs('RUNNING', ['chat2svg-prod-optimize', 'chat2svg-prod-optimize']));

    const load = await publish(SOURCES.batch);

    expect(load.detail).toMatchObject({ queued: 2, running: 1, workers: 1 });
    expect(load.optimize).toMatchObject({ queued: 1, running: 2, workers: 2 });
    expect(
      batchStub
        .commandCalls(ListJobsCommand)
        .map((call) => call.args[0].input.jobStatus)
        .sort(),
    ).toEqual(['PENDING', 'RUNNABLE', 'RUNNING', 'STARTING', 'SUBMITTED']);
    expect(batchStub.commandCalls(ListJobsCommand)[0].args[0].input.jobQueue).toBe(JOB_QUEUE);
  });

  it('writes nothing when the backend cannot be read, so stale load is ignored, not trusted', async () => {
    ecsStub.on(DescribeServicesCommand).rejects(new Error('AccessDenied'));
    sqsStub.on(GetQueueAttributesCommand).resolves({ Attributes: {} });

    await expect(publish(SOURCES.pool)).rejects.toThrow('AccessDenied');
    expect((await stored()).stages).toEqual({});
  });

  it('refuses an environment that names no known backend', () => {
    expect(() => configFromEnv({ SIGNALS_TABLE: TABLES.signals, GPU_BACKEND: 'lambda' })).toThrow(
      /GPU_BACKEND is invalid/,
    );
    expect(() => configFromEnv({ SIGNALS_TABLE: TABLES.signals, GPU_BACKEND: 'pool' })).toThrow(
      /GPU_CLUSTER is not set/,
    );
  });
});
