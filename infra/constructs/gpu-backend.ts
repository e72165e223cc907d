// The GPU backend of the container stages: an ECS cluster whose GPU instances scale from zero,
// one EC2 task definition per stage, and the task-token RunTask step that starts a stage.
import * as path from 'node:path';
import { type CfnElement, type Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { ContainerStageName } from '#contracts/schemas';
import { STAGE_METADATA_KEY } from '../metadata.ts';
import { acknowledge } from '../nag.ts';
import { REPO_ROOT, S3_OBJECT_ACTIONS } from './pipeline-function.ts';

/** Name of the one container in each stage task definition. */
export const STAGE_CONTAINER_NAME = 'stage';

export interface GpuBackendProps {
  /** Resource name prefix, e.g. `chat2svg-dev`; task definition families are `<prefix>-<stage>`. */
  readonly namePrefix: string;
  /** Bucket for payloads too large to pass inline; tasks may read and write under `runs/`. */
  readonly payloadBucket: s3.IBucket;
  /**
   * @default 'g5.xlarge'
   */
  readonly instanceType?: string;
  /**
   * Upper bound of the GPU instance group; the lower bound is always 0.
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

export interface RunStageTaskOptions {
  readonly stage: ContainerStageName;
  /** State name in the definition, e.g. `detail.Run`. */
  readonly stateName?: string;
  /** JSONPath of the prepared StageInput PayloadRef, passed to the task as STAGE_INPUT. */
  readonly inputPath: string;
  readonly heartbeat: Duration;
  readonly timeout: Duration;
  readonly resultSelector?: Record<string, unknown>;
  readonly resultPath?: string;
  readonly comment?: string;
}

export class GpuBackend extends Construct {
  public readonly vpc: ec2.Vpc;
  public readonly cluster: ecs.Cluster;
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  public readonly capacityProvider: ecs.AsgCapacityProvider;
  public readonly taskDefinitions: Record<ContainerStageName, ecs.Ec2TaskDefinition>;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: GpuBackendProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const retention = props.logRetention ?? logs.RetentionDays.ONE_WEEK;

    // Public subnets only: instances reach ECR, S3 and Step Functions without paying for NAT;
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

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    const securityGroup = new ec2.SecurityGroup(this, 'InstanceSecurityGroup', {
      vpc: this.vpc,
      description: 'GPU stage instances: no inbound traffic, outbound to AWS APIs and the model hub',
      allowAllOutbound: true,
    });
    const userData = ec2.UserData.forLinux();
    // Multi-GB CUDA images: reuse what an instance already pulled when it scales back up.
    userData.addCommands(
      'echo ECS_ENABLE_GPU_SUPPORT=true >> /etc/ecs/ecs.config',
      'echo ECS_IMAGE_PULL_BEHAVIOR=prefer-cached >> /etc/ecs/ecs.config',
    );
    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      // An SSM parameter resolved at deploy time, so synth needs no AWS lookup.
      machineImage: ecs.EcsOptimizedImage.amazonLinux2(ecs.AmiHardwareType.GPU),
      instanceType: new ec2.InstanceType(props.instanceType ?? 'g5.xlarge'),
      userData,
      role: new iam.Role(this, 'InstanceRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') }),
      securityGroup,
      associatePublicIpAddress: true,
      requireImdsv2: true,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(props.rootVolumeGiB ?? 100, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP3,
          }),
        },
      ],
    });
    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'GpuInstances', {
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      launchTemplate,
      minCapacity: 0,
      maxCapacity: props.maxInstances ?? 2,
    });
    // Managed scaling starts instances when tasks wait for capacity and returns to zero when idle.
    this.capacityProvider = new ecs.AsgCapacityProvider(this, 'GpuCapacity', {
      autoScalingGroup: this.autoScalingGroup,
      enableManagedScaling: true,
      enableManagedTerminationProtection: false,
      // ECS drains tasks itself; otherwise CDK adds a drain-hook Lambda and SNS topic.
      enableManagedDraining: true,
      targetCapacityPercent: 100,
      machineImageType: ecs.MachineImageType.AMAZON_LINUX_2,
    });
    this.cluster.addAsgCapacityProvider(this.capacityProvider);

    this.logGroup = new logs.LogGroup(this, 'StageLogs', { retention, removalPolicy });
    const stageTask = (stage: ContainerStageName): ecs.Ec2TaskDefinition => {
      const taskDefinition = new ecs.Ec2TaskDefinition(this, `${capitalize(stage)}Task`, {
        family: `${props.namePrefix}-${stage}`,
        // Bridge mode shares the instance's public address; awsvpc tasks on EC2 get none.
        networkMode: ecs.NetworkMode.BRIDGE,
      });
      taskDefinition.addContainer(STAGE_CONTAINER_NAME, {
        image: ecs.ContainerImage.fromAsset(path.join(REPO_ROOT, 'stage-images'), {
          file: `${stage}/Dockerfile`,
          platform: Platform.LINUX_AMD64,
          exclude: [
            '**/tests',
            '**/__pycache__',
            '**/.pytest_cache',
            '**/*.egg-info',
            '**/.venv',
            '**/.ruff_cache',
          ],
        }),
        gpuCount: 1,
        memoryReservationMiB: props.containerMemoryMiB ?? 14_336,
        essential: true,
        logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: stage }),
        environment: {
          AWS_REGION: Stack.of(this).region,
          PAYLOAD_BUCKET: props.payloadBucket.bucketName,
        },
      });
      (taskDefinition.node.defaultChild as ecs.CfnTaskDefinition).addMetadata(STAGE_METADATA_KEY, stage);
      props.payloadBucket.grantReadWrite(taskDefinition.taskRole, 'runs/*');
      return taskDefinition;
    };
    this.taskDefinitions = { detail: stageTask('detail'), optimize: stageTask('optimize') };

    acknowledge(
      this,
      'Scaling is driven by the ECS capacity provider and watched there.',
      'AwsSolutions-AS3',
    );
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
      'Environment holds only the region and the payload bucket name, no secrets.',
      'AwsSolutions-ECS2',
    );
    const bucketArn = `<${Stack.of(this).getLogicalId(props.payloadBucket.node.defaultChild as CfnElement)}.Arn>`;
    acknowledge(
      this,
      'The ECS agent actions (ecs:Submit*, ecr:GetAuthorizationToken, logs) have no resource scope; ' +
        'payload objects have per-request keys under runs/.',
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Action::ecs:Submit*]',
      ...S3_OBJECT_ACTIONS.map((action) => `AwsSolutions-IAM5[Action::${action}]`),
      `AwsSolutions-IAM5[Resource::${bucketArn}/runs/*]`,
    );
  }

  /** Task role permission to answer the task token of the executions of `stateMachine`. */
  grantTaskResponse(stateMachine: sfn.IStateMachine): void {
    for (const taskDefinition of Object.values(this.taskDefinitions)) {
      stateMachine.grantTaskResponse(taskDefinition.taskRole);
    }
  }

  /**
   * cdk-nag finding ids for the `ecs:RunTask` grant CDK gives a state machine on every revision of
   * each task definition (`<family ARN>:*`); the family is fixed, the revision changes per deploy.
   */
  runTaskGrantFindings(): string[] {
    return Object.values(this.taskDefinitions).map((taskDefinition) => {
      const ref = `{"Ref":"${Stack.of(this).getLogicalId(taskDefinition.node.defaultChild as CfnElement)}"}`;
      const part = (i: number) => `{"Fn::Select":[${i},{"Fn::Split":[":",${ref}]}]}`;
      const name = (i: number) => `{"Fn::Select":[${i},{"Fn::Split":["/",${part(5)}]}]}`;
      const arn = `arn:${part(1)}:${part(2)}:${part(3)}:${part(4)}:${name(0)}/${name(1)}:*`;
      return `AwsSolutions-IAM5[Resource::${arn}]`;
    });
  }

  /**
   * The Step Functions task that runs one stage container on the GPU capacity provider and
   * waits for the worker's SendTaskSuccess/SendTaskFailure.
   */
  runStageTask(scope: Construct, id: string, options: RunStageTaskOptions): tasks.EcsRunTask {
    const taskDefinition = this.taskDefinitions[options.stage];
    const container = taskDefinition.findContainer(STAGE_CONTAINER_NAME);
    if (!container) throw new Error(`task definition for ${options.stage} has no "${STAGE_CONTAINER_NAME}"`);
    return tasks.EcsRunTask.jsonPath(scope, id, {
      stateName: options.stateName,
      comment: options.comment,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      cluster: this.cluster,
      taskDefinition,
      launchTarget: new tasks.EcsEc2LaunchTarget({
        capacityProviderOptions: tasks.CapacityProviderOptions.custom([
          { capacityProvider: this.capacityProvider.capacityProviderName, weight: 1 },
        ]),
      }),
      containerOverrides: [
        {
          containerDefinition: container,
          environment: [
            {
              name: 'STAGE_INPUT',
              value: sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt(options.inputPath)),
            },
            { name: 'SFN_TASK_TOKEN', value: sfn.JsonPath.taskToken },
          ],
        },
      ],
      propagatedTagSource: ecs.PropagatedTagSource.TASK_DEFINITION,
      heartbeatTimeout: sfn.Timeout.duration(options.heartbeat),
      taskTimeout: sfn.Timeout.duration(options.timeout),
      resultSelector: options.resultSelector,
      resultPath: options.resultPath,
    });
  }
}

function capitalize(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1);
}
