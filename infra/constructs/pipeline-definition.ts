// The state machine's definition (docs/architecture.md, "The state machine"): normalize → cache →
// assess → template, detail, optimize (each a gated stage) → finalize.
import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { ContainerStageName } from '#contracts/schemas';
import type { PipelineConfig } from '../config/environments.ts';
import { DYNAMODB_TRANSIENT_ERRORS, GatedStage, invokeHandler } from './gated-stage.ts';
import type { GpuBackend } from './gpu-backend.ts';
import type { PipelineFunction } from './pipeline-function.ts';
import type { PipelineTables } from './tables.ts';

export type HandlerName =
  | 'normalize'
  | 'assess'
  | 'generateTemplate'
  | 'composeTemplate'
  | 'prepareStageInput'
  | 'recordOutcome'
  | 'finalize';

export interface PipelineDefinitionProps {
  readonly config: PipelineConfig;
  readonly tables: PipelineTables;
  readonly handlers: Record<HandlerName, PipelineFunction>;
  readonly gpu: GpuBackend;
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
    cacheLookup.addRetry({ errors: DYNAMODB_TRANSIENT_ERRORS, maxAttempts: 3, backoffRate: 2 });
    const returnCached = sfn.Pass.jsonPath(this, 'ReturnCached', {
      parameters: {
        cache: 'hit',
        requestId: $.stringAt('$.requestId'),
        result: $.stringToJson($.stringAt('$.cached.Item.result.S')),
      },
    });
    const assess = invokeHandler(this, 'Assess', {
      lambdaFunction: h.assess.function,
      payload: sfn.TaskInput.fromObject({
        request: $.objectAt('$.request'),
        requestId: $.stringAt('$.requestId'),
        now: $.stringAt('$.clock.now'),
      }),
      resultPath: '$.plan',
    });
    // A cache that cannot be read is a miss, not a failed request.
    cacheLookup.addCatch(assess, { errors: ['States.ALL'], resultPath: '$.cacheError' });
    const cacheHit = sfn.Choice.jsonPath(this, 'CacheHit', { stateName: 'CacheHit?' })
      .when(
        sfn.Condition.and(
          sfn.Condition.isPresent('$.cached.Item.result.S'),
          sfn.Condition.isPresent('$.cached.Item.expiresAtIso.S'),
          sfn.Condition.stringGreaterThanJsonPath('$.cached.Item.expiresAtIso.S', '$.clock.now'),
        ),
        returnCached,
      )
      .otherwise(assess);

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
      degrade: (scope) =>
        sfn.Chain.start(
          invokeHandler(scope, 'Compose', {
            stateName: 'template.Compose',
            comment: 'The offline composer makes the template when no LLM runs or it failed.',
            lambdaFunction: h.composeTemplate.function,
            payload: sfn.TaskInput.fromObject({
              request: $.objectAt('$.request'),
              requestId: $.stringAt('$.requestId'),
            }),
            resultPath: '$.current',
          }),
        ).next(
          sfn.Pass.jsonPath(scope, 'Objects', {
            stateName: 'template.Objects',
            comment: 'The run report lists the icons the composer used.',
            inputPath: '$.current.objects',
            resultPath: '$.reports.template.objects',
          }),
        ),
      skipThroughDegrade: true,
    });

    const containerStage = (stage: ContainerStageName, id: string) =>
      new GatedStage(this, id, {
        stage,
        breakers,
        recordOutcome: h.recordOutcome.function,
        run: (scope) => {
          const prepare = invokeHandler(scope, 'PrepareInput', {
            stateName: `${stage}.PrepareInput`,
            lambdaFunction: h.prepareStageInput.function,
            payload: sfn.TaskInput.fromObject({
              ...stageRequest(stage),
              current: $.objectAt('$.current'),
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

    // The template is valid by construction (sanitized or composed): finalize falls back to it when
    // a later stage's SVG does not survive sanitization.
    const keepTemplate = sfn.Pass.jsonPath(this, 'KeepTemplate', {
      stateName: 'template.Keep',
      inputPath: '$.current.svg',
      resultPath: '$.templateSvg',
    });
    assess.next(template).next(keepTemplate).next(detail).next(optimize).next(finalize);
    this.chain = normalize.next(clock).next(cacheLookup).next(cacheHit);
  }
}
