// What the local runtime adds to aws-local-stepfunctions, on a small machine of its own: the live
// Context Object fields and the DynamoDB integration with Step Functions error names.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { LocalDefinition } from '#local/definition';
import { adaptForEngine } from '#local/engine-adapter';
import { createLocalRuntime, parseFaults } from '#local/runtime';

const claim = {
  Type: 'Task',
  Resource: 'arn:aws:states:::dynamodb:putItem',
  Parameters: {
    TableName: 'leases',
    Item: { id: { S: 'probe' }, owner: { 'S.$': '$$.Execution.Id' } },
    ConditionExpression: 'attribute_not_exists(id)',
  },
  ResultPath: null,
};

function machine(states: Record<string, unknown>, startAt: string): LocalDefinition {
  return {
    format: 0,
    sourceHash: 'test',
    synthMs: 0,
    stackName: 'Test',
    stateMachineLogicalId: 'Machine',
    stateMachineName: 'Machine',
    definition: { StartAt: startAt, States: states } as LocalDefinition['definition'],
    functions: [],
    taskDefinitions: [],
    tables: [
      {
        logicalId: 'Leases',
        name: 'leases',
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      },
    ],
    buckets: [],
  };
}

describe('the Context Object', () => {
  it('gives each state its own EnteredTime and task token, stable within the state', async () => {
    const definition = machine(
      {
        First: {
          Type: 'Pass',
          Parameters: {
            'entered.$': '$$.State.EnteredTime',
            'enteredAgain.$': '$$.State.EnteredTime',
            'token.$': '$$.Task.Token',
            'tokenAgain.$': '$$.Task.Token',
            'execution.$': '$$.Execution.Id',
          },
          ResultPath: '$.first',
          Next: 'Pause',
        },
        Pause: { Type: 'Wait', Seconds: 1, Next: 'Second' },
        Second: {
          Type: 'Pass',
          Parameters: { 'entered.$': '$$.State.EnteredTime', 'token.$': '$$.Task.Token' },
          ResultPath: '$.second',
          End: true,
        },
      },
      'First',
    );
    const local = await createLocalRuntime({ ephemeral: true, definition, capabilities: [] });

    const { output } = await local.execute({});
    await local.stop();

    const { first, second } = output as Record<string, Record<string, string>>;
    expect(first.entered).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(first.enteredAgain).toBe(first.entered);
    expect(first.tokenAgain).toBe(first.token);
    expect(Date.parse(second.entered) - Date.parse(first.entered)).toBeGreaterThanOrEqual(900);
    expect(second.token).not.toBe(first.token);
    expect(first.execution).toMatch(
      /^arn:aws:states:us-east-1:000000000000:execution:Machine:[0-9a-f-]{36}$/,
    );
  });
});

describe('the DynamoDB integration', () => {
  it('writes through dynalite and names a failed condition DynamoDB.ConditionalCheckFailedException', async () => {
    const definition = machine(
      {
        Claim: { ...claim, Next: 'ClaimAgain' },
        ClaimAgain: {
          ...claim,
          Catch: [
            { ErrorEquals: ['DynamoDB.ConditionalCheckFailedException'], ResultPath: '$.lost', Next: 'Lost' },
          ],
          End: true,
        },
        Lost: { Type: 'Pass', End: true },
      },
      'Claim',
    );
    const local = await createLocalRuntime({ ephemeral: true, definition, capabilities: [] });

    const { output, statesEntered } = await local.execute({});
    await local.stop();

    expect(statesEntered).toEqual(['Claim', 'ClaimAgain', 'Lost']);
    expect((output as { lost: { Error: string } }).lost.Error).toBe(
      'DynamoDB.ConditionalCheckFailedException',
    );
  });

  it('fails the execution with the Step Functions name when nothing catches the error', async () => {
    const definition = machine(
      { Claim: { ...claim, Next: 'ClaimAgain' }, ClaimAgain: { ...claim, End: true } },
      'Claim',
    );
    const local = await createLocalRuntime({ ephemeral: true, definition, capabilities: [] });

    await expect(local.execute({})).rejects.toMatchObject({
      name: 'DynamoDB.ConditionalCheckFailedException',
    });
    await local.stop();
  });
});

describe('the Lambda integration', () => {
  const echo = {
    logicalId: 'Echo',
    name: 'Echo',
    arn: 'arn:aws:lambda:us-east-1:000000000000:function:Echo',
    entry: 'test/support/handlers/echo.ts',
    environment: { ECHO_GREETING: 'from the template' },
    timeoutSeconds: 1,
    memorySize: 1024,
  };
  function withEcho(states: Record<string, unknown>, startAt: string): LocalDefinition {
    return { ...machine(states, startAt), functions: [echo] };
  }
  // Handler modules may run only from one folder: here the test handlers' own.
  const handlersDir = fileURLToPath(new URL('../support/handlers/', import.meta.url));

  it('builds the handler from its synthesized environment and calls it, by ARN and through lambda:invoke', async () => {
    const definition = withEcho(
      {
        Direct: { Type: 'Task', Resource: echo.arn, ResultPath: '$.direct', Next: 'Invoke' },
        Invoke: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: `${echo.arn}:$LATEST`, 'Payload.$': '$' },
          ResultSelector: { 'payload.$': '$.Payload', 'status.$': '$.StatusCode' },
          ResultPath: '$.invoked',
          End: true,
        },
      },
      'Direct',
    );
    const local = await createLocalRuntime({ ephemeral: true, definition, capabilities: [], handlersDir });

    const { output } = await local.execute({ value: 42 });
    await local.stop();

    expect(output).toMatchObject({
      direct: { value: 42, greeting: 'from the template', functionName: 'Echo', memoryLimitInMB: '1024' },
      invoked: { payload: { value: 42, greeting: 'from the template' }, status: 200 },
    });
  });

  it('refuses a handler module outside functions/ unless told where handlers live', async () => {
    const definition = withEcho({ Direct: { Type: 'Task', Resource: echo.arn, End: true } }, 'Direct');
    const local = await createLocalRuntime({ ephemeral: true, definition, capabilities: [] });

    await expect(local.execute({})).rejects.toMatchObject({ name: 'Definition.UnsafeEntry' });
    await local.stop();
  });

  it("names a handler's error by its name and records the Lambda-style Cause", async () => {
    const definition = withEcho(
      {
        Direct: {
          Type: 'Task',
          Resource: echo.arn,
          Catch: [{ ErrorEquals: ['Stage.Failed'], ResultPath: '$.error', Next: 'Caught' }],
          End: true,
        },
        Caught: { Type: 'Pass', End: true },
      },
      'Direct',
    );
    const local = await createLocalRuntime({ ephemeral: true, definition, capabilities: [], handlersDir });

    const { output } = await local.execute({ fail: 'Stage.Failed' });
    await local.stop();

    const { error } = output as { error: { Error: string; Cause: string } };
    expect(error.Error).toBe('Stage.Failed');
    expect(JSON.parse(error.Cause)).toEqual({
      errorType: 'Stage.Failed',
      errorMessage: 'asked to fail with Stage.Failed',
    });
  });

  it("ends an invocation that runs past the function's synthesized timeout as Sandbox.Timedout", async () => {
    const definition = withEcho(
      {
        Direct: {
          Type: 'Task',
          Resource: echo.arn,
          Catch: [{ ErrorEquals: ['Sandbox.Timedout'], ResultPath: '$.error', Next: 'Caught' }],
          End: true,
        },
        Caught: { Type: 'Pass', End: true },
      },
      'Direct',
    );
    const local = await createLocalRuntime({ ephemeral: true, definition, capabilities: [], handlersDir });

    const { output } = await local.execute({ waitMs: 1500 });
    await local.stop();

    expect((output as { error: { Error: string } }).error.Error).toBe('Sandbox.Timedout');
  });
});

describe('engine adaptations', () => {
  it('leaves the synthesized definition untouched and rewrites only a copy', () => {
    const definition = {
      StartAt: 'A',
      States: { A: { Type: 'Pass', ResultPath: '$', End: true } },
    };

    const adapted = adaptForEngine(definition);

    expect(definition.States.A.ResultPath).toBe('$');
    expect(adapted.States.A).not.toHaveProperty('ResultPath');
  });
});

describe('CHAT2SVG_FAULTS', () => {
  it('reads stage:error pairs and completes a bare error name', () => {
    expect(parseFaults('optimize:Stage.Failed, template:Timeout')).toEqual({
      optimize: 'Stage.Failed',
      template: 'Stage.Timeout',
    });
  });

  it('rejects an unknown stage', () => {
    expect(() => parseFaults('render:Stage.Failed')).toThrow(/not <template\|detail\|optimize>/);
  });

  it.each([
    ['a trailing part after the error', 'optimize:Stage.Failed:later'],
    ['an empty entry', 'optimize:Stage.Failed,,detail:Stage.Failed'],
    ['an error name with spaces', 'optimize:Stage Failed'],
    ['a stage named twice', 'optimize:Stage.Failed,optimize:Stage.Timeout'],
    ['a missing error', 'optimize:'],
  ])('rejects a spec with %s instead of dropping part of it', (_case, spec) => {
    expect(() => parseFaults(spec)).toThrow(/CHAT2SVG_FAULTS/);
  });
});
