// The GPU half of the pipeline: one of three backends (docs/architecture.md, "GPU backends"),
// chosen per environment, behind the one callback task the pipeline definition asks for.
//   pool  – warm ECS workers per stage on an SQS queue, scaled on backlog from zero
//   task  – one ECS RunTask per request on GPU capacity that scales from zero
//   batch – one AWS Batch job per request on a GPU compute environment
import { type CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { CONTAINER_STAGES, type ContainerStageName } from '#contracts/schemas';
import type { GpuBackendName } from '#contracts/transports';
import { backlogEnvironment } from '#functions/publish-load/environment';
import { acknowledge } from '../nag.ts';
import { BatchBackend } from './gpu/batch.ts';
import { EcsGpuCapacity } from './gpu/ecs-capacity.ts';
import { PoolBackend } from './gpu/pool.ts';
import { TaskBackend } from './gpu/task.ts';
import type { RunStageTaskOptions, StageBackend } from './gpu/types.ts';
import type { ModelStore } from './model-store.ts';
import { S3_OBJECT_ACTIONS } from './pipeline-function.ts';

export type { RunStageTaskOptions } from './gpu/types.ts';

export interface GpuBackendProps {
  /** Which backend runs the GPU stages. */
  readonly backend: GpuBackendName;
  /** Resource name prefix, e.g. `chat2svg-dev`; task and job definitions are `<prefix>-<stage>…`. */
  readonly namePrefix: string;
  /** Bucket for payloads too large to pass inline; workers may read and write under `runs/`. */
  readonly payloadBucket: s3.IBucket;
  /** Where workers fetch their weights at start; every task or job definition gets its location. */
  readonly modelStore: ModelStore;
  /**
   * Added to every stage heartbeat: the heartbeat clock starts when the work is sent, while the
   * first worker may still be booting, pulling its image and fetching models.
   * @default Duration.seconds(420)
   */
  readonly coldStart?: Duration;
  /** Stage task timeouts: the pool keeps a taken message invisible that long, Batch stops a job then. */
  readonly timeouts: Record<ContainerStageName, Duration>;
  /**
   * @default 'g5.xlarge'
   */
  readonly instanceType?: string;
  /**
   * Upper bound of GPU instances (pool: of workers per stage); the lower bound is always 0.
   * @default 2
   */
  readonly maxInstances?: number;
  /**
   * Root volume size; the CUDA images and model weights are large.
   * @default 100
   */
  readonly rootVolumeGiB?: number;
  /**
   * Memory reserved per stage container.
   * @default 14336
   */
  readonly containerMemoryMiB?: number;
  /**
   * @default logs.RetentionDays.ONE_WEEK
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class GpuBackend extends Construct {
  public readonly vpc: ec2.Vpc;
  public readonly logGroup: logs.LogGroup;
  /** The ECS cluster and its GPU capacity provider (pool and task backends). */
  public readonly ecsCapacity?: EcsGpuCapacity;
  public readonly backend: StageBackend & Construct;
  private readonly coldStart: Duration;

  constructor(scope: Construct, id: string, props: GpuBackendProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const retention = props.logRetention ?? logs.RetentionDays.ONE_WEEK;
    const instanceType = props.instanceType ?? 'g5.xlarge';
    const maxInstances = props.maxInstances ?? 2;
    const rootVolumeGiB = props.rootVolumeGiB ?? 100;
    const containerMemoryMiB = props.containerMemoryMiB ?? 14_336;
    this.coldStart = props.coldStart ?? Duration.seconds(420);

    // Public subnets only: instances reach ECR, S3, SQS and Step Functions without paying for NAT;
    // nothing is allowed in.
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
    });
    this.vpc.addFlowLog('RejectedFlows', {
      trafficType: ec2.FlowLogTrafficType.REJECT,
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogs', { retention, removalPolicy }),
      ),
    });
    this.logGroup = new logs.LogGroup(this, 'StageLogs', { retention, removalPolicy });
    const bindings = { payloadBucket: props.payloadBucket, modelStore: props.modelStore };
    const shared = { ...bindings, namePrefix: props.namePrefix, containerMemoryMiB, logGroup: this.logGroup };

    if (props.backend === 'batch') {
      this.backend = new BatchBackend(this, 'Batch', {
        ...shared,
        vpc: this.vpc,
        instanceType,
        maxInstances,
        rootVolumeGiB,
        timeouts: props.timeouts,
      });
    } else {
      const capacity = new EcsGpuCapacity(this, 'GpuCapacity', {
        vpc: this.vpc,
        instanceType,
        maxInstances,
        rootVolumeGiB,
      });
      this.ecsCapacity = capacity;
      this.backend =
        props.backend === 'pool'
          ? new PoolBackend(this, 'Pool', {
              ...shared,
              capacity,
              maxWorkers: maxInstances,
              timeouts: props.timeouts,
            })
          : new TaskBackend(this, 'Tasks', { ...shared, capacity });
      acknowledge(
        this,
        'Scaling is driven by the ECS capacity provider and watched there.',
        'AwsSolutions-AS3',
      );
    }

    acknowledge(
      this,
      'Short-lived GPU workers; basic monitoring plus Container Insights.',
      'AwsSolutions-EC28',
    );
    acknowledge(
      this,
      'Workers are disposable and scale to zero; no termination protection.',
      'AwsSolutions-EC29',
    );
    acknowledge(
      this,
      'Environment holds the region, the payload bucket and the model store location, no secrets.',
      'AwsSolutions-ECS2',
    );
    const arnOf = (bucket: s3.IBucket) =>
      `<${Stack.of(this).getLogicalId(bucket.node.defaultChild as CfnElement)}.Arn>`;
    acknowledge(
      this,
      'The ECS agent actions (ecs:Submit*, ecr:GetAuthorizationToken, logs) have no resource scope; ' +
        'payload objects have per-request keys under runs/, weights per-file keys under models/.',
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Action::ecs:Submit*]',
      ...S3_OBJECT_ACTIONS.map((action) => `AwsSolutions-IAM5[Action::${action}]`),
      `AwsSolutions-IAM5[Resource::${arnOf(props.payloadBucket)}/runs/*]`,
      `AwsSolutions-IAM5[Resource::${arnOf(props.modelStore.bucket)}/${props.modelStore.prefix}*]`,
    );
  }

  get name(): GpuBackendName {
    return this.backend.name;
  }

  get transientErrors(): string[] {
    return this.backend.transientErrors;
  }

  /** Worker permission to answer the task tokens of the executions of `stateMachine`. */
  grantTaskResponse(stateMachine: sfn.IStateMachine): void {
    for (const role of this.backend.workerRoles) stateMachine.grantTaskResponse(role);
  }

  /** cdk-nag finding ids of the wildcard grants CDK gives the state machine to start work. */
  runTaskGrantFindings(): string[] {
    return this.backend.stateMachineFindings();
  }

  /**
   * Lets `fn` read each stage's backlog (functions/publish-load): where to look in its environment,
   * read-only grants beside them.
   */
  bindLoadReader(fn: lambda.Function): void {
    for (const [name, value] of Object.entries(backlogEnvironment(this.backend.backlogSource())))
      fn.addEnvironment(name, value);
    const findings = this.backend.grantBacklogRead(fn);
    if (findings.length)
      acknowledge(
        fn,
        'Backlog reads only: ListTasks (held to the cluster by condition) and Batch ListJobs have no ' +
          'resource-level permission; task ids are known only at run time.',
        ...findings,
      );
  }

  /**
   * The callback task that runs one stage: its heartbeat allows for a cold start first, since no
   * worker can beat before it has started (docs/architecture.md, "Heartbeats and timeouts").
   */
  runStageTask(scope: Construct, id: string, options: RunStageTaskOptions): sfn.TaskStateBase {
    return this.backend.runStageTask(scope, id, {
      ...options,
      heartbeat: options.heartbeat.plus(this.coldStart),
    });
  }
}

/** Stage timeouts as Durations, in the order the constructs want them. */
export function stageDurations(
  seconds: Record<ContainerStageName, number>,
): Record<ContainerStageName, Duration> {
  return Object.fromEntries(
    CONTAINER_STAGES.map((stage) => [stage, Duration.seconds(seconds[stage])]),
  ) as Record<ContainerStageName, Duration>;
}
