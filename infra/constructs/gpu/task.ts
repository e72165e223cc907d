// The `task` backend: one ECS RunTask per request (ecs:runTask.waitForTaskToken) on GPU capacity
// that scales from zero. The StageInput and task token travel as container overrides.
import { type CfnElement, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { CONTAINER_STAGES, type ContainerStageName } from '#contracts/schemas';
import { STAGE_CONTAINER_NAME, STAGE_INPUT_ENV, TASK_TOKEN_ENV } from '#contracts/transports';
import type { BacklogSource } from '#functions/publish-load/environment';
import { STAGE_METADATA_KEY } from '../../metadata.ts';
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

export interface StageTaskDefinitionProps extends WorkerBindings {
  readonly family: string;
  readonly stage: ContainerStageName;
  readonly containerMemoryMiB: number;
  readonly logGroup: logs.ILogGroup;
}

/** One EC2 task definition per stage, shared by the task and pool backends. */
export function stageTaskDefinition(scope: Construct, id: string, props: StageTaskDefinitionProps) {
  const taskDefinition = new ecs.Ec2TaskDefinition(scope, id, {
    family: props.family,
    // Bridge mode shares the instance's public address; awsvpc tasks on EC2 get none.
    networkMode: ecs.NetworkMode.BRIDGE,
    volumes: [{ name: 'model-cache', host: { sourcePath: MODEL_CACHE_PATH } }],
  });
  const container = taskDefinition.addContainer(STAGE_CONTAINER_NAME, {
    image: stageImage(props.stage),
    gpuCount: 1,
    memoryReservationMiB: props.containerMemoryMiB,
    essential: true,
    logging: ecs.LogDrivers.awsLogs({ logGroup: props.logGroup, streamPrefix: props.stage }),
    environment: workerEnvironment(Stack.of(scope), props),
  });
  container.addMountPoints({ sourceVolume: 'model-cache', containerPath: MODEL_CACHE_PATH, readOnly: false });
  (taskDefinition.node.defaultChild as ecs.CfnTaskDefinition).addMetadata(STAGE_METADATA_KEY, props.stage);
  grantWorker(taskDefinition.taskRole, props);
  return taskDefinition;
}

export interface TaskBackendProps extends WorkerBindings {
  readonly namePrefix: string;
  readonly capacity: EcsGpuCapacity;
  readonly containerMemoryMiB: number;
  readonly logGroup: logs.ILogGroup;
}

export class TaskBackend extends Construct implements StageBackend {
  public readonly name = 'task' as const;
  public readonly transientErrors = [
    'ECS.ThrottlingException',
    'ECS.ServerException',
    'ECS.LimitExceededException',
    'ECS.AmazonECSException',
  ];
  public readonly taskDefinitions: Record<ContainerStageName, ecs.Ec2TaskDefinition>;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: TaskBackendProps,
  ) {
    super(scope, id);
    const definitions = {} as Record<ContainerStageName, ecs.Ec2TaskDefinition>;
    for (const stage of CONTAINER_STAGES) {
      definitions[stage] = stageTaskDefinition(this, `${capitalize(stage)}Task`, {
        ...props,
        family: `${props.namePrefix}-${stage}`,
        stage,
      });
    }
    this.taskDefinitions = definitions;
  }

  get workerRoles() {
    return Object.values(this.taskDefinitions).map((definition) => definition.taskRole);
  }

  runStageTask(scope: Construct, id: string, options: RunStageTaskOptions): sfn.TaskStateBase {
    const taskDefinition = this.taskDefinitions[options.stage];
    const container = taskDefinition.findContainer(STAGE_CONTAINER_NAME);
    if (!container) throw new Error(`task definition for ${options.stage} has no "${STAGE_CONTAINER_NAME}"`);
    return tasks.EcsRunTask.jsonPath(scope, id, {
      stateName: options.stateName,
      comment: options.comment,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      cluster: this.props.capacity.cluster,
      taskDefinition,
      launchTarget: new tasks.EcsEc2LaunchTarget({
        capacityProviderOptions: tasks.CapacityProviderOptions.custom(this.props.capacity.strategy),
      }),
      // The same shape TRANSPORTS.task measures (functions/contracts/transports.ts).
      containerOverrides: [
        {
          containerDefinition: container,
          environment: [
            {
              name: STAGE_INPUT_ENV,
              value: sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt(options.inputPath)),
            },
            { name: TASK_TOKEN_ENV, value: sfn.JsonPath.taskToken },
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

  /** Each stage's tasks, by task definition family. */
  backlogSource(): BacklogSource {
    const stages = Object.fromEntries(
      CONTAINER_STAGES.map((stage) => [stage, { family: this.taskDefinitions[stage].family }]),
    ) as Extract<BacklogSource, { backend: 'task' }>['stages'];
    return { backend: 'task', cluster: this.props.capacity.cluster.clusterName, stages };
  }

  /**
   * ListTasks has no resource-level permission (it is held to this cluster by condition); task ids
   * are known only at run time, so DescribeTasks covers this cluster's tasks.
   */
  grantBacklogRead(grantee: iam.IGrantable): string[] {
    const stack = Stack.of(this);
    const { cluster } = this.props.capacity;
    const onCluster = { ArnEquals: { 'ecs:cluster': cluster.clusterArn } };
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['ecs:ListTasks'],
      resourceArns: ['*'],
      conditions: onCluster,
    });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['ecs:DescribeTasks'],
      resourceArns: [
        stack.formatArn({ service: 'ecs', resource: 'task', resourceName: `${cluster.clusterName}/*` }),
      ],
      conditions: onCluster,
    });
    const clusterId = stack.getLogicalId(cluster.node.defaultChild as CfnElement);
    return [
      'AwsSolutions-IAM5[Resource::*]',
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<${clusterId}>/*]`,
    ];
  }

  /**
   * CDK grants `ecs:RunTask` on every revision of each task definition (`<family ARN>:*`); the
   * family is fixed, the revision changes per deploy.
   */
  stateMachineFindings(): string[] {
    return Object.values(this.taskDefinitions).map((taskDefinition) => {
      const ref = `{"Ref":"${Stack.of(this).getLogicalId(taskDefinition.node.defaultChild as CfnElement)}"}`;
      const part = (i: number) => `{"Fn::Select":[${i},{"Fn::Split":[":",${ref}]}]}`;
      const name = (i: number) => `{"Fn::Select":[${i},{"Fn::Split":["/",${part(5)}]}]}`;
      const arn = `arn:${part(1)}:${part(2)}:${part(3)}:${part(4)}:${name(0)}/${name(1)}:*`;
      return `AwsSolutions-IAM5[Resource::${arn}]`;
    });
  }
}
