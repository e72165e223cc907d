// Holds only payloads too large to travel inline (docs/architecture.md §5), under runs/<requestId>/.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export const RUNS_PREFIX = 'runs/';

export interface PayloadBucketProps {
  /**
   * Days after which objects under `runs/` expire; they only matter while an execution runs.
   * @default 3
   */
  readonly expiryDays?: number;
  /**
   * What `cdk destroy` does with the bucket (a non-empty bucket is never deleted).
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class PayloadBucket extends Construct {
  public readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: PayloadBucketProps = {}) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
      lifecycleRules: [
        {
          id: 'expire-runs',
          prefix: RUNS_PREFIX,
          expiration: Duration.days(props.expiryDays ?? 3),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
  }
}
