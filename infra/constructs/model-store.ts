// The model store: a bucket whose models/<stage>/ folders hold pinned weights and a manifest with
// each file's sha256, filled once per environment by scripts/publish-models.
import { RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { MODEL_STORE_PREFIX } from '#contracts/model-store';
import { acknowledge } from '../nag.ts';

export interface ModelStoreProps {
  /**
   * What `cdk destroy` does with the bucket; weights take long to publish again.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class ModelStore extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly prefix = MODEL_STORE_PREFIX;

  constructor(scope: Construct, id: string, props: ModelStoreProps = {}) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // A publish that replaces weights keeps the previous ones for a rollback.
      versioned: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    acknowledge(
      this,
      'Written only by the publish-models command and read by the GPU workers; CloudTrail data ' +
        'events cover auditing where an account needs it.',
      'AwsSolutions-S1',
    );
  }

  /** `s3://<bucket>/models/`, what GPU workers receive as MODEL_STORE_URI. */
  get uri(): string {
    return `s3://${this.bucket.bucketName}/${this.prefix}`;
  }

  grantRead(grantee: iam.IGrantable): void {
    this.bucket.grantRead(grantee, `${this.prefix}*`);
  }
}
