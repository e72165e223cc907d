// The state machine's Task integrations, run locally (docs/architecture.md §10): Lambda handlers
// in-process, built by their module's factory from the synthesized environment, timeout and memory;
// DynamoDB calls on dynalite; ECS container stages on this machine's stage workers (workers.ts: a
// run-local subprocess per call, or a warm pool).
// Each Task state of the definition gets one handler.
import type { AsyncLocalStorage } from 'node:async_hooks';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { HandlerDeps } from '#commons/clients';
import type { Env } from '#commons/env';
import { type Context, createTools, invocationContext } from '#commons/lambda';
import { readPayload } from '#commons/payload';
import { PayloadRef, type StageName } from '#contracts/schemas';
import { handlerUrl, type LocalDefinition, type LocalFunction } from './definition.ts';
import { type Emulators, LOCAL_ACCOUNT, LOCAL_REGION } from './emulators.ts';
import { type StageWorkers, taskError } from './workers.ts';

export type StageFaults = Partial<Record<StageName, string>>;

/** What one execution accumulates while its handlers run. */
export interface ExecutionScope {
  stageMs: number;
  /** Whether the template stage's Run (the LLM) was called in this execution. */
  templateRun?: boolean;
}

export type TaskHandler = (input: unknown) => Promise<unknown>;
type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;
/** What every handler module under functions/ exports (docs/architecture.md §2). */
interface HandlerModule {
  configFromEnv(env: Env): unknown;
  makeHandler(config: unknown, deps: HandlerDeps): LambdaHandler;
}
type TaskState = { Type: 'Task'; Resource: string; TimeoutSeconds?: number; Parameters?: unknown };
type AnyState = { Type: string; [key: string]: unknown };
export type StatesContainer = { States: Record<string, AnyState> };

export interface TaskDeps {
  readonly definition: LocalDefinition;
  readonly emulators: Emulators;
  readonly env: Record<string, string>;
  /** Handlers' log level. */
  readonly logLevel: LogLevel;
  readonly faults: StageFaults;
  readonly calls: Record<StageName, number>;
  readonly scope: AsyncLocalStorage<ExecutionScope>;
  readonly progress: (line: string) => void;
  readonly workers: StageWorkers;
  /** Where handler modules may live. */
  readonly handlersDir?: string;
}

export interface TaskHandlers {
  readonly handlers: Record<string, TaskHandler>;
  /** Builds every handler now, as provisioned concurrency would: a server's first request pays no cold start. */
  preload(): Promise<void>;
}

export async function buildTaskHandlers(deps: TaskDeps): Promise<TaskHandlers> {
  const { definition } = deps;
  // Built on first call, as Lambda does on a cold start: a run answered from the cache never
  // loads the template or finalize code. An init error then fails that Task, as in Lambda.
  const built = new Map<string, Promise<LambdaHandler>>();
  const handlerOf = (fn: LocalFunction) => {
    let handler = built.get(fn.logicalId);
    if (!handler) {
      handler = buildHandler(fn, deps);
      built.set(fn.logicalId, handler);
    }
    return handler;
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
        if (fn.role?.step === 'run') {
          const execution = deps.scope.getStore();
          if (execution && fn.role.stage === 'template') execution.templateRun = true;
          countRun(deps, fn.role.stage);
          deps.progress(`[${fn.role.stage}] running`);
        }
        // Without an LLM the offline composer is the template stage: a template fault fails it
        // (as the degrade step after a failed Run it is the fallback, and stays fault-free).
        const composes = fn.role?.stage === 'template' && fn.role.step === 'degrade';
        if (composes && deps.faults.template && !deps.scope.getStore()?.templateRun) {
          throw taskError(deps.faults.template, 'fault injected into template (the offline composer)');
        }
        const payload = await timed(deps.scope, fn.role?.stage, () => invokeLambda(handlerOf(fn), fn, event));
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
      // A build error surfaces on the handler's first invocation, as a Lambda init error does.
      await Promise.allSettled(definition.functions.map(handlerOf));
    },
  };
}

/** Counts one Run call of a stage, and fails it with the fault injected there, if any. */
function countRun(deps: TaskDeps, stage: StageName): void {
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

/** The module's handler, built from this function's synthesized environment and the emulators' clients. */
async function buildHandler(fn: LocalFunction, deps: TaskDeps): Promise<LambdaHandler> {
  // Verified here too, so no definition (cached, handed in, or crafted) can run code elsewhere.
  const module = (await import(handlerUrl(fn.entry, deps.handlersDir))) as Partial<HandlerModule>;
  if (typeof module.makeHandler !== 'function' || typeof module.configFromEnv !== 'function')
    throw new Error(`${fn.entry} exports no makeHandler and configFromEnv`);
  const { dynamodb, s3, events } = deps.emulators;
  const config = module.configFromEnv({ ...fn.environment, ...deps.env });
  return module.makeHandler(config, {
    tools: createTools(fn.environment.POWERTOOLS_SERVICE_NAME ?? fn.name, deps.logLevel),
    clients: { dynamodb, s3, events },
  });
}

/** One invocation under the function's synthesized timeout and memory size, as Lambda runs it. */
async function invokeLambda(
  loading: Promise<LambdaHandler>,
  fn: LocalFunction,
  event: unknown,
): Promise<unknown> {
  const context = invocationContext({
    functionName: fn.name,
    timeoutSeconds: fn.timeoutSeconds,
    memorySize: fn.memorySize,
    region: LOCAL_REGION,
    account: LOCAL_ACCOUNT,
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(taskError('Sandbox.Timedout', `Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`)),
      fn.timeoutSeconds * 1000,
    );
  });
  try {
    // Init errors (a module that fails to load) surface on the invocation, as in Lambda.
    const handler = await loading;
    // Lambda hands the state machine JSON, never live objects.
    const result = await Promise.race([handler(structuredClone(event), context), timeout]);
    return JSON.parse(JSON.stringify(result ?? null));
  } catch (error) {
    const { name, message } = error as Error;
    // The Cause Step Functions records for a Lambda error.
    throw taskError(name || 'Error', JSON.stringify({ errorType: name || 'Error', errorMessage: message }));
  } finally {
    clearTimeout(timer);
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

function containerHandler(stateName: string, state: TaskState, deps: TaskDeps): TaskHandler {
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
