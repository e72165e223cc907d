// Composition only: tables, payload bucket, handlers, GPU backend, the pipeline definition wrapped in
// the Standard state machine with its logs and alarms, and the REST API.
import { type CfnElement, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { MODEL_STORE_PREFIX, STAGES_WITH_MODELS } from '#contracts/model-store';
import { CONTAINER_STAGES, METRICS_NAMESPACE, PIPELINE_VERSION } from '#contracts/schemas';
import type { PipelineConfig } from '../config/environments.ts';
import { GenerationApi } from '../constructs/api.ts';
import { GpuBackend, stageTimeouts } from '../constructs/gpu-backend.ts';
import { ModelStore } from '../constructs/model-store.ts';
import { PayloadBucket } from '../constructs/payload-bucket.ts';
import { type HandlerName, PipelineDefinition } from '../constructs/pipeline-definition.ts';
import { PipelineFunction, type PipelineFunctionProps } from '../constructs/pipeline-function.ts';
import { PipelineTables } from '../constructs/tables.ts';
import { acknowledge } from '../nag.ts';

export interface PipelineStackProps extends StackProps {
  readonly config: PipelineConfig;
}

export class PipelineStack extends Stack {
  public readonly tables: PipelineTables;
  public readonly payloads: PayloadBucket;
  public readonly handlers: Record<HandlerName, PipelineFunction>;
  public readonly modelStore: ModelStore;
  public readonly gpu: GpuBackend;
  public readonly stateMachine: sfn.StateMachine;
  public readonly stateMachineLogs: logs.LogGroup;
  public readonly alarmTopic: sns.Topic;
  public readonly api: GenerationApi;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { config } = props;
    const namePrefix = `chat2svg-${config.envName}`;
    const removalPolicy = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    this.tables = new PipelineTables(this, 'Tables', {
      pointInTimeRecovery: config.pointInTimeRecovery,
      removalPolicy,
    });
    this.payloads = new PayloadBucket(this, 'Payloads', {
      expiryDays: config.payloadExpiryDays,
      removalPolicy,
    });
    // Weights outlive any one stack: kept on `cdk destroy` unless the environment keeps nothing.
    this.modelStore = new ModelStore(this, 'ModelStore', { removalPolicy });
    const { breakers, cache } = this.tables;
    const bucket = this.payloads.bucket;

    const fn = (id: string, file: string, extra: Partial<Omit<PipelineFunctionProps, 'file'>> = {}) =>
      new PipelineFunction(this, id, {
        file,
        // The handler's name, e.g. `generate-template` for template/generate.
        serviceName: file.replace(/\/handler$/, '').replace(/^template\/(\w+)$/, '$1-template'),
        logRetention,
        removalPolicy,
        environment: { PIPELINE_VERSION },
        ...extra,
      });
    const breakerEnv = {
      BREAKER_FAILURE_THRESHOLD: String(config.breaker.failureThreshold),
      BREAKER_WINDOW_SECONDS: String(config.breaker.windowSeconds),
      BREAKER_OPEN_SECONDS: String(config.breaker.openSeconds),
    };
    const withEnv = (f: PipelineFunction, env: Record<string, string>) => {
      for (const [name, value] of Object.entries(env)) f.setEnv(name, value);
      return f;
    };

    this.handlers = {
      normalize: fn('NormalizeRequest', 'normalize-request/handler'),
      assess: withEnv(fn('AssessResources', 'assess-resources/handler'), {
        ...breakerEnv,
        STAGE_CAPABILITIES: CONTAINER_STAGES.join(','),
        CHAT2SVG_LLM: config.llm.defaultProvider,
        TEMPLATE_TIMEOUT_SECONDS: String(config.stages.template.timeoutSeconds),
        DETAIL_TIMEOUT_SECONDS: String(config.stages.detail.timeoutSeconds),
        OPTIMIZE_TIMEOUT_SECONDS: String(config.stages.optimize.timeoutSeconds),
        // A stage whose weights are not published is skipped with that reason, before any GPU work.
        MODEL_STORE_PREFIX,
        MODEL_STAGES: STAGES_WITH_MODELS.join(','),
      })
        .bindTable('BREAKERS_TABLE', breakers, 'read')
        .bindBucket('MODEL_STORE_BUCKET', this.modelStore.bucket, 'read', MODEL_STORE_PREFIX),
      // resvg renders the template for the model's visual rectification rounds.
      generateTemplate: withEnv(
        fn('GenerateTemplate', 'template/generate', {
          role: { stage: 'template', step: 'run' },
          timeout: Duration.seconds(config.stages.template.timeoutSeconds),
          memorySize: 1024,
          nativeAddons: true,
        }),
        {
          CHAT2SVG_LLM: config.llm.defaultProvider,
          BEDROCK_MODEL_ID: config.llm.bedrockModelId,
          BEDROCK_LARGE_MODEL_ID: config.llm.bedrockLargeModelId,
        },
      ).bindBucket('PAYLOAD_BUCKET', bucket, 'readWrite'),
      composeTemplate: fn('ComposeTemplate', 'template/compose', {
        role: { stage: 'template', step: 'degrade' },
      }).bindBucket('PAYLOAD_BUCKET', bucket, 'readWrite'),
      prepareStageInput: fn('PrepareStageInput', 'prepare-stage-input').bindBucket(
        'PAYLOAD_BUCKET',
        bucket,
        'readWrite',
      ),
      recordOutcome: withEnv(fn('RecordOutcome', 'record-outcome'), breakerEnv).bindTable(
        'BREAKERS_TABLE',
        breakers,
        'readWrite',
      ),
      finalize: withEnv(
        fn('FinalizeResult', 'finalize-result/handler', { timeout: Duration.seconds(60), memorySize: 1024 }),
        {
          CACHE_TTL_SECONDS: String(config.cacheTtlSeconds),
        },
      )
        .bindTable('CACHE_TABLE', cache, 'write')
        .bindBucket('PAYLOAD_BUCKET', bucket, 'readWrite')
        .bindEventBus('EVENT_BUS_NAME', events.EventBus.fromEventBusName(this, 'DefaultBus', 'default')),
    };
    const bedrockModels = [config.llm.bedrockModelId, config.llm.bedrockLargeModelId].map(
      (model) => `arn:${this.partition}:bedrock:${this.region}::foundation-model/${model}`,
    );
    this.handlers.generateTemplate.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['bedrock:InvokeModel'], resources: bedrockModels }),
    );
    for (const [provider, arn] of Object.entries(config.llm.apiKeySecretArns)) {
      if (!arn) continue;
      this.handlers.generateTemplate.bindSecret(
        `${provider.toUpperCase()}_API_KEY_SECRET_ARN`,
        secretsmanager.Secret.fromSecretCompleteArn(this, `${provider}ApiKey`, arn),
      );
    }

    this.gpu = new GpuBackend(this, 'Gpu', {
      backend: config.gpu.backend,
      namePrefix,
      payloadBucket: bucket,
      modelStore: this.modelStore,
      coldStart: Duration.seconds(config.gpu.coldStartSeconds),
      timeouts: stageTimeouts({
        detail: config.stages.detail.timeoutSeconds,
        optimize: config.stages.optimize.timeoutSeconds,
      }),
      instanceType: config.gpu.instanceType,
      maxInstances: config.gpu.maxInstances,
      rootVolumeGiB: config.gpu.rootVolumeGiB,
      containerMemoryMiB: config.gpu.containerMemoryMiB,
      logRetention,
      removalPolicy,
    });

    const definition = new PipelineDefinition(this, 'Definition', {
      config,
      tables: this.tables,
      handlers: this.handlers,
      gpu: this.gpu,
    }).chain;
    this.stateMachineLogs = new logs.LogGroup(this, 'StateMachineLogs', {
      // The vendedlogs prefix keeps the CloudWatch Logs resource policy small.
      logGroupName: `/aws/vendedlogs/states/${namePrefix}-pipeline`,
      retention: logRetention,
      removalPolicy,
    });
    this.stateMachine = new sfn.StateMachine(this, 'Pipeline', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: Duration.seconds(config.executionTimeoutSeconds),
      tracingEnabled: true,
      logs: {
        destination: this.stateMachineLogs,
        level: sfn.LogLevel.ALL,
        includeExecutionData: config.logExecutionData,
      },
    });
    this.gpu.grantTaskResponse(this.stateMachine);
    // A cache hit ends in a Pass state, where no handler runs to count it; its log event does.
    this.stateMachineLogs.addMetricFilter('CacheHits', {
      metricNamespace: METRICS_NAMESPACE,
      metricName: 'CacheHit',
      filterPattern: logs.FilterPattern.all(
        logs.FilterPattern.stringValue('$.type', '=', 'PassStateEntered'),
        logs.FilterPattern.stringValue('$.details.name', '=', 'ReturnCached'),
      ),
      metricValue: '1',
    });

    this.alarmTopic = new sns.Topic(this, 'Alarms', { enforceSSL: true });
    acknowledge(
      this.alarmTopic,
      'CloudWatch alarm actions cannot publish to a topic under the AWS managed SNS key; the topic ' +
        'carries alarm state changes only.',
      'AwsSolutions-SNS2',
    );
    if (config.alarms.email) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(config.alarms.email));
    }
    const alarmOn = (id: string, metric: cloudwatch.Metric, what: string) =>
      new cloudwatch.Alarm(this, id, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `${namePrefix}: ${what}`,
      }).addAlarmAction(new cwActions.SnsAction(this.alarmTopic));
    const period = { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM };
    alarmOn('ExecutionsFailed', this.stateMachine.metricFailed(period), 'pipeline executions failed');
    alarmOn('ExecutionsTimedOut', this.stateMachine.metricTimedOut(period), 'pipeline executions timed out');
    alarmOn('ExecutionsAborted', this.stateMachine.metricAborted(period), 'pipeline executions aborted');

    this.api = new GenerationApi(this, 'Api', {
      stateMachine: this.stateMachine,
      rateLimit: config.api.rateLimit,
      burstLimit: config.api.burstLimit,
      logRetention,
      removalPolicy,
    });

    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn });
    new CfnOutput(this, 'ApiUrl', { value: this.api.api.urlForPath('/v1/generations') });
    new CfnOutput(this, 'PayloadBucketName', { value: bucket.bucketName });
    new CfnOutput(this, 'BreakersTableName', { value: breakers.tableName });
    new CfnOutput(this, 'CacheTableName', { value: cache.tableName });
    new CfnOutput(this, 'ModelStoreBucketName', { value: this.modelStore.bucket.bucketName });
    new CfnOutput(this, 'GpuBackend', { value: this.gpu.name });
    if (this.gpu.ecsCapacity) {
      new CfnOutput(this, 'GpuClusterName', { value: this.gpu.ecsCapacity.cluster.clusterName });
    }
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });

    acknowledge(
      this.stateMachine,
      'Generated by CDK: X-Ray and log delivery actions have no resource scope; the Lambda invoke ' +
        'wildcard covers versions and aliases of the pipeline functions only, the RunTask one (task ' +
        'backend) the revisions of the two stage task definitions.',
      'AwsSolutions-IAM5[Resource::*]',
      ...this.gpu.runTaskGrantFindings(),
      ...Object.values(this.handlers).map(
        (handler) =>
          `AwsSolutions-IAM5[Resource::<${this.getLogicalId(handler.function.node.defaultChild as CfnElement)}.Arn>:*]`,
      ),
    );
    if (!config.pointInTimeRecovery) {
      acknowledge(
        this.tables,
        `No point-in-time recovery in ${config.envName}: breaker state is transient and the cache can be rebuilt.`,
        'AwsSolutions-DDB3',
      );
    }
    acknowledge(
      this.payloads,
      'Intermediate payloads only, expiring within days and reached only through this stack’s roles; ' +
        'CloudTrail data events cover auditing where an account needs it.',
      'AwsSolutions-S1',
    );
  }
}
