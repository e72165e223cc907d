// One pipeline stage behind its circuit breaker (docs/state-machine.md, "Gated fragment"):
// plan check, breaker read and gate, half-open probe lease, the caller's Run steps, outcome
// recording, and the degrade path. Used once per stage. Every control-plane step (breaker read,
// probe lease, outcome recording) retries transient errors with jitter and, failing that, degrades
// the stage rather than the execution.
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
/** take-probe lost the lease to another execution, or the cooldown is not over. */
export const PROBE_TAKEN = 'Breaker.ProbeTaken';
/** Errors a control-plane handler throws that a new try can fix: its SDK's retries ran out. */
export const HANDLER_TRANSIENT_ERRORS = [
  BREAKER_CONFLICT,
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  // The function ran past its own timeout (a cold start on a busy host): a warm retry may not.
  'Sandbox.Timedout',
  // S3
  'SlowDown',
  'InternalError',
];
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
  /** The record-outcome handler; it counts the outcome, moves the breaker and returns the StageReport. */
  readonly recordOutcome: lambda.IFunction;
  /** The take-probe handler: the half-open lease, as long as this stage's own timeout. */
  readonly takeProbe: lambda.IFunction;
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
      key: { stage: tasks.DynamoAttributeValue.fromString(S) },
      consistentRead: true,
      resultPath: '$.gate.breaker',
    });
    readBreaker.addRetry(controlRetry(DYNAMODB_TRANSIENT_ERRORS));

    const open = sfn.Pass.jsonPath(this, 'Open', {
      stateName: name('Open'),
      comment: 'The breaker is open, or another execution holds the half-open probe.',
      parameters: { name: S, status: 'degraded', reason: 'breaker open', durationMs: 0 },
      resultPath: `$.reports.${S}`,
    });

    // Only one execution wins the lease; take-probe's conditional write re-checks what the gate saw.
    const takeProbe = invokeHandler(this, 'TakeProbe', {
      stateName: name('TakeProbe'),
      lambdaFunction: props.takeProbe,
      payload: sfn.TaskInput.fromObject({
        stage: S,
        executionId: sfn.JsonPath.stringAt('$$.Execution.Id'),
      }),
      resultPath: '$.gate.probe',
    });
    takeProbe.addRetry(controlRetry(HANDLER_TRANSIENT_ERRORS));
    takeProbe.addCatch(open, { errors: [PROBE_TAKEN], resultPath: '$.gate.probeError' });

    // The breaker cannot be read or leased: the stage does not run, the request goes on.
    const controlDegraded = sfn.Pass.jsonPath(this, 'ControlDegraded', {
      stateName: name('ControlDegraded'),
      parameters: {
        name: S,
        status: 'degraded',
        reason: sfn.JsonPath.format(
          'breaker unavailable ({}); stage not run',
          sfn.JsonPath.stringAt('$.gate.controlError.Error'),
        ),
        durationMs: 0,
      },
      resultPath: `$.reports.${S}`,
    });
    for (const step of [readBreaker, takeProbe]) {
      step.addCatch(controlDegraded, { errors: ['States.ALL'], resultPath: '$.gate.controlError' });
    }

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
    // The stage's result stands even when its outcome cannot be recorded.
    const successUnrecorded = sfn.Pass.jsonPath(this, 'SuccessUnrecorded', {
      stateName: name('SuccessUnrecorded'),
      parameters: {
        name: S,
        status: 'ran',
        reason: sfn.JsonPath.format(
          'ran; breaker not updated ({})',
          sfn.JsonPath.stringAt('$.gate.recordError.Error'),
        ),
        durationMs: 0,
      },
      resultPath: `$.reports.${S}`,
    });
    recordSuccess.addCatch(successUnrecorded, {
      errors: ['States.ALL'],
      resultPath: '$.gate.recordError',
    });
    const failureUnrecorded = sfn.Pass.jsonPath(this, 'FailureUnrecorded', {
      stateName: name('FailureUnrecorded'),
      parameters: {
        name: S,
        status: 'degraded',
        reason: sfn.JsonPath.format(
          '{} (breaker not updated: {})',
          sfn.JsonPath.stringAt('$.gate.error.Error'),
          sfn.JsonPath.stringAt('$.gate.recordError.Error'),
        ),
        durationMs: 0,
      },
      resultPath: `$.reports.${S}`,
    });
    recordFailure.addCatch(failureUnrecorded, {
      errors: ['States.ALL'],
      resultPath: '$.gate.recordError',
    });
    recordFailure.next(degrade);
    failureUnrecorded.next(degrade);
    controlDegraded.next(degrade);
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
      this.endStates = [recordSuccess, successUnrecorded, ...degrade.endStates];
    } else {
      this.endStates = [recordSuccess, successUnrecorded, ...degrade.endStates, skip];
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
    // Another execution won the optimistic write every time the handler re-read, or its SDK's
    // retries ran out: a new try, spread by jitter, sees the settled item.
    step.addRetry(controlRetry(HANDLER_TRANSIENT_ERRORS));
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
    jitterStrategy: sfn.JitterType.FULL,
  });
  return step;
}

/**
 * Retries for a control-plane step: short, few and jittered, so that executions throttled together
 * do not retry together; a Catch takes over after them.
 */
export function controlRetry(errors: string[]): sfn.RetryProps {
  return {
    errors,
    interval: Duration.seconds(1),
    maxAttempts: 2,
    backoffRate: 2,
    maxDelay: Duration.seconds(5),
    jitterStrategy: sfn.JitterType.FULL,
  };
}
