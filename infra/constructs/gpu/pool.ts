// The `pool` backend: long-lived GPU workers per stage that keep their models loaded and take work
// from an SQS queue (sqs:sendMessage.waitForTaskToken), scaled on the queue's backlog from zero by
// aws-ecs-patterns' queue-processing service. A busy worker protects itself from scale-in.
import { type CfnElement, Duration, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as ecsPatterns from 'aws-cdk-lib/aws-ecs-patterns';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { CONTAINER_STAGES, type ContainerStageName } from '#contracts/schemas';
import { STAGE_CONTAINER_NAME } from '#contracts/transports';
import type { BacklogSource } from '#functions/publish-load/environment';
import { STAGE_METADATA_KEY } from '../../metadata.ts';
import { acknowledge } from '../../nag.ts';
import {
  capitalize,
  grantWorker,
  MODEL_CACHE_PATH,
  stageImage,
  type WorkerBindings,
  workerEnvironment,
} from './common.ts';
import type { EcsGpuCapacity } from './ecs-capacity.ts';
import type { RunStageTaskOptions, StageBackend } from './types.ts';

export interface PoolBackendProps extends WorkerBindings {
  readonly namePrefix: string;
  readonly capacity: EcsGpuCapacity;
  /** Workers per stage scale between 0 and this. */
  readonly maxWorkers: number;
  readonly containerMemoryMiB: number;
  readonly logGroup: logs.ILogGroup;
  /** Each stage's task timeout: a message stays invisible that long once a worker took it. */
  readonly timeouts: Record<ContainerStageName, Duration>;
}

export class PoolBackend extends Construct implements StageBackend {
  public readonly name = 'pool' as const;
  public readonly transientErrors = ['SQS.AmazonSQSException', 'SQS.SdkClientException'];
  public readonly services: Record<ContainerStageName, ecsPatterns.QueueProcessingEc2Service>;
  private readonly cluster: ecs.ICluster;

  constructor(scope: Construct, id: string, props: PoolBackendProps) {
    super(scope, id);
    this.cluster = props.capacity.cluster;
    const stack = Stack.of(this);
    const services = {} as Record<ContainerStageName, ecsPatterns.QueueProcessingEc2Service>;
    for (const stage of CONTAINER_STAGES) {
      const Stage = capitalize(stage);
      const deadLetters = new sqs.Queue(this, `${Stage}DeadLetters`, {
        enforceSSL: true,
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        retentionPeriod: Duration.days(4),
      });
      const queue = new sqs.Queue(this, `${Stage}Queue`, {
        enforceSSL: true,
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        // A worker that dies mid-task lets the message reappear after this; another worker then
        // answers the same task token, if the state has not timed out.
        visibilityTimeout: props.timeouts[stage],
        // Past the state's own timeout a message is only waste.
        retentionPeriod: Duration.seconds(Math.max(60, props.timeouts[stage].toSeconds())),
        deadLetterQueue: { queue: deadLetters, maxReceiveCount: 2 },
      });
      const service = new ecsPatterns.QueueProcessingEc2Service(this, `${Stage}Workers`, {
        cluster: props.capacity.cluster,
        queue,
        image: stageImage(stage),
        command: ['queue'],
        family: `${props.namePrefix}-${stage}-pool`,
        containerName: STAGE_CONTAINER_NAME,
        gpuCount: 1,
        memoryReservationMiB: props.containerMemoryMiB,
        // The queue URL comes as QUEUE_NAME; the timeout bounds the worker's scale-in protection.
        environment: {
          ...workerEnvironment(stack, props),
          STAGE_TIMEOUT_SECONDS: String(props.timeouts[stage].toSeconds()),
        },
        logDriver: ecs.LogDrivers.awsLogs({ logGroup: props.logGroup, streamPrefix: `${stage}-pool` }),
        capacityProviderStrategies: props.capacity.strategy,
        minScalingCapacity: 0,
        maxScalingCapacity: props.maxWorkers,
        // Any visible message starts a worker; an empty queue takes one away per cooldown, and a
        // worker in the middle of a task is protected from that (chat2svg_worker.queue).
        scalingSteps: [
          { upper: 0, change: -1 },
          { lower: 1, change: +1 },
          { lower: 4, change: +2 },
        ],
        cooldown: Duration.seconds(60),
        // GPU work says nothing through CPU load; only the backlog scales the pool.
        disableCpuBasedScaling: true,
        minHealthyPercent: 0,
        maxHealthyPercent: 100,
      });
      const taskDefinition = service.taskDefinition;
      taskDefinition.addVolume({ name: 'model-cache', host: { sourcePath: MODEL_CACHE_PATH } });
      taskDefinition.defaultContainer?.addMountPoints({
        sourceVolume: 'model-cache',
        containerPath: MODEL_CACHE_PATH,
        readOnly: false,
      });
      (taskDefinition.node.defaultChild as ecs.CfnTaskDefinition).addMetadata(STAGE_METADATA_KEY, stage);
      grantWorker(taskDefinition.taskRole, props);
      // Task scale-in protection through the ECS agent endpoint uses the task role.
      taskDefinition.taskRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['ecs:UpdateTaskProtection', 'ecs:GetTaskProtection'],
          resources: [
            stack.formatArn({
              service: 'ecs',
              resource: 'task',
              resourceName: `${props.capacity.cluster.clusterName}/*`,
            }),
          ],
        }),
      );
      services[stage] = service;
    }
    this.services = services;
    acknowledge(
      this,
      'Workers protect their own task from scale-in; task ids are only known at run time.',
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<${stack.getLogicalId(props.capacity.cluster.node.defaultChild as CfnElement)}>/*]`,
    );
  }

  get workerRoles() {
    return Object.values(this.services).map((service) => service.taskDefinition.taskRole);
  }

  runStageTask(scope: Construct, id: string, options: RunStageTaskOptions): sfn.TaskStateBase {
    return tasks.SqsSendMessage.jsonPath(scope, id, {
      stateName: options.stateName,
      comment: options.comment,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      queue: this.services[options.stage].sqsQueue,
      // The same shape TRANSPORTS.pool measures (functions/contracts/transports.ts).
      messageBody: sfn.TaskInput.fromObject({
        input: sfn.JsonPath.objectAt(options.inputPath),
        taskToken: sfn.JsonPath.taskToken,
      }),
      heartbeatTimeout: sfn.Timeout.duration(options.heartbeat),
      taskTimeout: sfn.Timeout.duration(options.timeout),
      resultSelector: options.resultSelector,
      resultPath: options.resultPath,
    });
  }

  stateMachineFindings(): string[] {
    return [];
  }

  /** Each stage's queue (waiting and taken messages) and its service (running workers). */
  backlogSource(): BacklogSource {
    const stages = Object.fromEntries(
      CONTAINER_STAGES.map((stage) => [
        stage,
        {
          queueUrl: this.services[stage].sqsQueue.queueUrl,
          service: this.services[stage].service.serviceName,
        },
      ]),
    ) as Extract<BacklogSource, { backend: 'pool' }>['stages'];
    return { backend: 'pool', cluster: this.cluster.clusterName, stages };
  }

  grantBacklogRead(grantee: iam.IGrantable): string[] {
    for (const stage of CONTAINER_STAGES)
      this.services[stage].sqsQueue.grant(grantee, 'sqs:GetQueueAttributes');
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['ecs:DescribeServices'],
      resourceArns: CONTAINER_STAGES.map((stage) => this.services[stage].service.serviceArn),
    });
    return [];
  }
}
