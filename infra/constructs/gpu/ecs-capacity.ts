// GPU instances for the ECS backends (task, pool): a cluster whose Auto Scaling group starts at zero
// and grows through a managed capacity provider when tasks wait for a GPU.
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { gpuVolume } from './common.ts';

export interface EcsGpuCapacityProps {
  readonly vpc: ec2.IVpc;
  readonly instanceType: string;
  /** The group scales between 0 and this many instances. */
  readonly maxInstances: number;
  readonly rootVolumeGiB: number;
}

export class EcsGpuCapacity extends Construct {
  public readonly cluster: ecs.Cluster;
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  public readonly capacityProvider: ecs.AsgCapacityProvider;

  constructor(scope: Construct, id: string, props: EcsGpuCapacityProps) {
    super(scope, id);
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: props.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    const securityGroup = new ec2.SecurityGroup(this, 'InstanceSecurityGroup', {
      vpc: props.vpc,
      description: 'GPU stage instances: no inbound traffic, outbound to AWS APIs',
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
      instanceType: new ec2.InstanceType(props.instanceType),
      userData,
      role: new iam.Role(this, 'InstanceRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') }),
      securityGroup,
      associatePublicIpAddress: true,
      requireImdsv2: true,
      blockDevices: [gpuVolume(props.rootVolumeGiB)],
    });
    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'GpuInstances', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      launchTemplate,
      minCapacity: 0,
      maxCapacity: props.maxInstances,
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
  }

  /** Places tasks on the GPU capacity provider only. */
  get strategy(): ecs.CapacityProviderStrategy[] {
    return [{ capacityProvider: this.capacityProvider.capacityProviderName, weight: 1 }];
  }
}
