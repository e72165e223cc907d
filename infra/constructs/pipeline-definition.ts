// The state machine's definition (docs/architecture.md, "The state machine"): normalize → cache →
// assess → claim (or join an identical generation in flight) → template, detail, optimize (each a
// gated stage) → finalize.
import { Duration } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { encodeInline } from '#commons/payload';
import { DETAIL_TYPES, EVENT_SCHEMA_VERSION, EVENT_SOURCE } from '#contracts/events';
import { BUDGETS, type ContainerStageName } from '#contracts/schemas';
import type { PipelineConfig } from '../config/environments.ts';
import {
  controlRetry,
  DYNAMODB_TRANSIENT_ERRORS,
  GatedStage,
  HANDLER_TRANSIENT_ERRORS,
  invokeHandler,
} from './gated-stage.ts';
import type { GpuBackend } from './gpu-backend.ts';
import { InFlightClaim } from './in-flight.ts';
import type { PipelineFunction } from './pipeline-function.ts';
import type { PipelineTables } from './tables.ts';

/** The template when even the offline composer failed: a blank, valid, sanitized page. */
const PLACEHOLDER_TEMPLATE = encodeInline(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512" width="512" height="512">' +
    '<rect id="path_0" x="0" y="0" width="512" height="512" fill="#F2F2F2"/></svg>',
  'image/svg+xml',
  BUDGETS.templateOutput,
);

export type HandlerName =
  | 'normalize'
  | 'assess'
  | 'generateTemplate'
  | 'composeTemplate'
  | 'prepareStageInput'
  | 'recordOutcome'
  | 'takeProbe'
  | 'executionEnded'
  | 'finalize';

export interface PipelineDefinitionProps {
  readonly config: PipelineConfig;
  readonly tables: PipelineTables;
  readonly handlers: Record<HandlerName, PipelineFunction>;
  readonly gpu: GpuBackend;
  /** Where the cache-hit event goes (the other outcome events come from handlers). */
  readonly eventBus: events.IEventBus;
}

/** Builds the chain of states; the stack wraps it in the state machine. */
export class PipelineDefinition extends Construct {
  public readonly chain: sfn.IChainable;

  /** Normalize → cache → assess → template, detail, optimize (each gated) → finalize. */
  constructor(scope: Construct, id: string, props: PipelineDefinitionProps) {
    super(scope, id);
    const { config, tables, handlers: h, gpu } = props;
    const { breakers, cache } = tables;
    const $ = sfn.JsonPath;

    const normalize = invokeHandler(this, 'Normalize', {
      lambdaFunction: h.normalize.function,
      payload: sfn.TaskInput.fromObject({ request: $.entirePayload, executionName: $.executionName }),
      resultPath: '$',
    });
    const clock = sfn.Pass.jsonPath(this, 'Clock', {
      parameters: { now: $.stringAt('$$.State.EnteredTime') },
      resultPath: '$.clock',
    });
    const cacheLookup = tasks.DynamoGetItem.jsonPath(this, 'CacheLookup', {
      table: cache,
      key: { cacheKey: tasks.DynamoAttributeValue.fromString($.stringAt('$.cacheKey')) },
      // Only what the gate and ReturnCached read.
      projectionExpression: [
        new tasks.DynamoProjectionExpression().withAttribute('#result'),
        new tasks.DynamoProjectionExpression().withAttribute('expiresAtIso'),
      ],
      expressionAttributeNames: { '#result': 'result' }, // RESULT is a reserved word
      resultPath: '$.cached',
    });
    cacheLookup.addRetry(controlRetry(DYNAMODB_TRANSIENT_ERRORS));
    const returnCached = sfn.Pass.jsonPath(this, 'ReturnCached', {
      parameters: {
        cache: 'hit',
        requestId: $.stringAt('$.requestId'),
        result: $.stringToJson($.stringAt('$.cached.Item.result.S')),
      },
    });
    // One event per outcome: finalize announces completions, this state cache hits.
    const announceCacheHit = tasks.EventBridgePutEvents.jsonPath(this, 'AnnounceCacheHit', {
      entries: [
        {
          eventBus: props.eventBus,
          source: EVENT_SOURCE,
          detailType: DETAIL_TYPES.cacheHit,
          detail: sfn.TaskInput.fromObject({
            schemaVersion: EVENT_SCHEMA_VERSION,
            outcome: 'cache-hit',
            requestId: $.stringAt('$.requestId'),
            result: $.objectAt('$.result'),
          }),
        },
      ],
      resultPath: $.DISCARD,
    });
    announceCacheHit.addRetry(
      controlRetry(['EventBridge.InternalException', 'EventBridge.ThrottlingException']),
    );
    // The result is the caller's either way; a lost event is not worth failing the request.
    announceCacheHit.addCatch(new sfn.Succeed(this, 'CacheHitUnannounced'), {
      errors: ['States.ALL'],
      resultPath: $.DISCARD,
    });
    returnCached.next(announceCacheHit);
    const assess = invokeHandler(this, 'Assess', {
      lambdaFunction: h.assess.function,
      payload: sfn.TaskInput.fromObject({
        request: $.objectAt('$.request'),
        requestId: $.stringAt('$.requestId'),
        // The execution's clock, so the plan's claimUntil compares with the Claim's own `now`.
        now: $.stringAt('$.clock.now'),
      }),
      resultPath: '$.plan',
    });
    // A cache that cannot be read is a miss, not a failed request.
    cacheLookup.addCatch(assess, { errors: ['States.ALL'], resultPath: '$.cacheError' });
    // A stale item's result (up to an inline SVG) is not carried through the run.
    const cacheMiss = sfn.Pass.jsonPath(this, 'CacheMiss', {
      result: sfn.Result.fromObject({}),
      resultPath: '$.cached',
    });
    cacheMiss.next(assess);
    const cacheHit = sfn.Choice.jsonPath(this, 'CacheHit', { stateName: 'CacheHit?' })
      .when(
        sfn.Condition.and(
          sfn.Condition.isPresent('$.cached.Item.result.S'),
          sfn.Condition.isPresent('$.cached.Item.expiresAtIso.S'),
          sfn.Condition.stringGreaterThanJsonPath('$.cached.Item.expiresAtIso.S', '$.clock.now'),
        ),
        returnCached,
      )
      .otherwise(cacheMiss);

    const stageRequest = (stage: string) => ({
      stage,
      requestId: $.stringAt('$.requestId'),
      request: $.objectAt('$.request'),
      config: $.objectAt(`$.plan.stages.${stage}.config`),
    });

    const template = new GatedStage(this, 'TemplateStage', {
      stage: 'template',
      breakers,
      recordOutcome: h.recordOutcome.function,
      takeProbe: h.takeProbe.function,
      run: (scope) => [
        invokeHandler(scope, 'Run', {
          stateName: 'template.Run',
          lambdaFunction: h.generateTemplate.function,
          payload: sfn.TaskInput.fromObject({
            ...stageRequest('template'),
            provider: $.stringAt('$.plan.stages.template.provider'),
          }),
          // As long as the template Lambda's own timeout (the local engine's default is 60 s).
          taskTimeout: sfn.Timeout.duration(Duration.seconds(config.stages.template.timeoutSeconds)),
          resultPath: '$.current',
        }),
      ],
      degrade: (scope) => {
        const compose = invokeHandler(scope, 'Compose', {
          stateName: 'template.Compose',
          comment: 'The offline composer makes the template when no LLM runs or it failed.',
          lambdaFunction: h.composeTemplate.function,
          payload: sfn.TaskInput.fromObject({
            request: $.objectAt('$.request'),
            requestId: $.stringAt('$.requestId'),
          }),
          resultPath: '$.current',
        });
        compose.addRetry(controlRetry(HANDLER_TRANSIENT_ERRORS));
        const objects = sfn.Pass.jsonPath(scope, 'Objects', {
          stateName: 'template.Objects',
          comment: 'The run report lists the icons the composer used.',
          inputPath: '$.current.objects',
          resultPath: '$.reports.template.objects',
        });
        // The composer is offline and deterministic; should it still fail (a Lambda timeout on an
        // overloaded host), a fixed placeholder keeps the request alive and the report says so.
        const placeholder = sfn.Pass.jsonPath(scope, 'Placeholder', {
          stateName: 'template.Placeholder',
          result: sfn.Result.fromObject({ svg: PLACEHOLDER_TEMPLATE, metrics: {}, durationMs: 0 }),
          resultPath: '$.current',
        });
        const placeholderReport = sfn.Pass.jsonPath(scope, 'PlaceholderReport', {
          stateName: 'template.PlaceholderReport',
          parameters: {
            name: 'template',
            status: 'degraded',
            reason: $.format(
              'offline composer failed ({}); placeholder template',
              $.stringAt('$.composeError.Error'),
            ),
            durationMs: 0,
          },
          resultPath: '$.reports.template',
        });
        compose.addCatch(placeholder, { errors: ['States.ALL'], resultPath: '$.composeError' });
        compose.next(objects);
        placeholder.next(placeholderReport);
        return sfn.Chain.custom(compose, [objects, placeholderReport], objects);
      },
      skipThroughDegrade: true,
    });

    const containerStage = (stage: ContainerStageName, id: string) =>
      new GatedStage(this, id, {
        stage,
        breakers,
        recordOutcome: h.recordOutcome.function,
        takeProbe: h.takeProbe.function,
        run: (scope) => {
          const prepare = invokeHandler(scope, 'PrepareInput', {
            stateName: `${stage}.PrepareInput`,
            lambdaFunction: h.prepareStageInput.function,
            payload: sfn.TaskInput.fromObject({
              ...stageRequest(stage),
              current: $.objectAt('$.current'),
              template: $.objectAt('$.templateSvg'),
              // The input fits the request this backend's service receives, or goes to S3.
              backend: gpu.name,
            }),
            resultPath: '$.gate.input',
          });
          const run = gpu.runStageTask(scope, 'Run', {
            stateName: `${stage}.Run`,
            stage,
            inputPath: '$.gate.input.ref',
            heartbeat: Duration.seconds(config.stages[stage].heartbeatSeconds),
            timeout: Duration.seconds(config.stages[stage].timeoutSeconds),
            resultSelector: {
              svg: $.objectAt('$.svg'),
              ...(stage === 'detail' ? { target: $.objectAt('$.target') } : {}),
              metrics: $.objectAt('$.metrics'),
              durationMs: $.numberAt('$.durationMs'),
            },
            resultPath: '$.current',
          });
          // Errors of the start call a retry can fix: throttling, service faults.
          run.addRetry({
            errors: gpu.transientErrors,
            interval: Duration.seconds(5),
            maxAttempts: 3,
            backoffRate: 2,
          });
          return [prepare, run];
        },
      });
    const detail = containerStage('detail', 'DetailStage');
    const optimize = containerStage('optimize', 'OptimizeStage');

    const finalize = invokeHandler(this, 'Finalize', {
      lambdaFunction: h.finalize.function,
      payload: sfn.TaskInput.fromObject({
        request: $.objectAt('$.request'),
        requestId: $.stringAt('$.requestId'),
        cacheKey: $.stringAt('$.cacheKey'),
        clock: $.objectAt('$.clock'),
        plan: $.objectAt('$.plan'),
        current: $.objectAt('$.current'),
        fallback: $.objectAt('$.templateSvg'),
        reports: $.objectAt('$.reports'),
      }),
      resultPath: '$',
    });
    // Storing the result is idempotent (same key, same item): a try that hit a throttled call
    // after its SDK's retries may run again.
    finalize.addRetry(controlRetry(HANDLER_TRANSIENT_ERRORS));

    // The template is carried once, in $.templateSvg: later stages start from it while $.current
    // holds no SVG, and finalize falls back to it when a later stage's SVG does not survive
    // sanitization (it is valid by construction: sanitized or composed).
    const keepTemplate = sfn.Pass.jsonPath(this, 'KeepTemplate', {
      stateName: 'template.Keep',
      inputPath: '$.current.svg',
      resultPath: '$.templateSvg',
    });
    const clearCurrent = sfn.Pass.jsonPath(this, 'ClearCurrent', {
      stateName: 'template.Handover',
      comment: '$.current from here on is what a later stage made; none yet.',
      result: sfn.Result.fromObject({}),
      resultPath: '$.current',
    });
    // An identical request already generating is joined, not run again (in-flight.ts).
    const inFlight = new InFlightClaim(this, 'InFlight', { cache, returnCached, next: template });
    assess.next(inFlight.claim);
    sfn.Chain.start(template)
      .next(keepTemplate)
      .next(clearCurrent)
      .next(detail)
      .next(optimize)
      .next(finalize);
    this.chain = normalize.next(clock).next(cacheLookup).next(cacheHit);
  }
}
