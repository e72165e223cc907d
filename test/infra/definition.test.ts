// The synthesized state machine definition, resolved as the local runtime resolves it: its shape
// (docs/state-machine.md) and its validity as Amazon States Language.
import aslValidator from 'asl-validator';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AslDefinition,
  type AslState,
  localResolveRef,
  resolveCfn,
  resolveDefinition,
  type SynthesizedPipeline,
  synthesizePipeline,
} from '#infra/definition';

const STAGES = ['template', 'detail', 'optimize'] as const;
const CONTAINER_STAGES = ['detail', 'optimize'] as const;

let pipeline: SynthesizedPipeline;
let definition: AslDefinition;
let tableName: (keyName: string) => string;

const state = (name: string): AslState => {
  const found = definition.States[name];
  if (!found) throw new Error(`no state ${name}`);
  return found;
};

beforeAll(() => {
  pipeline = synthesizePipeline({ envName: 'dev' });
  definition = resolveDefinition(pipeline);
  // localResolveRef names a table by its logical id.
  tableName = (keyName) =>
    Object.entries(pipeline.template.Resources).find(
      ([, r]) =>
        r.Type === 'AWS::DynamoDB::Table' &&
        (r.Properties?.KeySchema as { AttributeName: string }[] | undefined)?.[0]?.AttributeName === keyName,
    )?.[0] as string;
});

describe('the synthesized definition', () => {
  it('comes from the stack template and names the one state machine', () => {
    expect(pipeline.template.Resources[pipeline.stateMachineLogicalId].Type).toBe(
      'AWS::StepFunctions::StateMachine',
    );
    expect(definition.StartAt).toBe('Normalize');
  });

  it('is valid Amazon States Language', () => {
    const result = aslValidator(definition);
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('uses JSONPath only', () => {
    expect(definition.QueryLanguage).toBe('JSONPath');
    const text = JSON.stringify(definition);
    expect(text).not.toContain('JSONata');
    expect(text).not.toMatch(/\{%/);
  });
});

describe('state data layout', () => {
  it('normalizes into the whole state from the raw request and the execution name', () => {
    expect(state('Normalize')).toMatchObject({
      ResultPath: '$',
      Parameters: { 'request.$': '$', 'executionName.$': '$$.Execution.Name' },
      Next: 'Clock',
    });
  });

  it('stamps $.clock.now from the state entered time', () => {
    expect(state('Clock')).toMatchObject({
      Type: 'Pass',
      Parameters: { 'now.$': '$$.State.EnteredTime' },
      ResultPath: '$.clock',
    });
  });

  it('looks the cache key up in the cache table into $.cached', () => {
    expect(state('CacheLookup')).toMatchObject({
      Resource: 'arn:aws:states:::dynamodb:getItem',
      Parameters: { TableName: tableName('cacheKey'), Key: { cacheKey: { 'S.$': '$.cacheKey' } } },
      ResultPath: '$.cached',
      Next: 'CacheHit?',
    });
  });

  it('returns a cache hit only while expiresAtIso is later than now', () => {
    const choice = state('CacheHit?');
    expect(choice.Type).toBe('Choice');
    expect(JSON.stringify(choice.Choices)).toContain(
      '{"Variable":"$.cached.Item.expiresAtIso.S","StringGreaterThanPath":"$.clock.now"}',
    );
    expect(choice.Default).toBe('Assess');
    expect(state('ReturnCached')).toMatchObject({
      Type: 'Pass',
      End: true,
      Parameters: {
        cache: 'hit',
        'requestId.$': '$.requestId',
        'result.$': 'States.StringToJson($.cached.Item.result.S)',
      },
    });
  });

  it('puts the plan at $.plan and chains template, detail, optimize, finalize', () => {
    expect(state('Assess')).toMatchObject({ ResultPath: '$.plan', Next: 'template.Plan?' });
    expect(state('template.RecordSuccess').Next).toBe('template.Keep');
    expect(state('template.Compose').Next).toBe('template.Objects');
    expect(state('template.Objects').Next).toBe('template.Keep');
    expect(state('template.Keep').Next).toBe('detail.Plan?');
    expect(state('detail.RecordSuccess').Next).toBe('optimize.Plan?');
    expect(state('detail.Degrade').Next).toBe('optimize.Plan?');
    expect(state('optimize.RecordSuccess').Next).toBe('Finalize');
    expect(state('Finalize')).toMatchObject({ ResultPath: '$', End: true });
  });

  it.each(STAGES)('writes the %s report to $.reports.<stage> on every path', (stage) => {
    for (const name of ['Skip', 'Open', 'RecordSuccess', 'RecordFailure']) {
      expect(state(`${stage}.${name}`).ResultPath).toBe(`$.reports.${stage}`);
    }
    expect(state(`${stage}.Skip`).Parameters).toMatchObject({ name: stage, status: 'skipped' });
    expect(state(`${stage}.Open`).Parameters).toMatchObject({
      name: stage,
      status: 'degraded',
      reason: 'breaker open',
    });
  });

  it('lets the offline composer write $.current when the template is skipped, degraded or failed', () => {
    expect(state('template.Skip').Next).toBe('template.Compose');
    expect(state('template.Open').Next).toBe('template.Compose');
    expect(state('template.RecordFailure').Next).toBe('template.Compose');
    expect(state('template.Compose')).toMatchObject({
      ResultPath: '$.current',
      Parameters: { 'request.$': '$.request', 'requestId.$': '$.requestId' },
    });
  });
});

describe('gated stages', () => {
  it.each(STAGES)('gates %s with a Choice fed by a getItem on the breakers table', (stage) => {
    const gate = state(`${stage}.Gate`);
    expect(gate.Type).toBe('Choice');
    const feeders = Object.entries(definition.States).filter(([, s]) => s.Next === `${stage}.Gate`);
    expect(feeders).toHaveLength(1);
    const [[name, read]] = feeders;
    expect(name).toBe(`${stage}.ReadBreaker`);
    expect(read).toMatchObject({
      Resource: 'arn:aws:states:::dynamodb:getItem',
      Parameters: { TableName: tableName('stage'), Key: { stage: { S: stage } }, ConsistentRead: true },
      ResultPath: '$.gate.breaker',
    });
  });

  it.each(STAGES)('runs %s when no breaker item exists or it is CLOSED, else degrades or probes', (stage) => {
    const gate = state(`${stage}.Gate`);
    const run = stage === 'template' ? 'template.Run' : `${stage}.PrepareInput`;
    const choices = gate.Choices as { Next: string }[];
    expect(choices.map((c) => c.Next)).toEqual([run, run, `${stage}.Open`, `${stage}.Open`]);
    expect(JSON.stringify(choices[2])).toContain('"StringEquals":"OPEN"');
    expect(JSON.stringify(choices[3])).toContain('"StringEquals":"HALF_OPEN"');
    expect(gate.Default).toBe(`${stage}.TakeProbe`);
  });

  it.each(STAGES)(
    'takes the %s probe lease with a conditional update, and degrades when it is taken',
    (stage) => {
      const probe = state(`${stage}.TakeProbe`);
      expect(probe).toMatchObject({
        Resource: 'arn:aws:states:::dynamodb:updateItem',
        Parameters: {
          TableName: tableName('stage'),
          Key: { stage: { S: stage } },
          ConditionExpression: expect.stringContaining('openUntil < :now'),
          ExpressionAttributeValues: expect.objectContaining({
            ':owner': { 'S.$': '$$.Execution.Id' },
            ':lease': { 'S.$': `$.plan.stages.${stage}.probeLeaseUntil` },
            ':now': { 'S.$': '$.gate.now' },
          }),
        },
        Catch: [{ ErrorEquals: ['DynamoDB.ConditionalCheckFailedException'], Next: `${stage}.Open` }],
      });
    },
  );

  it.each(STAGES)('skips %s when the plan says so', (stage) => {
    const plan = state(`${stage}.Plan?`);
    expect(plan.Choices).toEqual([
      { Variable: `$.plan.stages.${stage}.run`, BooleanEquals: true, Next: `${stage}.Clock` },
    ]);
    expect(plan.Default).toBe(`${stage}.Skip`);
    expect(state(`${stage}.Clock`)).toMatchObject({
      Parameters: { 'now.$': '$$.State.EnteredTime' },
      ResultPath: '$.gate',
    });
  });

  it.each(STAGES)('retries a %s outcome write that lost to concurrent executions', (stage) => {
    for (const name of ['RecordSuccess', 'RecordFailure']) {
      expect(state(`${stage}.${name}`).Retry).toContainEqual(
        expect.objectContaining({ ErrorEquals: ['Breaker.Conflict'], JitterStrategy: 'FULL' }),
      );
    }
  });

  it('records every run step failure as a stage failure', () => {
    const runSteps = [
      'template.Run',
      'detail.PrepareInput',
      'detail.Run',
      'optimize.PrepareInput',
      'optimize.Run',
    ];
    for (const name of runSteps) {
      const stage = name.split('.')[0];
      expect(state(name).Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.gate.error', Next: `${stage}.RecordFailure` },
      ]);
    }
    expect(state('detail.RecordFailure').Parameters).toMatchObject({
      stage: 'detail',
      outcome: 'failure',
      'executionId.$': '$$.Execution.Id',
      'error.$': '$.gate.error',
    });
  });

  it('retries only transient service errors, never stage errors', () => {
    const retried = Object.values(definition.States).flatMap((s) =>
      ((s.Retry as { ErrorEquals: string[] }[] | undefined) ?? []).flatMap((r) => r.ErrorEquals),
    );
    expect(retried.length).toBeGreaterThan(0);
    for (const error of retried) {
      expect(error).toMatch(
        /^(Lambda|DynamoDB|ECS)\.[A-Za-z]+Exception$|^DynamoDB\.RequestLimitExceeded$|^Breaker\.Conflict$/,
      );
    }
    expect(retried.filter((error) => error.startsWith('Stage.') || error.startsWith('States.'))).toEqual([]);
  });
});

describe('container stage tasks', () => {
  it('has exactly the detail and optimize callback tasks', () => {
    const callbacks = Object.entries(definition.States)
      .filter(([, s]) => s.Resource?.endsWith('.waitForTaskToken'))
      .map(([name]) => name);
    expect(callbacks.sort()).toEqual(['detail.Run', 'optimize.Run']);
  });

  // The heartbeat allows for a cold start (420 s) before the worker's first beat.
  it.each([
    ['detail', 420 + 120, 900],
    ['optimize', 420 + 60, 600],
  ] as const)(
    'runs %s as ecs:runTask.waitForTaskToken with heartbeat %is and timeout %is',
    (stage, heartbeat, timeout) => {
      expect(state(`${stage}.Run`)).toMatchObject({
        Resource: 'arn:aws:states:::ecs:runTask.waitForTaskToken',
        HeartbeatSeconds: heartbeat,
        TimeoutSeconds: timeout,
        ResultPath: '$.current',
      });
    },
  );

  it.each(CONTAINER_STAGES)(
    'hands %s the prepared input and the task token through the environment',
    (stage) => {
      const params = state(`${stage}.Run`).Parameters as {
        TaskDefinition: string;
        CapacityProviderStrategy: unknown[];
        Overrides: { ContainerOverrides: unknown[] };
      };
      expect(params.TaskDefinition).toBe(`chat2svg-dev-${stage}`);
      expect(params.CapacityProviderStrategy).toHaveLength(1);
      expect(params.Overrides.ContainerOverrides).toEqual([
        {
          Name: 'stage',
          Environment: [
            { Name: 'STAGE_INPUT', 'Value.$': 'States.JsonToString($.gate.input.ref)' },
            { Name: 'SFN_TASK_TOKEN', 'Value.$': '$$.Task.Token' },
          ],
        },
      ]);
      expect(state(`${stage}.PrepareInput`)).toMatchObject({
        ResultPath: '$.gate.input',
        Next: `${stage}.Run`,
      });
    },
  );

  it('keeps the detail target and drops the worker envelope from the stage output', () => {
    expect(state('detail.Run').ResultSelector).toEqual({
      'svg.$': '$.svg',
      'target.$': '$.target',
      'metrics.$': '$.metrics',
      'durationMs.$': '$.durationMs',
    });
    expect(state('optimize.Run').ResultSelector).not.toHaveProperty('target.$');
  });
});

describe('resolveCfn', () => {
  const resolveRef = (id: string, attribute?: string) => (attribute ? `${id}#${attribute}` : `ref:${id}`);

  it('joins, selects and splits', () => {
    const value = {
      'Fn::Join': ['-', [{ Ref: 'Table' }, { 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] }]],
    };
    expect(resolveCfn(value, resolveRef)).toBe('ref:Table-b');
  });

  // biome-ignore-start lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax, not a template literal
  it('substitutes resources, attributes, pseudo parameters and variables, and keeps ${!literals}', () => {
    const value = { 'Fn::Sub': ['${Fn.Arn}/${AWS::Region}/${x}/${!Keep}', { x: { Ref: 'AWS::AccountId' } }] };
    expect(resolveCfn(value, resolveRef)).toBe('Fn#Arn/us-east-1/000000000000/${Keep}');
  });

  // biome-ignore-end lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax

  it('resolves pseudo parameters from the given set', () => {
    const pseudo = {
      partition: 'aws-cn',
      region: 'cn-north-1',
      accountId: '1',
      urlSuffix: 'amazonaws.com.cn',
      stackName: 's',
      stackId: 'id',
    };
    expect(resolveCfn({ Ref: 'AWS::Partition' }, resolveRef, pseudo)).toBe('aws-cn');
    expect(resolveCfn({ 'Fn::GetAtt': ['Q', 'QueueName'] }, resolveRef, pseudo)).toBe('Q#QueueName');
  });

  it('resolves intrinsics nested in objects and lists, leaving plain values alone', () => {
    const value = { A: [{ Ref: 'X' }, 1, true, null], B: { C: 'plain' } };
    expect(resolveCfn(value, resolveRef)).toEqual({ A: ['ref:X', 1, true, null], B: { C: 'plain' } });
  });

  it('refuses intrinsics it cannot evaluate', () => {
    expect(() => resolveCfn({ 'Fn::If': ['Cond', 'a', 'b'] }, resolveRef)).toThrow(
      /unsupported intrinsic Fn::If/,
    );
  });

  it('resolves the Lambda environment of the synthesized template', () => {
    const resolve = localResolveRef(pipeline.template);
    const [, fn] = Object.entries(pipeline.template.Resources).find(
      ([, r]) => r.Metadata?.['chat2svg:entry'] === 'functions/record-outcome.ts',
    ) as unknown as [string, { Properties: { Environment: unknown } }];
    expect(resolveCfn(fn.Properties.Environment, resolve)).toMatchObject({
      Variables: { BREAKERS_TABLE: tableName('stage') },
    });
  });
});
