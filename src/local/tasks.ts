// The state machine's Task integrations, run locally (ARCHITECTURE.md §8): Lambda handler modules
// in-process, DynamoDB calls on dynalite, ECS container stages on this machine's stage workers
// (workers.ts: a run-local subprocess per call, or a warm pool). Each Task state of the definition gets one handler.
import type { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { readPayload } from '#commons/payload';
import { PayloadRef, type StageName } from '#contracts/schemas';
import { type LocalDefinition, type LocalFunction, REPO_ROOT } from './definition.ts';
import { type Emulators, LOCAL_ACCOUNT, LOCAL_REGION } from './emulators.ts';
import { type StageWorkers, taskError } from './workers.ts';

export type StageFaults = Partial<Record<StageName, string>>;

/** What one execution accumulates while its handlers run. */
export interface ExecutionScope {
  stageMs: number;
}

export type TaskHandler = (input: unknown) => Promise<unknown>;
type LambdaHandler = (event: unknown, context: unknown) => Promise<unknown>;
type TaskState = { Type: 'Task'; Resource: string; TimeoutSeconds?: number; Parameters?: unknown };
type AnyState = { Type: string; [key: string]: unknown };
export type StatesContainer = { States: Record<string, AnyState> };

// The template stage's Run and degrade steps and the container tasks are stage work; the rest of
// the handlers (normalize, assess, prepare input, record outcome, finalize) are orchestration.
const STAGE_WORK_ENTRIES: Record<string, StageName> = {
  'functions/template/generate.ts': 'template',
  'functions/template/compose.ts': 'template',
};
const RUN_ENTRY: Record<string, StageName> = { 'functions/template/generate.ts': 'template' };

export interface HandlerDeps {
  readonly definition: LocalDefinition;
  readonly emulators: Emulators;
  readonly env: Record<string, string>;
  readonly faults: StageFaults;
  readonly calls: Record<StageName, number>;
  readonly scope: AsyncLocalStorage<ExecutionScope>;
  readonly progress: (line: string) => void;
  readonly workers: StageWorkers;
}

let loadGeneration = 0;

export interface TaskHandlers {
  readonly handlers: Record<string, TaskHandler>;
  /** Imports every handler module now, as provisioned concurrency would: a server's first request then pays no cold start. */
  preload(): Promise<void>;
}

export async function buildTaskHandlers(deps: HandlerDeps): Promise<TaskHandlers> {
  const { definition } = deps;
  // Handlers read their environment at module load, so each runtime imports its own copies.
  const generation = ++loadGeneration;
  Object.assign(process.env, deps.env);
  // Imported on first call, as Lambda does on a cold start: a run answered from the cache never
  // loads the template or finalize code. An import error then fails that Task like an init error.
  const modules = new Map<string, Promise<LambdaHandler>>();
  const handlerOf = (fn: LocalFunction) => {
    let module = modules.get(fn.logicalId);
    if (!module) {
      module = importHandler(fn.entry, { ...fn.environment, ...deps.env }, generation);
      modules.set(fn.logicalId, module);
    }
    return module;
  };
  const lambdaFor = (ref: string) => {
    const fn = definition.functions.find((f) => f.arn === stripQualifier(ref) || f.name === ref);
    if (!fn) throw new Error(`no synthesized Lambda function matches ${ref}`);
    return fn;
  };

  const handlers: Record<string, TaskHandler> = {};
  for (const [stateName, state] of taskStates(definition.definition as unknown as StatesContainer)) {
    const resource = state.Resource;
    const lambdaArn = resource.startsWith('arn:aws:lambda:') ? resource : undefined;
    if (lambdaArn || resource.startsWith('arn:aws:states:::lambda:invoke')) {
      if (resource.includes('.waitForTaskToken'))
        throw new Error(`${stateName}: lambda:invoke.waitForTaskToken is not emulated`);
      const fixedFn = lambdaArn ? lambdaFor(lambdaArn) : undefined;
      handlers[stateName] = async (input) => {
        const fn = fixedFn ?? lambdaFor(String((input as { FunctionName?: unknown }).FunctionName));
        const event = lambdaArn ? input : (input as { Payload?: unknown }).Payload;
        const stage = RUN_ENTRY[fn.entry];
        if (stage) {
          countRun(deps, stage);
          deps.progress(`[${stage}] running`);
        }
        const payload = await timed(deps.scope, STAGE_WORK_ENTRIES[fn.entry], () =>
          invokeLambda(handlerOf(fn), fn.name, event),
        );
        return lambdaArn ? payload : { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200 };
      };
      continue;
    }
    const dynamo = /^arn:aws:states:::dynamodb:(getItem|putItem|updateItem|deleteItem)$/.exec(resource);
    if (dynamo) {
      handlers[stateName] = dynamoHandler(deps.emulators.dynamodb, dynamo[1] as DynamoAction);
      continue;
    }
    if (resource === 'arn:aws:states:::ecs:runTask.waitForTaskToken') {
      handlers[stateName] = containerHandler(stateName, state, deps);
      continue;
    }
    throw new Error(`state ${stateName}: no local handler for resource ${resource}`);
  }
  return {
    handlers,
    preload: async () => {
      // An import error surfaces on the handler's first invocation, as a Lambda init error does.
      await Promise.allSettled(definition.functions.map(handlerOf));
    },
  };
}

/** Counts one Run call of a stage, and fails it with the fault injected there, if any. */
function countRun(deps: HandlerDeps, stage: StageName): void {
  deps.calls[stage] += 1;
  const fault = deps.faults[stage];
  if (fault) throw taskError(fault, `fault injected into ${stage}`);
}

export function containerEnvironment(parameters: unknown): Record<string, unknown>[] {
  const overrides = (parameters as ContainerOverrides | undefined)?.Overrides?.ContainerOverrides ?? [];
  return overrides.flatMap((container) => container.Environment ?? []) as unknown as Record<
    string,
    unknown
  >[];
}

function* taskStates(container: StatesContainer): Generator<[string, TaskState]> {
  for (const [name, state] of Object.entries(container.States)) {
    if (state.Type === 'Task') yield [name, state as unknown as TaskState];
    if (state.Type === 'Parallel') {
      for (const branch of state.Branches as StatesContainer[]) yield* taskStates(branch);
    }
    if (state.Type === 'Map') yield* taskStates((state.ItemProcessor ?? state.Iterator) as StatesContainer);
  }
}

function stripQualifier(arn: string): string {
  // arn:aws:lambda:region:account:function:name[:qualifier]
  return arn.split(':').slice(0, 7).join(':');
}

async function importHandler(entry: string, env: Record<string, string>, generation: number) {
  Object.assign(process.env, env);
  const url = `${pathToFileURL(join(REPO_ROOT, entry)).href}?runtime=${generation}`;
  const module = (await import(url)) as { handler?: LambdaHandler };
  if (typeof module.handler !== 'function') throw new Error(`${entry} exports no handler`);
  return module.handler;
}

async function invokeLambda(
  loading: Promise<LambdaHandler>,
  functionName: string,
  event: unknown,
): Promise<unknown> {
  const deadline = Date.now() + 30_000;
  const context = {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    // Init errors (a module that fails to load) surface on the invocation, as in Lambda.
    const handler = await loading;
    // Lambda hands the state machine JSON, never live objects.
    return JSON.parse(JSON.stringify((await handler(structuredClone(event), context)) ?? null));
  } catch (error) {
    const { name, message } = error as Error;
    // The Cause Step Functions records for a Lambda error.
    throw taskError(name || 'Error', JSON.stringify({ errorType: name || 'Error', errorMessage: message }));
  }
}

async function timed<T>(
  scope: AsyncLocalStorage<ExecutionScope>,
  stage: StageName | undefined,
  work: () => Promise<T>,
): Promise<T> {
  if (!stage) return work();
  const started = performance.now();
  try {
    return await work();
  } finally {
    const execution = scope.getStore();
    if (execution) execution.stageMs += performance.now() - started;
  }
}

type DynamoAction = 'getItem' | 'putItem' | 'updateItem' | 'deleteItem';

function dynamoHandler(client: DynamoDBClient, action: DynamoAction): TaskHandler {
  // One constructor type for all four: the request is Step Functions' Parameters, passed through.
  const Command = {
    getItem: GetItemCommand,
    putItem: PutItemCommand,
    updateItem: UpdateItemCommand,
    deleteItem: DeleteItemCommand,
  }[action] as unknown as new (
    input: unknown,
  ) => GetItemCommand;
  return async (input) => {
    try {
      const { $metadata: _, ...result } = await client.send(new Command(input));
      return JSON.parse(JSON.stringify(result));
    } catch (error) {
      const { name, message } = error as Error;
      throw taskError(`DynamoDB.${name}`, message);
    }
  };
}

interface ContainerOverrides {
  Overrides?: { ContainerOverrides?: { Environment?: { Name: string; Value: unknown }[] }[] };
}

function containerHandler(stateName: string, state: TaskState, deps: HandlerDeps): TaskHandler {
  const taskDefinition = (state.Parameters as { TaskDefinition?: string } | undefined)?.TaskDefinition;
  // ARN, family:revision or bare family: RunTask takes any of them.
  const family = taskDefinition?.replace(/^arn:.*:task-definition\//, '').replace(/:\d+$/, '');
  const stage = deps.definition.taskDefinitions.find(
    (t) => t.arn === taskDefinition || t.family === family,
  )?.stage;
  if (!stage) throw new Error(`state ${stateName}: task definition ${taskDefinition} maps to no stage`);
  const timeoutMs = (state.TimeoutSeconds ?? 900) * 1000;
  return async (input) => {
    countRun(deps, stage);
    const environment = containerEnvironment(input) as { Name: string; Value: unknown }[];
    const value = environment.find((variable) => variable.Name === 'STAGE_INPUT')?.Value;
    if (value === undefined) {
      throw taskError('Stage.InvalidInput', `${stateName}: no STAGE_INPUT in the container overrides`);
    }
    // A JSON string in AWS; the JSON itself here (see adaptForEngine).
    const ref = PayloadRef.parse(typeof value === 'string' ? JSON.parse(value) : value);
    const stageInput = await readPayload(ref, deps.emulators.s3);
    deps.progress(`[${stage}] running`);
    return timed(deps.scope, stage, () => deps.workers.run(stage, stageInput, timeoutMs));
  };
}
