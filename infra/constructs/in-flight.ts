// In-flight dedupe: the first execution of a cache key claims it (a conditional put of a pending
// item on the cache table); an identical request arriving meanwhile joins that generation, polling
// the item until the result lands, instead of running the GPU stages a second time.
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { DYNAMODB_TRANSIENT_ERRORS } from './gated-stage.ts';

export interface InFlightClaimProps {
  readonly cache: dynamodb.ITable;
  /** Where a finished (or joined) result is returned from: reads `$.cached.Item.result.S`. */
  readonly returnCached: sfn.IChainable;
  /** Where the claiming execution goes on: the first stage. */
  readonly next: sfn.IChainable;
  /**
   * How often a joining execution re-reads the claim.
   * @default Duration.seconds(2)
   */
  readonly pollInterval?: Duration;
}

/**
 * Claim (after Assess; the plan's last probe lease bounds the claim) → run, or when the key is
 * claimed already → Join.Wait → Join.Clock → Join.Read → Join.Ready?: a fresh result ⇒ return it; a
 * live claim ⇒ wait again; a claim past its lease (its owner died) or no item ⇒ Claim again.
 * Finalize's cache write replaces the pending item; with caching off it deletes it.
 */
export class InFlightClaim extends Construct {
  public readonly claim: tasks.DynamoPutItem;

  constructor(scope: Construct, id: string, props: InFlightClaimProps) {
    super(scope, id);
    const $ = sfn.JsonPath;
    const key = { cacheKey: tasks.DynamoAttributeValue.fromString($.stringAt('$.cacheKey')) };

    this.claim = tasks.DynamoPutItem.jsonPath(this, 'Claim', {
      stateName: 'Claim',
      comment: 'Claims the cache key for this execution, unless a live claim or a fresh result holds it.',
      table: props.cache,
      item: {
        ...key,
        status: tasks.DynamoAttributeValue.fromString('pending'),
        owner: tasks.DynamoAttributeValue.fromString($.stringAt('$$.Execution.Id')),
        pendingUntil: tasks.DynamoAttributeValue.fromString(
          $.stringAt('$.plan.stages.optimize.probeLeaseUntil'),
        ),
        createdAt: tasks.DynamoAttributeValue.fromString($.stringAt('$.clock.now')),
      },
      conditionExpression:
        'attribute_not_exists(cacheKey) OR expiresAtIso < :now OR (#status = :pending AND pendingUntil < :now)',
      expressionAttributeNames: { '#status': 'status' },
      expressionAttributeValues: {
        ':now': tasks.DynamoAttributeValue.fromString($.stringAt('$.clock.now')),
        ':pending': tasks.DynamoAttributeValue.fromString('pending'),
      },
      resultPath: $.DISCARD,
    });
    this.claim.addRetry({ errors: DYNAMODB_TRANSIENT_ERRORS, maxAttempts: 3, backoffRate: 2 });

    const wait = new sfn.Wait(this, 'Wait', {
      stateName: 'Join.Wait',
      time: sfn.WaitTime.duration(props.pollInterval ?? Duration.seconds(2)),
    });
    const clock = sfn.Pass.jsonPath(this, 'Clock', {
      stateName: 'Join.Clock',
      parameters: { now: $.stringAt('$$.State.EnteredTime') },
      resultPath: '$.clock',
    });
    const read = tasks.DynamoGetItem.jsonPath(this, 'Read', {
      stateName: 'Join.Read',
      table: props.cache,
      key,
      consistentRead: true,
      projectionExpression: ['#result', 'expiresAtIso', '#status', 'pendingUntil'].map((name) =>
        new tasks.DynamoProjectionExpression().withAttribute(name),
      ),
      expressionAttributeNames: { '#result': 'result', '#status': 'status' },
      resultPath: '$.cached',
    });
    read.addRetry({ errors: DYNAMODB_TRANSIENT_ERRORS, maxAttempts: 3, backoffRate: 2 });
    read.addCatch(props.next, { errors: ['States.ALL'], resultPath: '$.claimError' });
    const ready = sfn.Choice.jsonPath(this, 'Ready', { stateName: 'Join.Ready?' })
      .when(
        sfn.Condition.and(
          sfn.Condition.isPresent('$.cached.Item.result.S'),
          sfn.Condition.isPresent('$.cached.Item.expiresAtIso.S'),
          sfn.Condition.stringGreaterThanJsonPath('$.cached.Item.expiresAtIso.S', '$.clock.now'),
        ),
        props.returnCached,
      )
      .when(
        sfn.Condition.and(
          sfn.Condition.isPresent('$.cached.Item.pendingUntil.S'),
          sfn.Condition.stringGreaterThanJsonPath('$.cached.Item.pendingUntil.S', '$.clock.now'),
        ),
        wait,
      )
      .otherwise(this.claim);

    this.claim.addCatch(wait, {
      errors: ['DynamoDB.ConditionalCheckFailedException'],
      resultPath: '$.claimError',
    });
    // A cache table that cannot be written is no reason to fail the request: run without a claim.
    this.claim.addCatch(props.next, { errors: ['States.ALL'], resultPath: '$.claimError' });
    this.claim.next(props.next);
    wait.next(clock).next(read).next(ready);
  }
}
