// One Lambda handler of functions/<file>.ts, bundled by esbuild as ESM for Node 22 on arm64 from its
// entry functions/<file>.lambda.ts, with X-Ray active tracing and Powertools' service settings.
// Environment variables and the grants they need are added together through the bind* methods.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, type StageName } from '#contracts/schemas';
import { ENTRY_METADATA_KEY, ROLE_METADATA_KEY, type StageStep } from '../metadata.ts';
import { acknowledge } from '../nag.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Wildcard actions of Bucket.grantRead/grantReadWrite that cdk-nag reports (IAM5). */
export const S3_OBJECT_ACTIONS = [
  's3:GetObject*',
  's3:GetBucket*',
  's3:List*',
  's3:DeleteObject*',
  's3:Abort*',
];

/** A grant of CDK's (read, write, readWrite), or exactly these `dynamodb:` actions. */
export type TableAccess = 'read' | 'write' | 'readWrite' | readonly `dynamodb:${string}`[];
export type BucketAccess = 'read' | 'readWrite';

export interface PipelineFunctionProps {
  /**
   * Handler module under functions/, without extension, e.g. `record-outcome`: it exports
   * `makeHandler` and `configFromEnv`; `<file>.lambda.ts` beside it is the Lambda entry.
   */
  readonly file: string;
  /** Powertools service name (logs, metrics, traces). */
  readonly serviceName: string;
  /**
   * The stage step this function is, for the local runtime's accounting (infra/metadata.ts).
   * @default none: orchestration
   */
  readonly role?: { readonly stage: StageName; readonly step: StageStep };
  /**
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Variables every invocation needs that come with no grant.
   * @default {}
   */
  readonly environment?: Record<string, string>;
  /**
   * Whether the handler depends on a native Node addon (`.node`), such as resvg. The bundle then
   * carries the build host's binary, so the function runs on the build host's architecture
   * (deploy from Linux with glibc, as Lambda has).
   * @default false
   */
  readonly nativeAddons?: boolean;
  /**
   * @default logs.RetentionDays.ONE_WEEK
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What `cdk destroy` does with the log group.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class PipelineFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly logGroup: logs.LogGroup;
  /** Repository-relative path of the handler module, e.g. `functions/record-outcome.ts`. */
  public readonly module: string;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    this.module = `functions/${props.file}.ts`;
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_WEEK,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(REPO_ROOT, `functions/${props.file}.lambda.ts`),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: props.nativeAddons ? hostArchitecture() : lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...props.environment,
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        platform: 'node',
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        // The SDK v3 ships with the runtime. CommonJS dependencies inside an ESM bundle need
        // `require` and `__dirname`; native addons are copied beside the bundle and loaded from there.
        externalModules: ['@aws-sdk/*'],
        loader: props.nativeAddons ? { '.node': 'copy' } : undefined,
        banner: [
          "import { createRequire } from 'node:module';",
          "import { fileURLToPath } from 'node:url';",
          "import { dirname } from 'node:path';",
          'const require = createRequire(import.meta.url);',
          'const __filename = fileURLToPath(import.meta.url);',
          'const __dirname = dirname(__filename);',
        ].join(' '),
      },
    });
    const cfn = this.function.node.defaultChild as lambda.CfnFunction;
    cfn.addMetadata(ENTRY_METADATA_KEY, this.module);
    if (props.role) cfn.addMetadata(ROLE_METADATA_KEY, `${props.role.stage}.${props.role.step}`);
    acknowledge(
      this.function,
      'AWSLambdaBasicExecutionRole only allows writing to CloudWatch Logs.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    );
    acknowledge(
      this.function,
      'Active tracing: X-Ray PutTraceSegments and PutTelemetryRecords take no resource scope.',
      'AwsSolutions-IAM5[Resource::*]',
    );
    acknowledge(
      this.function,
      'Pinned to Node.js 22, the runtime the handlers and their bundle target are tested on.',
      'AwsSolutions-L1',
    );
  }

  /** Sets a variable that needs no permission. */
  setEnv(name: string, value: string): this {
    this.function.addEnvironment(name, value);
    return this;
  }

  /** Passes the table name in `name` and grants exactly the access the handler needs on it. */
  bindTable(name: string, table: dynamodb.ITable, access: TableAccess): this {
    this.function.addEnvironment(name, table.tableName);
    if (typeof access !== 'string') table.grant(this.function, ...access);
    else if (access === 'read') table.grantReadData(this.function);
    else if (access === 'write') table.grantWriteData(this.function);
    else table.grantReadWriteData(this.function);
    return this;
  }

  /**
   * Passes the state machine ARN in `name`, allows starting its executions and describing them
   * (execution names are per request, so DescribeExecution covers this machine's executions).
   */
  bindStateMachine(name: string, stateMachine: sfn.StateMachine): this {
    this.function.addEnvironment(name, stateMachine.stateMachineArn);
    stateMachine.grantStartExecution(this.function);
    const stack = Stack.of(this);
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution'],
        resources: [
          `arn:${stack.partition}:states:${stack.region}:${stack.account}:execution:${stateMachine.stateMachineName}:*`,
        ],
      }),
    );
    const machine = `<${stack.getLogicalId(stateMachine.node.defaultChild as CfnElement)}.Name>`;
    acknowledge(
      this.function,
      'DescribeExecution covers the executions of this one state machine; their names are per request.',
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${machine}:*]`,
    );
    return this;
  }

  /** Passes the bucket name in `name` and grants access to objects under `prefix` only. */
  bindBucket(name: string, bucket: s3.IBucket, access: BucketAccess, prefix = 'runs/'): this {
    this.function.addEnvironment(name, bucket.bucketName);
    const objects = `${prefix}*`;
    if (access === 'read') bucket.grantRead(this.function, objects);
    else bucket.grantReadWrite(this.function, objects);
    acknowledge(
      this.function,
      `Payload objects have per-request keys, so access is scoped to the ${prefix} prefix.`,
      ...S3_OBJECT_ACTIONS.map((action) => `AwsSolutions-IAM5[Action::${action}]`),
      `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(bucket.node.defaultChild as CfnElement)}.Arn>/${objects}]`,
    );
    return this;
  }

  /** Passes the secret ARN in `name` and allows reading that secret's value. */
  bindSecret(name: string, secret: secretsmanager.ISecret): this {
    this.function.addEnvironment(name, secret.secretArn);
    secret.grantRead(this.function);
    return this;
  }

  /** Passes the bus name in `name` and allows PutEvents on that bus. */
  bindEventBus(name: string, bus: events.IEventBus): this {
    this.function.addEnvironment(name, bus.eventBusName);
    bus.grantPutEventsTo(this.function);
    return this;
  }
}

function hostArchitecture(): lambda.Architecture {
  return process.arch === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;
}
