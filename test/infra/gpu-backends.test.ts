// The three GPU backends, each synthesized for prod the way `cdk synth -c env=prod -c gpuBackend=…`
// chooses it: what each creates, what every worker receives, and the callback task it gives the
// pipeline definition.
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { MODEL_STORE_ENV } from '#contracts/model-store';
import { GPU_BACKENDS, type GpuBackendName } from '#contracts/transports';
import { backlogSourceFromEnv } from '#functions/publish-load/environment';
import { createPipelineApp } from '#infra/app';
import { loadConfig } from '#infra/config/environments';
import { type AslState, resolveDefinition, synthesizePipeline } from '#infra/definition';
import { functionIdFor, grantsOf, resources } from './template-helpers.ts';

const prod = loadConfig('prod');
const synthesized = new Map<GpuBackendName, ReturnType<typeof createPipelineApp>>();
function pipelineFor(gpuBackend: GpuBackendName) {
  let pipeline = synthesized.get(gpuBackend);
  if (!pipeline) {
    pipeline = createPipelineApp({ bundling: false, context: { env: 'prod', gpuBackend } });
    synthesized.set(gpuBackend, pipeline);
  }
  return pipeline;
}
const templateFor = (gpuBackend: GpuBackendName) => Template.fromStack(pipelineFor(gpuBackend).stack);
function runState(gpuBackend: GpuBackendName, stage: string): AslState {
  const pipeline = synthesizePipeline({ bundling: false, context: { env: 'prod', gpuBackend } });
  const state = resolveDefinition(pipeline).States[`${stage}.Run`];
  if (!state) throw new Error(`no ${stage}.Run`);
  return state;
}

describe('GPU backend choice', () => {
  it('runs warm pools in staging and prod, and one task per request in dev', () => {
    expect(loadConfig('dev').gpu.backend).toBe('task');
    expect(loadConfig('staging').gpu.backend).toBe('pool');
    expect(prod.gpu.backend).toBe('pool');
  });

  it('takes -c gpuBackend over the environment and refuses an unknown one', () => {
    expect(loadConfig('prod', { gpuBackend: 'batch' }).gpu.backend).toBe('batch');
    expect(() => loadConfig('prod', { gpuBackend: 'lambda' })).toThrow(/unknown GPU backend "lambda"/);
  });
});

describe.each(GPU_BACKENDS)('the %s backend', (backend) => {
  it('passes the AwsSolutions checks', () => {
    const { app } = pipelineFor(backend);
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });

  it('gives every GPU task or job definition the model store location and a read grant', () => {
    const template = templateFor(backend);
    const storeBucket = resources(template, 'AWS::S3::Bucket').find(
      ([, bucket]) => bucket.Properties?.VersioningConfiguration?.Status === 'Enabled',
    )?.[0];
    const environments =
      backend === 'batch'
        ? resources(template, 'AWS::Batch::JobDefinition').map(
            ([, job]) => job.Properties?.ContainerProperties.Environment,
          )
        : resources(template, 'AWS::ECS::TaskDefinition').map(
            ([, task]) => task.Properties?.ContainerDefinitions[0].Environment,
          );
    expect(environments).toHaveLength(2);
    for (const environment of environments) {
      const store = environment.find((variable: { Name: string }) => variable.Name === MODEL_STORE_ENV);
      expect(JSON.stringify(store.Value)).toContain(storeBucket);
      expect(JSON.stringify(store.Value)).toContain('/models/');
    }
  });

  it('runs publish-load every minute', () => {
    const template = templateFor(backend);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({ Arn: { 'Fn::GetAtt': [functionIdFor(template, 'publish-load/handler'), 'Arn'] } }),
      ],
    });
  });

  it('tells publish-load where this backend’s backlog is, in variables its handler reads', () => {
    const template = templateFor(backend);
    const env = template.findResources('AWS::Lambda::Function')[
      functionIdFor(template, 'publish-load/handler')
    ].Properties.Environment.Variables as Record<string, unknown>;
    const source = backlogSourceFromEnv(
      Object.fromEntries(
        Object.entries(env).map(([name, value]) => [
          name,
          typeof value === 'string' ? value : JSON.stringify(value),
        ]),
      ),
    );
    expect(source.backend).toBe(backend);
    expect(env.SIGNALS_TABLE).toEqual({ Ref: expect.stringMatching(/Signals/) });
  });

  it('lets publish-load read the backlog and put signal items, nothing more', () => {
    const template = templateFor(backend);
    const grants = grantsOf(template, 'publish-load/handler');
    const expected = {
      pool: ['ecs:DescribeServices', 'sqs:GetQueueAttributes'],
      task: ['ecs:DescribeTasks', 'ecs:ListTasks'],
      batch: ['batch:ListJobs'],
    }[backend];
    // Active tracing's X-Ray actions share the unscoped statement with ListJobs.
    const actions = new Set(grants.flatMap((g) => g.actions).filter((a) => !a.startsWith('xray:')));
    expect([...actions].sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:PutItem', ...expected].sort());
    for (const grant of grants.filter((g) => g.actions.some((a) => a.startsWith('dynamodb:'))))
      expect(grant.resources).toMatch(/Signals/);
    if (backend === 'task') {
      const list = template
        .toJSON()
        .Resources[
          Object.keys(template.findResources('AWS::IAM::Policy')).find((id) =>
            id.startsWith('PublishLoad'),
          ) ?? ''
        ].Properties.PolicyDocument.Statement.find(
          (statement: { Action: unknown }) => statement.Action === 'ecs:ListTasks',
        );
      expect(list.Condition).toEqual({ ArnEquals: { 'ecs:cluster': expect.anything() } });
    }
  });

  it('allows a cold start before the first heartbeat is due', () => {
    for (const stage of ['detail', 'optimize'] as const) {
      expect(runState(backend, stage)).toMatchObject({
        HeartbeatSeconds: prod.gpu.coldStartSeconds + prod.stages[stage].heartbeatSeconds,
        TimeoutSeconds: prod.stages[stage].timeoutSeconds,
      });
    }
  });
});

describe('the pool backend', () => {
  it('scales each stage’s workers on queue depth from 0 to the environment maximum', () => {
    const template = templateFor('pool');
    const targets = resources(template, 'AWS::ApplicationAutoScaling::ScalableTarget');
    expect(targets).toHaveLength(2);
    for (const [, target] of targets) {
      expect(target.Properties).toMatchObject({ MinCapacity: 0, MaxCapacity: prod.gpu.maxInstances });
    }
    template.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
      },
      2,
    );
    template.resourcePropertiesCountIs(
      'AWS::ApplicationAutoScaling::ScalingPolicy',
      { PolicyType: 'StepScaling' },
      4,
    );
    // Only the backlog scales: no CPU target tracking that could stop a busy GPU worker.
    template.resourcePropertiesCountIs(
      'AWS::ApplicationAutoScaling::ScalingPolicy',
      { PolicyType: 'TargetTrackingScaling' },
      0,
    );
  });

  it('lets a worker protect its own task from scale-in', () => {
    templateFor('pool').hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['ecs:GetTaskProtection', 'ecs:UpdateTaskProtection']),
          }),
        ]),
      },
    });
  });

  it('keeps a taken message invisible for the stage timeout', () => {
    const template = templateFor('pool');
    for (const stage of ['detail', 'optimize'] as const) {
      template.hasResourceProperties('AWS::SQS::Queue', {
        VisibilityTimeout: prod.stages[stage].timeoutSeconds,
        RedrivePolicy: Match.objectLike({ maxReceiveCount: 2 }),
      });
    }
  });

  it('sends the input and the task token as the message body', () => {
    expect(runState('pool', 'detail')).toMatchObject({
      Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
      Parameters: { MessageBody: { 'input.$': '$.gate.input.ref', 'taskToken.$': '$$.Task.Token' } },
    });
  });
});

describe('the batch backend', () => {
  it('has a job queue on a GPU compute environment that scales from zero', () => {
    const template = templateFor('batch');
    template.resourceCountIs('AWS::Batch::JobQueue', 1);
    template.hasResourceProperties('AWS::Batch::ComputeEnvironment', {
      Type: 'managed',
      ComputeResources: Match.objectLike({
        MinvCpus: 0,
        MaxvCpus: prod.gpu.maxInstances * 4,
        InstanceTypes: [prod.gpu.instanceType],
        Ec2Configuration: [{ ImageType: 'ECS_AL2_NVIDIA' }],
      }),
    });
    for (const [, job] of resources(template, 'AWS::Batch::JobDefinition')) {
      expect(job.Properties?.ContainerProperties.ResourceRequirements).toContainEqual({
        Type: 'GPU',
        Value: '1',
      });
    }
  });

  it('submits the job through the SDK integration with a task token in its overrides', () => {
    expect(runState('batch', 'optimize')).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:batch:submitJob.waitForTaskToken',
      Parameters: {
        ContainerOverrides: {
          Environment: [
            { Name: 'STAGE_INPUT', 'Value.$': 'States.JsonToString($.gate.input.ref)' },
            { Name: 'SFN_TASK_TOKEN', 'Value.$': '$$.Task.Token' },
          ],
        },
      },
    });
  });
});
