// CDK assertions on the dev stack: one behaviour per test, synthesized once (bundling off).
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPipelineApp } from '#infra/app';
import {
  actionsOf,
  functionIdFor,
  grantsOf,
  logicalIdOf,
  type Resource,
  resources,
} from './template-helpers.ts';

const HANDLER_FILES = [
  'normalize-request/handler',
  'assess-resources/handler',
  'template/generate',
  'template/compose',
  'prepare-stage-input',
  'record-outcome',
  'take-probe',
  'execution-ended',
  'finalize-result/handler',
  'publish-load/handler',
  'start-generation/handler',
];

let template: Template;
let app: ReturnType<typeof createPipelineApp>['app'];
let breakersId: string;
let cacheId: string;
let signalsId: string;
let bucketId: string;

beforeAll(() => {
  const pipeline = createPipelineApp({ envName: 'dev', bundling: false });
  app = pipeline.app;
  template = Template.fromStack(pipeline.stack);
  const keyed = (name: string) => (table: Resource) =>
    table.Properties?.KeySchema?.[0]?.AttributeName === name;
  breakersId = logicalIdOf(template, 'AWS::DynamoDB::Table', keyed('stage'));
  cacheId = logicalIdOf(template, 'AWS::DynamoDB::Table', keyed('cacheKey'));
  signalsId = logicalIdOf(template, 'AWS::DynamoDB::Table', keyed('name'));
  bucketId = logicalIdOf(template, 'AWS::S3::Bucket', () => true);
});

describe('environment', () => {
  it('pins no account or region, so synth needs no AWS credentials', () => {
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/\b\d{12}\b/);
    expect(text).not.toMatch(
      /\b(us|eu|ap|sa|ca|me|af)-(north|south|east|west|central|northeast|southeast)-\d\b/,
    );
    expect(text).toContain('{"Ref":"AWS::Region"}');
  });
});

describe('tables', () => {
  it('keys the breakers table by stage, on demand and encrypted', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'stage', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'stage', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('keys the cache table by cacheKey and expires items through the expiresAt TTL', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'cacheKey', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('has no point-in-time recovery in dev', () => {
    for (const [, table] of resources(template, 'AWS::DynamoDB::Table')) {
      expect(table.Properties?.PointInTimeRecoverySpecification).toEqual({
        PointInTimeRecoveryEnabled: false,
      });
    }
  });
});

describe('payload bucket', () => {
  it('is encrypted, blocks public access and expires objects under runs/', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ Prefix: 'runs/', ExpirationInDays: 3, Status: 'Enabled' })],
      },
    });
  });

  it('denies requests without TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });
});

describe('functions', () => {
  it('maps every handler file to one function through chat2svg:entry metadata', () => {
    const entries = resources(template, 'AWS::Lambda::Function').map(
      ([, fn]) => fn.Metadata?.['chat2svg:entry'],
    );
    expect(entries.sort()).toEqual(HANDLER_FILES.map((file) => `functions/${file}.ts`).sort());
  });

  it('runs the handlers on Node.js 22 with their own log group', () => {
    for (const file of HANDLER_FILES) {
      const fn = template.findResources('AWS::Lambda::Function')[functionIdFor(template, file)];
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.LoggingConfig.LogGroup).toEqual({ Ref: expect.stringMatching(/Logs/) });
    }
  });

  it('traces every handler actively and names its Powertools service and metrics namespace', () => {
    for (const file of HANDLER_FILES) {
      const fn = template.findResources('AWS::Lambda::Function')[functionIdFor(template, file)];
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect(fn.Properties.Environment.Variables).toMatchObject({
        POWERTOOLS_SERVICE_NAME: expect.any(String),
        POWERTOOLS_METRICS_NAMESPACE: 'chat2svg',
      });
    }
  });

  it('tags the template stage steps by role, for the local runtime', () => {
    const role = (file: string) =>
      template.findResources('AWS::Lambda::Function')[functionIdFor(template, file)].Metadata[
        'chat2svg:role'
      ];
    expect(role('template/generate')).toBe('template.run');
    expect(role('template/compose')).toBe('template.degrade');
    expect(role('finalize-result/handler')).toBeUndefined();
  });

  it('counts cache hits from the state machine log, where no handler runs', () => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: Match.stringLikeRegexp('ReturnCached'),
      MetricTransformations: [Match.objectLike({ MetricNamespace: 'chat2svg', MetricName: 'CacheHit' })],
    });
  });

  it('runs handlers without native addons on arm64', () => {
    for (const file of HANDLER_FILES.filter((f) => f !== 'template/generate')) {
      const fn = template.findResources('AWS::Lambda::Function')[functionIdFor(template, file)];
      expect(fn.Properties.Architectures).toEqual(['arm64']);
    }
  });

  it('gives normalize-request no DynamoDB, S3 or EventBridge rights', () => {
    const actions = actionsOf(template, 'normalize-request/handler');
    expect(actions.filter((a) => /^(dynamodb|s3|events):/.test(a))).toEqual([]);
  });

  it.each(['record-outcome', 'take-probe', 'execution-ended'])(
    'gives %s the breakers table and events, nothing else',
    (file) => {
      const grants = grantsOf(template, file).filter(
        (grant) =>
          grant.actions.some((a) => a.startsWith('dynamodb:')) && !grant.resources.includes(signalsId),
      );
      expect(grants.length).toBeGreaterThan(0);
      for (const grant of grants) {
        expect(grant.resources).toContain(breakersId);
        expect(grant.resources).not.toContain(cacheId);
      }
      const actions = actionsOf(template, file);
      expect(actions).toEqual(expect.arrayContaining(['dynamodb:UpdateItem', 'events:PutEvents']));
      expect(actions.filter((a) => /^s3:/.test(a))).toEqual([]);
    },
  );

  it('lets record-outcome read and put the signals table’s items, and only that there', () => {
    const onSignals = grantsOf(template, 'record-outcome').filter((g) => g.resources.includes(signalsId));
    expect(onSignals.flatMap((g) => g.actions).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    expect(
      template.findResources('AWS::Lambda::Function')[functionIdFor(template, 'record-outcome')].Properties
        .Environment.Variables,
    ).toMatchObject({ SIGNALS_TABLE: { Ref: signalsId } });
  });

  it('lets assess-resources read the breakers table and the model manifests, and nothing else', () => {
    const grants = grantsOf(template, 'assess-resources/handler');
    const actions = grants.flatMap((g) => g.actions);
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:BatchGetItem', 'dynamodb:GetItem']));
    expect(actions.filter((a) => /(Put|Update|Delete)(Item|Object)|^events:/.test(a))).toEqual([]);
    for (const grant of grants) {
      if (grant.actions.some((a) => a.startsWith('s3:'))) expect(grant.resources).not.toContain(bucketId);
      else expect(grant.resources).toContain(breakersId);
    }
  });

  it('lets finalize-result write the cache table, use the bucket under runs/ and put events', () => {
    const grants = grantsOf(template, 'finalize-result/handler');
    const on = (id: string) => grants.filter((g) => g.resources.includes(id)).flatMap((g) => g.actions);
    expect(on(cacheId)).toEqual(expect.arrayContaining(['dynamodb:PutItem']));
    expect(on(breakersId)).toEqual([]);
    expect(on(bucketId)).toEqual(expect.arrayContaining(['s3:PutObject']));
    expect(
      grants.filter((g) => g.resources.includes(bucketId) && g.actions.includes('s3:PutObject')),
    ).toEqual([expect.objectContaining({ resources: expect.stringContaining('/runs/*') })]);
    expect(grants.flatMap((g) => g.actions)).toContain('events:PutEvents');
  });

  it('passes each table and bucket name in the environment variable the handler reads', () => {
    const env = (file: string) =>
      template.findResources('AWS::Lambda::Function')[functionIdFor(template, file)].Properties.Environment
        .Variables;
    expect(env('record-outcome')).toMatchObject({
      BREAKERS_TABLE: { Ref: breakersId },
      BREAKER_FAILURE_RATE_PERCENT: '50',
      BREAKER_MINIMUM_CALLS: '5',
      BREAKER_WINDOW_SECONDS: '60',
      BREAKER_OPEN_SECONDS: '30',
    });
    expect(env('take-probe')).toMatchObject({
      BREAKERS_TABLE: { Ref: breakersId },
      TEMPLATE_TIMEOUT_SECONDS: '120',
      DETAIL_TIMEOUT_SECONDS: '900',
      OPTIMIZE_TIMEOUT_SECONDS: '600',
    });
    expect(env('finalize-result/handler')).toMatchObject({
      CACHE_TABLE: { Ref: cacheId },
      PAYLOAD_BUCKET: { Ref: bucketId },
      EVENT_BUS_NAME: 'default',
    });
    expect(env('assess-resources/handler')).toMatchObject({
      STAGE_CAPABILITIES: 'detail,optimize',
      BREAKERS_TABLE: { Ref: breakersId },
    });
    expect(env('normalize-request/handler')).not.toHaveProperty('BREAKERS_TABLE');
  });
});

describe('GPU backend', () => {
  it('scales the GPU instances between zero and the configured maximum', () => {
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '0', MaxSize: '2' });
    template.hasResourceProperties('AWS::ECS::CapacityProvider', {
      AutoScalingGroupProvider: {
        ManagedScaling: Match.objectLike({ Status: 'ENABLED', TargetCapacity: 100 }),
      },
    });
  });

  it('uses the ECS GPU AMI through an SSM parameter resolved at deploy time', () => {
    const parameters = Object.values(template.toJSON().Parameters ?? {}) as {
      Type: string;
      Default: string;
    }[];
    expect(parameters).toContainEqual(
      expect.objectContaining({
        Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>',
        Default: expect.stringContaining('amazon-linux-2/gpu'),
      }),
    );
  });

  it.each(['detail', 'optimize'])(
    'defines the %s task with one GPU, container "stage" and stage metadata',
    (stage) => {
      template.hasResource('AWS::ECS::TaskDefinition', {
        Metadata: Match.objectLike({ 'chat2svg:stage': stage }),
        Properties: Match.objectLike({
          Family: `chat2svg-dev-${stage}`,
          ContainerDefinitions: [
            Match.objectLike({ Name: 'stage', ResourceRequirements: [{ Type: 'GPU', Value: '1' }] }),
          ],
        }),
      });
    },
  );

  it('lets stage tasks answer the task token of the pipeline only', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['states:SendTaskFailure', 'states:SendTaskHeartbeat', 'states:SendTaskSuccess'],
            Resource: { Ref: Match.stringLikeRegexp('^Pipeline') },
          }),
        ]),
      },
    });
  });
});

describe('state machine', () => {
  it('is a Standard workflow that logs everything to a vended log group and traces', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: Match.stringLikeRegexp('^/aws/vendedlogs/states/'),
    });
  });

  it.each(['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted'])('alarms on %s', (metric) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: metric,
      Namespace: 'AWS/States',
      Threshold: 1,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }],
    });
  });

  it.each(['BreakerOpened', 'DegradedRate', 'LambdaErrors', 'Api5xx'])('has the %s alarm', (name) => {
    const alarms = template.findResources('AWS::CloudWatch::Alarm');
    expect(Object.keys(alarms).some((id) => id.startsWith(`Alarms${name}`))).toBe(true);
  });

  it('counts breaker openings from the pipeline’s own events', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['chat2svg'],
        'detail-type': ['Breaker State Changed'],
        detail: { to: ['OPEN'] },
      },
    });
  });

  it('sends executions that end abnormally to execution-ended', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        source: ['aws.states'],
        detail: Match.objectLike({ status: ['FAILED', 'TIMED_OUT', 'ABORTED'] }),
      }),
      Targets: [
        Match.objectLike({ Arn: { 'Fn::GetAtt': [functionIdFor(template, 'execution-ended'), 'Arn'] } }),
      ],
    });
  });
});

describe('API', () => {
  it('sends POST /v1/generations to start-generation with a validated body and IAM auth', () => {
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      AuthorizationType: 'AWS_IAM',
      RequestValidatorId: Match.anyValue(),
      RequestModels: { 'application/json': Match.anyValue() },
      Integration: Match.objectLike({
        Type: 'AWS_PROXY',
        Uri: {
          'Fn::Join': [
            '',
            Match.arrayWith([{ 'Fn::GetAtt': [functionIdFor(template, 'start-generation/handler'), 'Arn'] }]),
          ],
        },
      }),
    });
  });

  it('answers POST with 202, 400, 409, 422, 429 with Retry-After, or 500', () => {
    const post = resources(template, 'AWS::ApiGateway::Method').find(
      ([, method]) => method.Properties?.HttpMethod === 'POST',
    )?.[1];
    expect(
      ((post?.Properties?.MethodResponses ?? []) as { StatusCode: string }[]).map((r) => r.StatusCode),
    ).toEqual(['202', '400', '409', '422', '429', '500']);
    expect(post?.Properties?.MethodResponses).toContainEqual({
      StatusCode: '429',
      ResponseParameters: { 'method.response.header.Retry-After': true },
    });
  });

  it('gives start-generation the admission settings, the signals table, a read of the cache and the state machine', () => {
    const env =
      template.findResources('AWS::Lambda::Function')[functionIdFor(template, 'start-generation/handler')]
        .Properties.Environment.Variables;
    expect(env).toMatchObject({
      SIGNALS_TABLE: { Ref: signalsId },
      CACHE_TABLE: { Ref: cacheId },
      STATE_MACHINE_ARN: { Ref: expect.stringMatching(/^Pipeline/) },
      STAGE_CAPABILITIES: 'detail,optimize',
      DEFAULT_DEADLINE_SECONDS: '900',
      ADMISSION_OVERLOAD: 'low',
      CORS_ORIGINS: 'http://localhost:5173,http://127.0.0.1:5173',
    });
    const grants = grantsOf(template, 'start-generation/handler');
    expect(
      grants
        .filter((g) => g.resources.includes(signalsId))
        .flatMap((g) => g.actions)
        .sort(),
    ).toEqual(['dynamodb:BatchGetItem', 'dynamodb:PutItem']);
    expect(grants.filter((g) => g.resources.includes(cacheId)).flatMap((g) => g.actions)).toEqual([
      'dynamodb:GetItem',
    ]);
    expect(grants.flatMap((g) => g.actions).sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'states:DescribeExecution',
      'states:StartExecution',
    ]);
  });

  it('answers CORS preflight without auth for the environment’s origins, Idempotency-Key allowed', () => {
    const options = resources(template, 'AWS::ApiGateway::Method').filter(
      ([, method]) => method.Properties?.HttpMethod === 'OPTIONS',
    );
    expect(options.length).toBeGreaterThan(0);
    for (const [, method] of options) {
      expect(method.Properties?.AuthorizationType).toBe('NONE');
      const headers = JSON.stringify(method.Properties?.Integration.IntegrationResponses);
      expect(headers).toContain('Idempotency-Key');
    }
  });

  it('describes executions from GET /v1/generations/{id}', () => {
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      AuthorizationType: 'AWS_IAM',
      RequestParameters: { 'method.request.path.id': true },
      Integration: Match.objectLike({
        Uri: {
          'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('states:action/DescribeExecution')])],
        },
      }),
    });
  });

  it('throttles the stage and writes access logs', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          ThrottlingRateLimit: 5,
          ThrottlingBurstLimit: 10,
          HttpMethod: '*',
          ResourcePath: '/*',
        }),
      ]),
    });
  });

  it('rejects requests that break the GenerationRequest contract before they reach Step Functions', () => {
    template.hasResourceProperties('AWS::ApiGateway::Model', {
      Schema: Match.objectLike({
        required: ['prompt'],
        additionalProperties: false,
        properties: Match.objectLike({
          prompt: Match.objectLike({ type: 'string', pattern: Match.anyValue() }),
        }),
      }),
    });
  });
});

describe('cdk-nag', () => {
  it('passes the AwsSolutions checks, every exception acknowledged with a reason', () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath ?? r.resourceLogicalId}`),
    );
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });
});
