// One pipeline stage behind its circuit breaker (docs/state-machine.md, "Gated fragment"):
// plan check, breaker read and gate, half-open probe lease, the caller's Run steps, outcome
// recording, and the degrade path. Used once per stage.
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import type { StageName } from '#contracts/schemas';

/** Lambda errors that a retry can fix (the service's own, not the handler's). */
export const LAMBDA_TRANSIENT_ERRORS = [
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];
/** record-outcome ran out of conditional-write retries against concurrent executions. */
export const BREAKER_CONFLICT = 'Breaker.Conflict';
/** DynamoDB direct-integration errors that a retry can fix. */
export const DYNAMODB_TRANSIENT_ERRORS = [
  'DynamoDB.ProvisionedThroughputExceededException',
  'DynamoDB.RequestLimitExceeded',
  'DynamoDB.ThrottlingException',
  'DynamoDB.InternalServerErrorException',
];

export interface GatedStageProps {
  readonly stage: StageName;
  /** Breaker table (pk `stage`), read by the gate and leased by the probe. */
  readonly breakers: dynamodb.ITable;
  /** The record-outcome handler; it closes or counts against the breaker and returns the StageReport. */
  readonly recordOutcome: lambda.IFunction;
  /**
   * Builds the Run steps, in order, inside `scope`. The last one writes `$.current`; any error of
   * any step counts as a stage failure. Retries for transient errors are the caller's to add.
   */
  readonly run: (scope: Construct) => sfn.TaskStateBase[];
  /**
   * Builds the steps where a degraded or failed stage continues (the template stage's composer).
   * @default a Pass state that keeps the best SVG so far
   */
  readonly degrade?: (scope: Construct) => sfn.Chain;
  /**
   * Whether a stage the plan skips also goes through the degrade step (template: the composer
   * makes the SVG when no LLM runs).
   * @default false
   */
  readonly skipThroughDegrade?: boolean;
}

export class GatedStage extends sfn.StateMachineFragment {
  public readonly startState: sfn.State;
  public readonly endStates: sfn.INextable[];

  constructor(scope: Construct, id: string, props: GatedStageProps) {
    super(scope, id);
    const S = props.stage;
    const name = (step: string) => `${S}.${step}`;
    const item = '$.gate.breaker.Item';
    const stageKey = { stage: tasks.DynamoAttributeValue.fromString(S) };

    const skip = sfn.Pass.jsonPath(this, 'Skip', {
      stateName: name('Skip'),
      parameters: {
        name: S,
        status: 'skipped',
        reason: sfn.JsonPath.stringAt(`$.plan.stages.${S}.reason`),
        durationMs: 0,
      },
      resultPath: `$.reports.${S}`,
    });
    // Resets $.gate, so nothing of the previous stage's gate leaks into this one.
    const clock = sfn.Pass.jsonPath(this, 'Clock', {
      stateName: name('Clock'),
      parameters: { now: sfn.JsonPath.stringAt('$$.State.EnteredTime') },
      resultPath: '$.gate',
    });
    const readBreaker = tasks.DynamoGetItem.jsonPath(this, 'ReadBreaker', {
      stateName: name('ReadBreaker'),
      table: props.breakers,
      key: stageKey,
      consistentRead: true,
      resultPath: '$.gate.breaker',
    });
    readBreaker.addRetry({ errors: DYNAMODB_TRANSIENT_ERRORS, maxAttempts: 3, backoffRate: 2 });

    const open = sfn.Pass.jsonPath(this, 'Open', {
      stateName: name('Open'),
      comment: 'The breaker is open, or another execution holds the half-open probe.',
      parameters: { name: S, status: 'degraded', reason: 'breaker open', durationMs: 0 },
      resultPath: `$.reports.${S}`,
    });

    // Only one execution wins the lease; the condition re-checks what the gate saw, atomically.
    const takeProbe = tasks.DynamoUpdateItem.jsonPath(this, 'TakeProbe', {
      stateName: name('TakeProbe'),
      table: props.breakers,
      key: stageKey,
      updateExpression:
        'SET #state = :halfOpen, probeOwner = :owner, probeExpires = :lease, updatedAt = :now',
      conditionExpression:
        '(#state = :open AND openUntil < :now) OR (#state = :halfOpen AND probeExpires < :now)',
      expressionAttributeNames: { '#state': 'state' },
      expressionAttributeValues: {
        ':open': tasks.DynamoAttributeValue.fromString('OPEN'),
        ':halfOpen': tasks.DynamoAttributeValue.fromString('HALF_OPEN'),
        ':owner': tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$$.Execution.Id')),
        ':lease': tasks.DynamoAttributeValue.fromString(
          sfn.JsonPath.stringAt(`$.plan.stages.${S}.probeLeaseUntil`),
        ),
        ':now': tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.gate.now')),
      },
      resultPath: sfn.JsonPath.DISCARD,
    });
    takeProbe.addRetry({ errors: DYNAMODB_TRANSIENT_ERRORS, maxAttempts: 3, backoffRate: 2 });
    takeProbe.addCatch(open, {
      errors: ['DynamoDB.ConditionalCheckFailedException'],
      resultPath: '$.gate.probeError',
    });

    const recordSuccess = this.recordStep('RecordSuccess', name('RecordSuccess'), props.recordOutcome, {
      stage: S,
      outcome: 'success',
      executionId: sfn.JsonPath.stringAt('$$.Execution.Id'),
      tier: sfn.JsonPath.stringAt('$.plan.tier'),
      current: sfn.JsonPath.objectAt('$.current'),
    });
    const recordFailure = this.recordStep('RecordFailure', name('RecordFailure'), props.recordOutcome, {
      stage: S,
      outcome: 'failure',
      executionId: sfn.JsonPath.stringAt('$$.Execution.Id'),
      tier: sfn.JsonPath.stringAt('$.plan.tier'),
      error: sfn.JsonPath.objectAt('$.gate.error'),
    });

    const degrade =
      props.degrade?.(this) ??
      sfn.Chain.start(
        sfn.Pass.jsonPath(this, 'Degrade', {
          stateName: name('Degrade'),
          comment: 'Continue with the best SVG so far ($.current).',
        }),
      );

    const runSteps = props.run(this);
    const [firstRun, ...restRun] = runSteps;
    if (!firstRun) throw new Error(`stage ${S}: run() returned no steps`);
    let last: sfn.TaskStateBase = firstRun;
    for (const step of restRun) {
      last.next(step);
      last = step;
    }
    last.next(recordSuccess);
    for (const step of runSteps) {
      step.addCatch(recordFailure, { errors: ['States.ALL'], resultPath: '$.gate.error' });
    }
    recordFailure.next(degrade);
    open.next(degrade);
    takeProbe.next(firstRun);

    const state = `${item}.state.S`;
    const gate = sfn.Choice.jsonPath(this, 'Gate', { stateName: name('Gate') })
      .when(sfn.Condition.not(sfn.Condition.isPresent(state)), firstRun, { comment: 'no breaker yet' })
      .when(sfn.Condition.stringEquals(state, 'CLOSED'), firstRun)
      .when(
        sfn.Condition.and(
          sfn.Condition.stringEquals(state, 'OPEN'),
          sfn.Condition.isPresent(`${item}.openUntil.S`),
          sfn.Condition.stringGreaterThanJsonPath(`${item}.openUntil.S`, '$.gate.now'),
        ),
        open,
        { comment: 'open, cooldown not over' },
      )
      .when(
        sfn.Condition.and(
          sfn.Condition.stringEquals(state, 'HALF_OPEN'),
          sfn.Condition.isPresent(`${item}.probeExpires.S`),
          sfn.Condition.stringGreaterThanJsonPath(`${item}.probeExpires.S`, '$.gate.now'),
        ),
        open,
        { comment: 'another execution holds the probe' },
      )
      .otherwise(takeProbe);
    clock.next(readBreaker).next(gate);

    const planned = sfn.Choice.jsonPath(this, 'Planned', { stateName: name('Plan?') })
      .when(sfn.Condition.booleanEquals(`$.plan.stages.${S}.run`, true), clock)
      .otherwise(skip);
    this.startState = planned;

    if (props.skipThroughDegrade) {
      skip.next(degrade);
      this.endStates = [recordSuccess, ...degrade.endStates];
    } else {
      this.endStates = [recordSuccess, ...degrade.endStates, skip];
    }
  }

  private recordStep(
    id: string,
    stateName: string,
    fn: lambda.IFunction,
    payload: Record<string, unknown>,
  ): tasks.LambdaInvoke {
    const step = invokeHandler(this, id, {
      stateName,
      lambdaFunction: fn,
      payload: sfn.TaskInput.fromObject(payload),
      resultPath: `$.reports.${(payload as { stage: string }).stage}`,
    });
    // Another execution won the optimistic write every time the handler re-read; a new try sees
    // the settled item.
    step.addRetry({
      errors: [BREAKER_CONFLICT],
      interval: Duration.seconds(1),
      maxAttempts: 3,
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    });
    return step;
  }
}

/**
 * A Lambda task whose result is the handler's own return value (no invocation envelope),
 * retried only on the Lambda service's transient errors, never on the handler's.
 */
export function invokeHandler(
  scope: Construct,
  id: string,
  props: Omit<tasks.LambdaInvokeJsonPathProps, 'payloadResponseOnly' | 'retryOnServiceExceptions'>,
): tasks.LambdaInvoke {
  const step = tasks.LambdaInvoke.jsonPath(scope, id, {
    ...props,
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
  });
  step.addRetry({
    errors: LAMBDA_TRANSIENT_ERRORS,
    interval: Duration.seconds(2),
    maxAttempts: 4,
    backoffRate: 2,
  });
  return step;
}
