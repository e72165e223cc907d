// The prod environment, chosen the way `cdk synth -c env=prod` chooses it (context), synthesized once.
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPipelineApp, stackNameFor } from '#infra/app';
import { loadConfig } from '#infra/config/environments';
import { functionIdFor, resources } from './template-helpers.ts';

let pipeline: ReturnType<typeof createPipelineApp>;
let template: Template;

beforeAll(() => {
  pipeline = createPipelineApp({ bundling: false, context: { env: 'prod' } });
  template = Template.fromStack(pipeline.stack);
});

describe('prod stack', () => {
  it('takes the environment from the env context value', () => {
    expect(pipeline.config.envName).toBe('prod');
    expect(pipeline.stack.stackName).toBe(stackNameFor('prod'));
  });

  it('turns point-in-time recovery on for every table', () => {
    const tables = resources(template, 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(3);
    for (const [, table] of tables) {
      expect(table.Properties?.PointInTimeRecoverySpecification).toEqual({
        PointInTimeRecoveryEnabled: true,
      });
    }
  });

  it('retains tables and the payload bucket on stack deletion', () => {
    template.allResources('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    template.allResources('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
  });

  it('keeps prompts out of the state machine logs', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: Match.objectLike({ IncludeExecutionData: false, Level: 'ALL' }),
    });
  });

  it('defaults the template provider to Bedrock and may invoke only the configured models', () => {
    const fnId = functionIdFor(template, 'template/generate');
    const fn = template.findResources('AWS::Lambda::Function')[fnId];
    expect(fn.Properties.Environment.Variables.CHAT2SVG_LLM).toBe('bedrock');
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'bedrock:InvokeModel',
            Resource: Match.arrayWith([
              {
                'Fn::Join': [
                  '',
                  Match.arrayWith([`::foundation-model/${pipeline.config.llm.bedrockModelId}`]),
                ],
              },
            ]),
          }),
        ]),
      },
    });
  });

  it('passes the AwsSolutions checks', () => {
    const report = new AwsSolutionsChecks(pipeline.app).validateScope(pipeline.app);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });
});

describe('environment config', () => {
  it('opens a breaker after 3 failures in 60 s for 30 s by default', () => {
    expect(loadConfig('dev').breaker).toEqual({ failureThreshold: 3, windowSeconds: 60, openSeconds: 30 });
  });

  it('keeps prod overrides out of dev', () => {
    expect(loadConfig('dev')).toMatchObject({ pointInTimeRecovery: false, retainData: false });
    expect(loadConfig('prod')).toMatchObject({ pointInTimeRecovery: true, retainData: true });
    expect(loadConfig('prod').gpu.instanceType).toBe(loadConfig('dev').gpu.instanceType);
  });

  it('rejects an unknown environment name', () => {
    expect(() => loadConfig('qa')).toThrow(/unknown environment "qa"/);
  });
});
