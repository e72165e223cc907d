// What every GPU backend shares: the stage images, the environment each worker gets (payload
// bucket, model store, model cache on the instance) and the instance settings for GPU hosts.
import * as path from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { MODEL_STORE_ENV } from '#contracts/model-store';
import type { ContainerStageName } from '#contracts/schemas';
import type { ModelStore } from '../model-store.ts';
import { REPO_ROOT } from '../pipeline-function.ts';

/** Host folder that keeps fetched weights between tasks on one instance (mounted at the same path). */
export const MODEL_CACHE_PATH = '/var/cache/chat2svg/models';

export function stageImage(stage: ContainerStageName): ecs.ContainerImage {
  return ecs.ContainerImage.fromAsset(path.join(REPO_ROOT, 'stage-images'), {
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
  });
}

export interface WorkerBindings {
  readonly payloadBucket: s3.IBucket;
  readonly modelStore: ModelStore;
}

/** Environment of every stage worker; the model store location goes to each one. */
export function workerEnvironment(scope: Stack, bindings: WorkerBindings): Record<string, string> {
  return {
    AWS_REGION: scope.region,
    PAYLOAD_BUCKET: bindings.payloadBucket.bucketName,
    [MODEL_STORE_ENV]: bindings.modelStore.uri,
    MODEL_CACHE_DIR: MODEL_CACHE_PATH,
  };
}

/** Each grant next to the variable that needs it: payloads under runs/, weights under models/. */
export function grantWorker(role: iam.IGrantable, bindings: WorkerBindings): void {
  bindings.payloadBucket.grantReadWrite(role, 'runs/*');
  bindings.modelStore.grantRead(role);
}

export function gpuVolume(sizeGiB: number): ec2.BlockDevice {
  return {
    deviceName: '/dev/xvda',
    volume: ec2.BlockDeviceVolume.ebs(sizeGiB, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }),
  };
}

export function capitalize(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1);
}
