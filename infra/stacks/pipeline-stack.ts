// Composition only: tables, payload bucket, handlers, GPU backend and its load publisher, the
// pipeline definition wrapped in the Standard state machine with its logs and alarms, and the REST
// API with its front door.
import { type CfnElement, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { breakerEnvironment, stageTimeoutEnvironment } from '#breaker/settings';
import { MODEL_STORE_PREFIX, STAGES_WITH_MODELS } from '#contracts/model-store';
import { CONTAINER_STAGES, METRICS_NAMESPACE, PIPELINE_VERSION } from '#contracts/schemas';
import { type PipelineConfig, stageTimeouts } from '../config/environments.ts';
import { PipelineAlarms } from '../constructs/alarms.ts';
import { GenerationApi } from '../constructs/api.ts';
import { GpuBackend, stageDurations } from '../constructs/gpu-backend.ts';
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
  public readonly alarms: PipelineAlarms;
  public readonly api: GenerationApi;
  /** Writes the GPU backend's load per stage to the signals table, every minute. */
  public readonly publishLoad: PipelineFunction;
  /** POST /v1/generations: admission, Idempotency-Key, StartExecution. */
  public readonly startGeneration: PipelineFunction;

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
    const { breakers, cache, signals } = this.tables;
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
    const defaultBus = events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    const withEnv = (f: PipelineFunction, env: Record<string, string>) => {
      for (const [name, value] of Object.entries(env)) f.setEnv(name, value);
      return f;
    };

    this.handlers = {
      normalize: fn('NormalizeRequest', 'normalize-request/handler'),
      assess: withEnv(fn('AssessResources', 'assess-resources/handler'), {
        STAGE_CAPABILITIES: CONTAINER_STAGES.join(','),
        CHAT2SVG_LLM: config.llm.defaultProvider,
        // A stage whose weights are not published is skipped with that reason, before any GPU work.
        MODEL_STORE_PREFIX,
        MODEL_STAGES: STAGES_WITH_MODELS.join(','),
        DEFAULT_DEADLINE_SECONDS: String(config.admission.defaultDeadlineSeconds),
        ADMISSION_OVERLOAD: config.admission.overload,
        // Their sum over the planned stages bounds an in-flight claim (plan.claimUntil).
        ...stageTimeoutEnvironment(stageTimeouts(config)),
      })
        .bindTable('BREAKERS_TABLE', breakers, 'read')
        .bindTable('SIGNALS_TABLE', signals, 'read')
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
      recordOutcome: withEnv(fn('RecordOutcome', 'record-outcome'), breakerEnvironment(config.breaker))
        .bindTable('BREAKERS_TABLE', breakers, 'readWrite')
        // GPU stage durations roll into the service windows (read, then a versioned put).
        .bindTable('SIGNALS_TABLE', signals, ['dynamodb:GetItem', 'dynamodb:PutItem'])
        .bindEventBus('EVENT_BUS_NAME', defaultBus),
      takeProbe: withEnv(fn('TakeProbe', 'take-probe'), stageTimeoutEnvironment(stageTimeouts(config)))
        .bindTable('BREAKERS_TABLE', breakers, 'readWrite')
        .bindEventBus('EVENT_BUS_NAME', defaultBus),
      executionEnded: fn('ExecutionEnded', 'execution-ended')
        .bindTable('BREAKERS_TABLE', breakers, 'readWrite')
        .bindEventBus('EVENT_BUS_NAME', defaultBus),
      finalize: withEnv(
        fn('FinalizeResult', 'finalize-result/handler', { timeout: Duration.seconds(60), memorySize: 1024 }),
        {
          CACHE_TTL_SECONDS: String(config.cacheTtlSeconds),
        },
      )
        .bindTable('CACHE_TABLE', cache, 'write')
        .bindBucket('PAYLOAD_BUCKET', bucket, 'readWrite')
        .bindEventBus('EVENT_BUS_NAME', defaultBus),
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
      timeouts: stageDurations(stageTimeouts(config)),
      instanceType: config.gpu.instanceType,
      maxInstances: config.gpu.maxInstances,
      rootVolumeGiB: config.gpu.rootVolumeGiB,
      containerMemoryMiB: config.gpu.containerMemoryMiB,
      logRetention,
      removalPolicy,
    });

    // The backend's queues, tasks or jobs per stage, published as load for admission and assessment.
    this.publishLoad = fn('PublishLoad', 'publish-load/handler').bindTable('SIGNALS_TABLE', signals, [
      'dynamodb:BatchGetItem',
      'dynamodb:PutItem',
    ]);
    this.gpu.bindLoadReader(this.publishLoad.function);
    new events.Rule(this, 'PublishLoadSchedule', {
      description: `${namePrefix}: GPU load per stage into the signals table`,
      schedule: events.Schedule.rate(Duration.minutes(1)),
      // A missed minute is replaced by the next one; load older than two minutes is ignored anyway.
      targets: [new eventTargets.LambdaFunction(this.publishLoad.function, { retryAttempts: 0 })],
    });

    const definition = new PipelineDefinition(this, 'Definition', {
      config,
      tables: this.tables,
      handlers: this.handlers,
      gpu: this.gpu,
      eventBus: defaultBus,
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
    // An execution that ends abnormally gives back its probe leases and is announced as failed.
    new events.Rule(this, 'ExecutionEndedRule', {
      description: `${namePrefix}: executions that end FAILED, TIMED_OUT or ABORTED`,
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [this.stateMachine.stateMachineArn],
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
      targets: [new eventTargets.LambdaFunction(this.handlers.executionEnded.function, { retryAttempts: 8 })],
    });
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

    this.startGeneration = withEnv(
      fn('StartGeneration', 'start-generation/handler', { timeout: Duration.seconds(10) }),
      {
        STAGE_CAPABILITIES: CONTAINER_STAGES.join(','),
        DEFAULT_DEADLINE_SECONDS: String(config.admission.defaultDeadlineSeconds),
        ADMISSION_OVERLOAD: config.admission.overload,
        CORS_ORIGINS: config.api.corsOrigins.join(','),
      },
    )
      // Reads the load, writes the tier it allocates (allocation#<execution name>) for Assess.
      .bindTable('SIGNALS_TABLE', signals, ['dynamodb:BatchGetItem', 'dynamodb:PutItem'])
      // A repeat (a cached result or a live in-flight claim on its key) is taken without admission.
      .bindTable('CACHE_TABLE', cache, ['dynamodb:GetItem'])
      .bindStateMachine('STATE_MACHINE_ARN', this.stateMachine);

    this.api = new GenerationApi(this, 'Api', {
      stateMachine: this.stateMachine,
      startFunction: this.startGeneration.function,
      rateLimit: config.api.rateLimit,
      burstLimit: config.api.burstLimit,
      corsOrigins: config.api.corsOrigins,
      logRetention,
      removalPolicy,
    });

    this.alarms = new PipelineAlarms(this, 'Alarms', {
      namePrefix,
      email: config.alarms.email,
      degradedPercent: config.degradedAlarmPercent,
      stateMachine: this.stateMachine,
      functions: [...Object.values(this.handlers), this.publishLoad, this.startGeneration].map(
        (handler) => handler.function,
      ),
      api: this.api.api,
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
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn });

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
