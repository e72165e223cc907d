// The `batch` backend: an AWS Batch job per request on a GPU compute environment that scales from
// zero. The optimized Batch integration has no callback pattern, so the state calls SubmitJob
// through the AWS SDK integration with .waitForTaskToken; the job answers like a task-mode worker.
import { type Duration, Size, Stack } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { CONTAINER_STAGES, type ContainerStageName } from '#contracts/schemas';
import { STAGE_INPUT_ENV, TASK_TOKEN_ENV } from '#contracts/transports';
import type { BacklogSource } from '#functions/publish-load/environment';
import { acknowledge } from '../../nag.ts';
import {
  capitalize,
  gpuVolume,
  grantWorker,
  MODEL_CACHE_PATH,
  stageImage,
  type WorkerBindings,
  workerEnvironment,
} from './common.ts';
import type { RunStageTaskOptions, StageBackend } from './types.ts';

/** vCPUs of one job: a g5.xlarge has 4, so one job fills one instance. */
const JOB_VCPUS = 4;

export interface BatchBackendProps extends WorkerBindings {
  readonly namePrefix: string;
  readonly vpc: ec2.IVpc;
  readonly instanceType: string;
  readonly maxInstances: number;
  readonly rootVolumeGiB: number;
  readonly containerMemoryMiB: number;
  readonly logGroup: logs.ILogGroup;
  /** Each stage's task timeout; Batch stops a job that runs longer (its token is dead by then). */
  readonly timeouts: Record<ContainerStageName, Duration>;
}

export class BatchBackend extends Construct implements StageBackend {
  public readonly name = 'batch' as const;
  public readonly transientErrors = [
    'Batch.ServerException',
    'Batch.BatchException',
    'Batch.SdkClientException',
  ];
  public readonly computeEnvironment: batch.ManagedEc2EcsComputeEnvironment;
  public readonly jobQueue: batch.JobQueue;
  public readonly jobDefinitions: Record<ContainerStageName, batch.EcsJobDefinition>;
  private readonly jobRole: iam.Role;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: BatchBackendProps,
  ) {
    super(scope, id);
    const securityGroup = new ec2.SecurityGroup(this, 'InstanceSecurityGroup', {
      vpc: props.vpc,
      description: 'Batch GPU instances: no inbound traffic, outbound to AWS APIs',
      allowAllOutbound: true,
    });
    this.computeEnvironment = new batch.ManagedEc2EcsComputeEnvironment(this, 'GpuCompute', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroups: [securityGroup],
      instanceTypes: [new ec2.InstanceType(props.instanceType)],
      useOptimalInstanceClasses: false,
      images: [{ imageType: batch.EcsMachineImageType.ECS_AL2_NVIDIA }],
      minvCpus: 0,
      maxvCpus: props.maxInstances * JOB_VCPUS,
      launchTemplate: new ec2.LaunchTemplate(this, 'LaunchTemplate', {
        requireImdsv2: true,
        blockDevices: [gpuVolume(props.rootVolumeGiB)],
      }),
    });
    this.jobQueue = new batch.JobQueue(this, 'JobQueue', {
      jobQueueName: `${props.namePrefix}-gpu`,
      computeEnvironments: [{ computeEnvironment: this.computeEnvironment, order: 1 }],
    });
    this.jobRole = new iam.Role(this, 'JobRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
    });
    grantWorker(this.jobRole, props);
    const definitions = {} as Record<ContainerStageName, batch.EcsJobDefinition>;
    for (const stage of CONTAINER_STAGES) {
      definitions[stage] = new batch.EcsJobDefinition(this, `${capitalize(stage)}Job`, {
        jobDefinitionName: `${props.namePrefix}-${stage}`,
        timeout: props.timeouts[stage],
        container: new batch.EcsEc2ContainerDefinition(this, `${capitalize(stage)}Container`, {
          image: stageImage(stage),
          command: ['task'],
          cpu: JOB_VCPUS,
          memory: Size.mebibytes(props.containerMemoryMiB),
          gpu: 1,
          environment: workerEnvironment(Stack.of(this), props),
          jobRole: this.jobRole,
          logging: ecs.LogDrivers.awsLogs({ logGroup: props.logGroup, streamPrefix: `${stage}-batch` }),
          volumes: [
            batch.EcsVolume.host({
              name: 'model-cache',
              hostPath: MODEL_CACHE_PATH,
              containerPath: MODEL_CACHE_PATH,
            }),
          ],
        }),
      });
    }
    this.jobDefinitions = definitions;
    acknowledge(
      this,
      'AWS Batch creates the instance role and service-linked permissions with AWS managed policies.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role]',
    );
  }

  get workerRoles() {
    return [this.jobRole];
  }

  runStageTask(scope: Construct, id: string, options: RunStageTaskOptions): sfn.TaskStateBase {
    const jobDefinition = this.jobDefinitions[options.stage];
    return tasks.CallAwsService.jsonPath(scope, id, {
      stateName: options.stateName,
      comment: options.comment,
      service: 'batch',
      action: 'submitJob',
      iamResources: [this.jobQueue.jobQueueArn, jobDefinition.jobDefinitionArn],
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      // The same request TRANSPORTS.batch measures (functions/contracts/transports.ts).
      parameters: {
        JobName: this.jobName(options.stage),
        JobQueue: this.jobQueue.jobQueueArn,
        JobDefinition: jobDefinition.jobDefinitionArn,
        ContainerOverrides: {
          Environment: [
            {
              Name: STAGE_INPUT_ENV,
              Value: sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt(options.inputPath)),
            },
            { Name: TASK_TOKEN_ENV, Value: sfn.JsonPath.taskToken },
          ],
        },
      },
      heartbeatTimeout: sfn.Timeout.duration(options.heartbeat),
      taskTimeout: sfn.Timeout.duration(options.timeout),
      resultSelector: options.resultSelector,
      resultPath: options.resultPath,
    });
  }

  stateMachineFindings(): string[] {
    return [];
  }

  /** Every job of a stage has this name, so the backlog is counted per stage by name. */
  jobName(stage: ContainerStageName): string {
    return `${this.props.namePrefix}-${stage}`;
  }

  backlogSource(): BacklogSource {
    const stages = Object.fromEntries(
      CONTAINER_STAGES.map((stage) => [stage, { jobName: this.jobName(stage) }]),
    ) as Extract<BacklogSource, { backend: 'batch' }>['stages'];
    return { backend: 'batch', jobQueue: this.jobQueue.jobQueueArn, stages };
  }

  /** ListJobs has no resource-level permission. */
  grantBacklogRead(grantee: iam.IGrantable): string[] {
    iam.Grant.addToPrincipal({ grantee, actions: ['batch:ListJobs'], resourceArns: ['*'] });
    return ['AwsSolutions-IAM5[Resource::*]'];
  }
}
