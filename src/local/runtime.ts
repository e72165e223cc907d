// Runs the synthesized state machine on this machine (ARCHITECTURE.md §8): aws-local-stepfunctions
// executes the definition, and every Task resource gets a local handler that does the real thing
// against the embedded emulators: Lambda handler modules in-process, DynamoDB calls on dynalite,
// container stages as stage-images/<stage>/run-local subprocesses.
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { StateMachine } from 'aws-local-stepfunctions';
import { z } from 'zod';
import {
  type ContainerStageName,
  PayloadRef,
  type RunReport,
  STAGE_ERRORS,
  STAGES,
  type StageName,
  StageReport,
} from '#commons/contracts';
import { readPayload } from '#commons/payload';
import { GenerationResult } from '#commons/result';
import { detectCapabilities } from './capabilities.ts';
import { type LocalDefinition, type LocalFunction, loadDefinition, REPO_ROOT } from './definition.ts';
import { type Emulators, LOCAL_ACCOUNT, LOCAL_REGION, startEmulators } from './emulators.ts';

export { type Capabilities, detectCapabilities } from './capabilities.ts';

// aws-local-stepfunctions 3 calls Promise.withResolvers, which Node 20 lacks.
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.assign(Promise, {
    withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

export type StageFaults = Partial<Record<StageName, string>>;

export interface LocalRuntimeOptions {
  /** State directory. @default $CHAT2SVG_HOME or ./.chat2svg */
  readonly home?: string;
  /** Keep emulator state in a temporary directory removed on stop(). @default false */
  readonly ephemeral?: boolean;
  /** An already resolved definition. @default loadDefinition({ home, context }) */
  readonly definition?: LocalDefinition;
  /** CDK context for the in-process synth, e.g. `{ env: 'dev' }`. @default {} */
  readonly context?: Record<string, string>;
  /** Stage ⇒ error name its Run integration throws instead of running. @default from CHAT2SVG_FAULTS */
  readonly faults?: StageFaults;
  /** Where `<stage>/run-local` lives. @default <repo>/stage-images */
  readonly stagesDir?: string;
  /** Container stages this machine can run. @default detectCapabilities() */
  readonly capabilities?: readonly ContainerStageName[];
  /** Extra environment for the handlers and workers (after the synthesized one). @default {} */
  readonly env?: Record<string, string>;
  /**
   * Keep the developer's AWS credentials (for a Bedrock template) instead of dummy keys.
   * @default false
   */
  readonly ambientCredentials?: boolean;
  /** Receives one progress line per stage event. @default none */
  readonly progress?: (line: string) => void;
}

const ExecutionOutput = z.object({
  cache: z.enum(['hit', 'miss']),
  requestId: z.string(),
  result: GenerationResult,
});
export type ExecutionOutput = z.infer<typeof ExecutionOutput>;

export interface GenerateResult {
  readonly report: RunReport;
  readonly svg: string;
  readonly output: ExecutionOutput;
  /** Names of the states entered, in order. */
  readonly statesEntered: string[];
}

export interface LocalRuntime {
  readonly emulators: Emulators;
  readonly definition: LocalDefinition;
  readonly capabilities: readonly ContainerStageName[];
  /** Run-integration calls per stage, faulted ones included. */
  readonly calls: Record<StageName, number>;
  /** The faults in force; change them between runs to end or start an outage. */
  readonly faults: StageFaults;
  /** One generation through the pipeline's state machine, with its SVG and run report. */
  generate(request: unknown): Promise<GenerateResult>;
  /** One execution of whatever machine this runtime holds, output as is. */
  execute(input: unknown): Promise<ExecutionRecord>;
  stop(): Promise<void>;
}

/** A failed execution; `name` is the error the state machine ended with (e.g. `Request.Invalid`). */
export class ExecutionFailedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** An error as Step Functions sees it: Retry/Catch match on `name`, `message` becomes the Cause. */
function taskError(name: string, cause: string): Error {
  const error = new Error(cause);
  error.name = name;
  return error;
}

/** What one execution accumulates while its handlers run. */
interface ExecutionScope {
  stageMs: number;
}

type TaskHandler = (input: unknown) => Promise<unknown>;
type LambdaHandler = (event: unknown, context: unknown) => Promise<unknown>;
type TaskState = { Type: 'Task'; Resource: string; TimeoutSeconds?: number; Parameters?: unknown };
type AnyState = { Type: string; [key: string]: unknown };
type StatesContainer = { States: Record<string, AnyState> };

// The template stage's Run and degrade steps and the container tasks are stage work; the rest of
// the handlers (normalize, assess, prepare input, record outcome, finalize) are orchestration.
const STAGE_WORK_ENTRIES: Record<string, StageName> = {
  'functions/generate-template.ts': 'template',
  'functions/compose-template.ts': 'template',
};
const RUN_ENTRY: Record<string, StageName> = { 'functions/generate-template.ts': 'template' };

export async function createLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const definition =
    options.definition ?? (await loadDefinition({ home: options.home, context: options.context }));
  const emulators = await startEmulators({ home: options.home, ephemeral: options.ephemeral });
  // Handlers read process.env (that is their Lambda environment); put it back when done.
  const savedEnv = { ...process.env };
  try {
    await Promise.all([
      ...definition.tables.map((table) => emulators.ensureTable(table.name, table)),
      ...definition.buckets.map((bucket) => emulators.ensureBucket(bucket)),
    ]);
    const capabilities = options.capabilities ?? detectCapabilities().stages;
    const faults = { ...(options.faults ?? parseFaults(process.env.CHAT2SVG_FAULTS)) };
    const calls = Object.fromEntries(STAGES.map((stage) => [stage, 0])) as Record<StageName, number>;
    const scope = new AsyncLocalStorage<ExecutionScope>();
    const progress = options.progress ?? (() => {});

    const env: Record<string, string> = {
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
      ...emulators.env,
      STAGE_CAPABILITIES: capabilities.join(','),
      ...options.env,
    };
    if (options.ambientCredentials) {
      delete env.AWS_ACCESS_KEY_ID;
      delete env.AWS_SECRET_ACCESS_KEY;
      // The emulators answer in any region; Bedrock is called in the developer's.
      const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
      if (region) env.AWS_REGION = env.AWS_DEFAULT_REGION = region;
    }
    const handlers = await buildTaskHandlers({
      definition,
      emulators,
      env,
      faults,
      calls,
      scope,
      progress,
      stagesDir: options.stagesDir ?? join(REPO_ROOT, 'stage-images'),
    });
    const machine = new StateMachine(adaptForEngine(definition.definition) as never, {
      validationOptions: { checkPaths: true, checkArn: true },
    });
    const run = (input: unknown) => execute(machine, definition, handlers, scope, input, progress);

    return {
      emulators,
      definition,
      capabilities,
      calls,
      faults,
      execute: run,
      generate: (request) => generate(run, emulators.s3, request),
      stop: once(async () => {
        restoreEnv(savedEnv);
        await emulators.stop();
      }),
    };
  } catch (error) {
    restoreEnv(savedEnv);
    await emulators.stop();
    throw error;
  }
}

export interface ExecutionRecord {
  /** The execution's output, as Step Functions would return it. */
  readonly output: unknown;
  /** Names of the states entered, in order. */
  readonly statesEntered: string[];
  readonly totalMs: number;
  /** Time spent in stage work (template Run/Compose, container stages). */
  readonly stageMs: number;
}

/** Runs one execution of the machine; a failed execution throws ExecutionFailedError. */
async function execute(
  machine: StateMachine,
  definition: LocalDefinition,
  handlers: Record<string, TaskHandler>,
  scope: AsyncLocalStorage<ExecutionScope>,
  input: unknown,
  progress: (line: string) => void,
): Promise<ExecutionRecord> {
  const started = performance.now();
  const name = randomUUID();
  const execution: ExecutionScope = { stageMs: 0 };
  const run = scope.run(execution, () =>
    machine.run(input as never, {
      overrides: { taskResourceLocalHandlers: handlers as never },
      context: contextObject(definition, name),
    }),
  );
  const statesEntered: string[] = [];
  const watching = watch(run.eventLogs, statesEntered, progress);
  try {
    const output = await run.result;
    await watching;
    return { output, statesEntered, totalMs: performance.now() - started, stageMs: execution.stageMs };
  } catch (error) {
    await watching;
    const cause = (error as Error).cause as Error | undefined;
    throw new ExecutionFailedError(
      cause?.name ?? 'States.Runtime',
      cause?.message ?? (error as Error).message,
    );
  }
}

/** One generation: the execution, its SVG and the run report of ARCHITECTURE.md §8. */
async function generate(
  run: (input: unknown) => Promise<ExecutionRecord>,
  s3: S3Client,
  request: unknown,
): Promise<GenerateResult> {
  const started = performance.now();
  const { output: raw, statesEntered, stageMs } = await run(request);
  const output = ExecutionOutput.parse(raw);
  const svg = (await readPayload(output.result.svg, s3)).toString('utf8');
  // Reading the result SVG back is part of what a caller waits for.
  const totalMs = performance.now() - started;
  const { result } = output;
  const report: RunReport = {
    requestId: output.requestId,
    cache: output.cache,
    tier: result.tier,
    degraded: result.degraded,
    stages: result.stages,
    timings: {
      totalMs: round(totalMs),
      orchestrationMs: round(Math.max(0, totalMs - stageMs)),
    },
    output: result.output,
    objectsWritten: result.objectsWritten,
  };
  return { report, svg, output, statesEntered };
}

type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** Prints one line per stage as its report appears in the state data, and records states entered. */
async function watch(
  events: AsyncGenerator<EventLog>,
  statesEntered: string[],
  progress: (line: string) => void,
): Promise<void> {
  const printed = new Set<string>();
  for await (const event of events) {
    if (event.type === 'StateEntered') statesEntered.push(event.state.name);
    if (event.type !== 'StateExited') continue;
    const reports = (event.state.output as { reports?: Record<string, unknown> } | null)?.reports;
    for (const [stage, value] of Object.entries(reports ?? {})) {
      const report = StageReport.safeParse(value);
      if (printed.has(stage) || !report.success) continue;
      printed.add(stage);
      const { status, reason, durationMs } = report.data;
      const why = reason && status !== 'ran' ? `: ${reason}` : '';
      progress(`[${stage}] ${status}${status === 'ran' ? ` ${Math.round(durationMs)} ms` : ''}${why}`);
    }
  }
}

/**
 * The Context Object. aws-local-stepfunctions copies it one level deep, so the getters of nested
 * objects stay live: each state step sees its own EnteredTime and task token, stable while that
 * step's paths are evaluated (one synchronous run) and fresh for the next.
 */
function contextObject(definition: LocalDefinition, executionName: string): Record<string, unknown> {
  const enteredTime = perStep(() => new Date().toISOString());
  const token = perStep(() => randomBytes(24).toString('base64url'));
  const stateMachineArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${definition.stateMachineName}`;
  return {
    Execution: {
      Id: `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${definition.stateMachineName}:${executionName}`,
      Name: executionName,
      StartTime: new Date().toISOString(),
    },
    StateMachine: { Id: stateMachineArn, Name: definition.stateMachineName },
    State: {
      get EnteredTime() {
        return enteredTime();
      },
    },
    Task: {
      get Token() {
        return token();
      },
    },
  };
}

function perStep<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => {
    if (value === undefined) {
      value = make();
      queueMicrotask(() => {
        value = undefined;
      });
    }
    return value;
  };
}

interface HandlerDeps {
  readonly definition: LocalDefinition;
  readonly emulators: Emulators;
  readonly env: Record<string, string>;
  readonly faults: StageFaults;
  readonly calls: Record<StageName, number>;
  readonly scope: AsyncLocalStorage<ExecutionScope>;
  readonly progress: (line: string) => void;
  readonly stagesDir: string;
}

let loadGeneration = 0;

async function buildTaskHandlers(deps: HandlerDeps): Promise<Record<string, TaskHandler>> {
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
          deps.calls[stage] += 1;
          const fault = deps.faults[stage];
          if (fault) throw taskError(fault, `fault injected into ${stage}`);
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
  return handlers;
}

/**
 * Works around two aws-local-stepfunctions 3 bugs with rewrites that keep the meaning, on a copy:
 * - it reads `ResultPath: "$"` as a key named "$" instead of "replace the whole input", and
 *   leaving ResultPath out means exactly that;
 * - it strips every backslash from an intrinsic's string result, so `States.JsonToString` of
 *   anything holding an escaped quote (an inline SVG) is no longer JSON. In the container
 *   overrides, the value is passed through as JSON instead, and the ECS handler stringifies it.
 */
export function adaptForEngine<T>(definition: T): T {
  const copy = structuredClone(definition) as StatesContainer;
  const visit = (container: StatesContainer) => {
    for (const state of Object.values(container.States)) {
      if (state.ResultPath === '$') delete state.ResultPath;
      for (const catcher of (state.Catch ?? []) as { ResultPath?: string }[]) {
        if (catcher.ResultPath === '$') delete catcher.ResultPath;
      }
      if (state.Type === 'Task' && String(state.Resource).startsWith('arn:aws:states:::ecs:runTask')) {
        for (const variable of containerEnvironment(state.Parameters)) {
          const path = /^States\.JsonToString\((\$[^,()]*)\)$/.exec(String(variable['Value.$'] ?? ''));
          if (path) variable['Value.$'] = path[1];
        }
      }
      if (state.Type === 'Parallel') (state.Branches as StatesContainer[]).forEach(visit);
      if (state.Type === 'Map') visit((state.ItemProcessor ?? state.Iterator) as StatesContainer);
    }
  };
  visit(copy);
  return copy as T;
}

function containerEnvironment(parameters: unknown): Record<string, unknown>[] {
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
    deps.calls[stage] += 1;
    const fault = deps.faults[stage];
    if (fault) throw taskError(fault, `fault injected into ${stage}`);
    const environment = containerEnvironment(input) as { Name: string; Value: unknown }[];
    const value = environment.find((variable) => variable.Name === 'STAGE_INPUT')?.Value;
    if (value === undefined) {
      throw taskError('Stage.InvalidInput', `${stateName}: no STAGE_INPUT in the container overrides`);
    }
    // A JSON string in AWS; the JSON itself here (see adaptForEngine).
    const ref = PayloadRef.parse(typeof value === 'string' ? JSON.parse(value) : value);
    const stageInput = await readPayload(ref, deps.emulators.s3);
    deps.progress(`[${stage}] running`);
    return timed(deps.scope, stage, () =>
      runLocal(
        join(deps.stagesDir, stage, 'run-local'),
        stageInput,
        { ...process.env, ...deps.env },
        timeoutMs,
      ),
    );
  };
}

/** Runs one container stage as a subprocess: StageInput on stdin, StageOutput on stdout. */
export function runLocal(
  executable: string,
  stageInput: Buffer,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<unknown> {
  try {
    accessSync(executable, constants.X_OK);
  } catch {
    return Promise.reject(taskError('Stage.Unavailable', `${executable} is missing or not executable`));
  }
  return new Promise((resolve, reject) => {
    const child = spawn(executable, [], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    let timedOut = false;
    timer.unref();
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      // Workers log to stderr; only the end (where the failure line is) matters here.
      stderr = (stderr + chunk.toString('utf8')).slice(-65_536);
    });
    child.stdin.on('error', () => {}); // a worker that exits early closes stdin; its exit code tells why
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(taskError('Stage.Unavailable', `${executable}: ${error.message}`));
    });
    child.on('exit', () => {
      timedOut = timedOut || child.signalCode === 'SIGKILL';
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) {
        try {
          resolve(JSON.parse(Buffer.concat(stdout).toString('utf8')));
        } catch {
          reject(taskError('Stage.Failed', `${executable} exited 0 without a StageOutput on stdout`));
        }
        return;
      }
      if (timedOut) {
        reject(taskError('States.Timeout', `${executable} ran past ${timeoutMs} ms`));
        return;
      }
      reject(workerFailure(stderr, code));
    });
    child.stdin.end(stageInput);
  });
}

/** The `{"error": "Stage.…", "cause": "…"}` line a failing worker writes last on stderr. */
function workerFailure(stderr: string, code: number | null): Error {
  const lines = stderr.trim().split('\n').reverse();
  for (const line of lines) {
    try {
      const parsed = JSON.parse(line) as { error?: unknown; cause?: unknown };
      if (typeof parsed.error === 'string') {
        const known = (STAGE_ERRORS as readonly string[]).includes(parsed.error);
        return taskError(known ? parsed.error : 'Stage.Failed', String(parsed.cause ?? parsed.error));
      }
    } catch {
      // not the failure line
    }
  }
  return taskError(
    'Stage.Failed',
    `run-local exited with ${code}: ${lines.slice(0, 3).reverse().join(' | ')}`,
  );
}

/** `optimize:Stage.Failed,template:Stage.Timeout` ⇒ faults per stage. */
export function parseFaults(raw: string | undefined): StageFaults {
  const faults: StageFaults = {};
  for (const entry of (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)) {
    const [stage, error] = entry.split(':', 2).map((part) => part.trim());
    if (!(STAGES as readonly string[]).includes(stage) || !error) {
      throw new Error(`CHAT2SVG_FAULTS entry "${entry}" is not <template|detail|optimize>:<ErrorName>`);
    }
    faults[stage as StageName] = error.includes('.') ? error : `Stage.${error}`;
  }
  return faults;
}

function restoreEnv(saved: NodeJS.ProcessEnv): void {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
}

function once(action: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= action();
    return done;
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
