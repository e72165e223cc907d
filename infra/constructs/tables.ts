// The DynamoDB tables of docs/architecture.md §8: circuit breakers per stage, the result cache, and
// the load signals the assessment reads (functions/assess-resources/load-store.ts).
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

export interface PipelineTablesProps {
  /**
   * Continuous backups; worth paying for only where the data matters.
   * @default false
   */
  readonly pointInTimeRecovery?: boolean;
  /**
   * What `cdk destroy` does with the tables.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class PipelineTables extends Construct {
  /** pk `stage`: breaker state per pipeline stage. */
  public readonly breakers: dynamodb.Table;
  /** pk `cacheKey`: finished results, expired by DynamoDB TTL on `expiresAt` (epoch seconds). */
  public readonly cache: dynamodb.Table;
  /** pk `name`: GPU load per stage, stage durations per tier, admission allocations; TTL `expiresAt`. */
  public readonly signals: dynamodb.Table;

  constructor(scope: Construct, id: string, props: PipelineTablesProps = {}) {
    super(scope, id);
    const common: Omit<dynamodb.TableProps, 'partitionKey'> = {
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? false },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    };
    this.breakers = new dynamodb.Table(this, 'Breakers', {
      ...common,
      partitionKey: { name: 'stage', type: dynamodb.AttributeType.STRING },
    });
    this.cache = new dynamodb.Table(this, 'Cache', {
      ...common,
      partitionKey: { name: 'cacheKey', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
    });
    this.signals = new dynamodb.Table(this, 'Signals', {
      ...common,
      partitionKey: { name: 'name', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
    });
  }
}
