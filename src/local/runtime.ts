// Runs the synthesized state machine on this machine (docs/architecture.md §10): aws-local-stepfunctions
// executes the definition, and every Task resource gets a local handler (tasks.ts) that does the
// real thing against the embedded emulators.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import type { S3Client } from '@aws-sdk/client-s3';
import type { StateMachine } from 'aws-local-stepfunctions';
import { readPayload } from '#commons/payload';
import {
  type ContainerStageName,
  PayloadRef,
  PipelinePlan,
  STAGES,
  type StageName,
  StageReport,
} from '#contracts/schemas';
import { llmVariables } from '#template/llm/variables';
import { detectCapabilities } from './capabilities.ts';
import { type LocalDefinition, loadDefinition, REPO_ROOT } from './definition.ts';
import { type Emulators, startEmulators } from './emulators.ts';
import { contextObject, engineFor } from './engine-adapter.ts';
import {
  type ArtifactName,
  ExecutionFailedError,
  ExecutionOutput,
  type GenerateResult,
  type PlanSummary,
  reportOf,
  type StageProgress,
} from './result.ts';
import { buildTaskHandlers, type ExecutionScope, type StageFaults, type TaskHandler } from './tasks.ts';
import { createStageWorkers, type StageWorkers, type WorkerMode } from './workers.ts';

export { type Capabilities, detectCapabilities } from './capabilities.ts';
export type { StageFaults } from './tasks.ts';
export type { StageLoad, StageWorkers, WorkerInfo, WorkerMode } from './workers.ts';

export interface LocalRuntimeOptions {
  /** State directory. @default $CHAT2SVG_HOME or ./.chat2svg */
  readonly home?: string;
  /** Keep emulator state in a temporary directory removed on stop(). @default false */
  readonly ephemeral?: boolean;
  /** An already resolved definition. @default loadDefinition({ context }) */
  readonly definition?: LocalDefinition;
  /** CDK context for the in-process synth, e.g. `{ env: 'dev' }`. @default {} */
  readonly context?: Record<string, string>;
  /** Stage ⇒ error name its Run integration throws instead of running. @default from CHAT2SVG_FAULTS */
  readonly faults?: StageFaults;
  /** Where `<stage>/run-local` lives. @default <repo>/stage-images */
  readonly stagesDir?: string;
  /** The only folder whose modules may run as Lambda handlers. @default <repo>/functions */
  readonly handlersDir?: string;
  /** Container stages this machine can run. @default detectCapabilities() */
  readonly capabilities?: readonly ContainerStageName[];
  /** Extra environment for the handlers and workers (after the synthesized one). @default {} */
  readonly env?: Record<string, string>;
  /**
   * Keep the developer's AWS credentials (for a Bedrock template) instead of dummy keys.
   * @default false
   */
  readonly ambientCredentials?: boolean;
  /** Handlers' log level (their logs go to stdout). @default $POWERTOOLS_LOG_LEVEL, $LOG_LEVEL, else silent */
  readonly logLevel?: string;
  /** Receives one progress line per stage event. @default none */
  readonly progress?: (line: string) => void;
  /**
   * How container stages run: `task`, a run-local subprocess per call; `pool`, `perStage` warm
   * workers per stage, started now, that load their models once. @default { mode: 'task' }
   */
  readonly workers?: { readonly mode: WorkerMode; readonly perStage?: number };
}

export interface RunOptions {
  /** The execution name (and so the request id, when it is a safe key segment). @default a UUID */
  readonly name?: string;
  /** Called once per stage as its report appears. */
  readonly onStage?: (event: StageProgress) => void;
  /** Called once per drawing as the state data first holds it (references as the run keeps them). */
  readonly onArtifact?: (name: ArtifactName, ref: PayloadRef) => void;
  /** Called once with the assessment's tier, its reasons and which stages it runs (not on a cache hit). */
  readonly onPlan?: (plan: PlanSummary) => void;
}

export interface LocalRuntime {
  readonly emulators: Emulators;
  readonly definition: LocalDefinition;
  readonly capabilities: readonly ContainerStageName[];
  /** Run-integration calls per stage, faulted ones included. */
  readonly calls: Record<StageName, number>;
  /** The faults in force; change them between runs to end or start an outage. */
  readonly faults: StageFaults;
  /** Where container stages run, and how loaded they are. */
  readonly workers: StageWorkers;
  /** What the handlers get on top of their synthesized environment (emulators, options.env). */
  readonly env: Readonly<Record<string, string>>;
  /** Imports every Lambda handler now rather than on its first call. */
  preload(): Promise<void>;
  /** One generation through the pipeline's state machine, with its SVG and run report. */
  generate(request: unknown, options?: RunOptions): Promise<GenerateResult>;
  /** One execution of whatever machine this runtime holds, output as is. */
  execute(input: unknown, options?: RunOptions): Promise<ExecutionRecord>;
  /**
   * Aborts every running execution (Ctrl-C): their workers are ended, and each is reported as
   * ABORTED the way AWS reports it, which gives back any probe lease it held.
   */
  abort(): Promise<void>;
  stop(): Promise<void>;
}

/** The handler EventBridge calls for executions that end FAILED, TIMED_OUT or ABORTED. */
const EXECUTION_ENDED_ENTRY = 'functions/execution-ended.ts';

export async function createLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const definition = options.definition ?? (await loadDefinition({ context: options.context }));
  const emulators = await startEmulators({
    home: options.home,
    ephemeral: options.ephemeral,
    onWait: options.progress,
  });
  // No CloudWatch here to read EMF from: metrics would only be noise on stdout.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  let stopWorkers = async () => {};
  try {
    await emulators.ensureStores(definition.tables, definition.buckets);
    const capabilities = options.capabilities ?? detectCapabilities().stages;
    const faults = { ...(options.faults ?? parseFaults(process.env.CHAT2SVG_FAULTS)) };
    const calls = Object.fromEntries(STAGES.map((stage) => [stage, 0])) as Record<StageName, number>;
    const scope = new AsyncLocalStorage<ExecutionScope>();
    const progress = options.progress ?? (() => {});

    const env: Record<string, string> = {
      // The developer's LLM settings (ANTHROPIC_API_KEY, OPENAI_BASE_URL, …) reach the template handler.
      ...llmVariables(process.env),
      ...emulators.env,
      STAGE_CAPABILITIES: capabilities.join(','),
      // Local workers take their weights from MODEL_DIR (capabilities.ts), not the model store.
      MODEL_STORE_BUCKET: '',
      ...options.env,
    };
    if (options.ambientCredentials) {
      delete env.AWS_ACCESS_KEY_ID;
      delete env.AWS_SECRET_ACCESS_KEY;
      // The emulators answer in any region; Bedrock is called in the developer's.
      const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
      if (region) env.AWS_REGION = env.AWS_DEFAULT_REGION = region;
      // The handlers then sign emulator calls with those credentials too: let that key id in.
      const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
      const ambient = await defaultProvider()().catch(() => undefined);
      if (ambient) emulators.allowAccessKey(ambient.accessKeyId);
    }
    const workers = createStageWorkers({
      mode: options.workers?.mode ?? 'task',
      perStage: options.workers?.perStage,
      stages: capabilities,
      stagesDir: options.stagesDir ?? join(REPO_ROOT, 'stage-images'),
      env: () => ({ ...process.env, ...env }),
    });
    stopWorkers = () => workers.stop();
    const { handlers, preload, invokeFunction } = await buildTaskHandlers({
      definition,
      emulators,
      env,
      logLevel: logLevelOf(options.logLevel ?? process.env.POWERTOOLS_LOG_LEVEL ?? process.env.LOG_LEVEL),
      faults,
      calls,
      scope,
      progress,
      workers,
      handlersDir: options.handlersDir,
    });
    // Validated once, where it was synthesized (definition.ts).
    const machine = engineFor(definition.definition, { validate: false });
    const running = new Map<string, RunningExecution>();
    // What the EventBridge rule on execution status changes does in AWS.
    const ended = async (
      execution: RunningExecution,
      status: 'FAILED' | 'ABORTED',
      error: ExecutionFailedError,
    ) => {
      const event = {
        source: 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        detail: {
          executionArn: execution.arn,
          stateMachineArn: execution.stateMachineArn,
          name: execution.name,
          status,
          error: error.name,
          cause: error.message,
        },
      };
      // EventBridge retries its target; so does this, once (a cold start on a busy host can time out).
      for (let attempt = 1; attempt <= 2; attempt++) {
        try {
          await invokeFunction(EXECUTION_ENDED_ENTRY, event);
          return;
        } catch (failure) {
          if (attempt === 2)
            progress(
              `execution ${execution.name} ended ${status}; its end could not be recorded: ${(failure as Error).message}`,
            );
        }
      }
    };
    const run = (input: unknown, runOptions: RunOptions = {}) =>
      execute(machine, definition, handlers, scope, input, progress, running, ended, runOptions);

    return {
      emulators,
      definition,
      capabilities,
      calls,
      faults,
      workers,
      env,
      preload,
      execute: run,
      generate: (request, runOptions) => generate(run, emulators.s3, request, runOptions),
      abort: async () => {
        await Promise.all(
          [...running.values()].map((execution) => {
            execution.aborted = true;
            for (const worker of execution.scope.workers) worker.kill('SIGKILL');
            execution.abort();
            return execution.finished;
          }),
        );
      },
      stop: once(async () => {
        await workers.stop();
        await emulators.stop();
      }),
    };
  } catch (error) {
    await stopWorkers();
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

interface RunningExecution {
  readonly name: string;
  readonly arn: string;
  readonly stateMachineArn: string;
  readonly scope: ExecutionScope;
  readonly abort: () => void;
  /** Settles once the execution's end is recorded, however it ended. */
  readonly finished: Promise<unknown>;
  aborted: boolean;
}

type EndedHandler = (
  execution: RunningExecution,
  status: 'FAILED' | 'ABORTED',
  error: ExecutionFailedError,
) => Promise<void>;

/** Runs one execution of the machine; a failed or aborted execution throws ExecutionFailedError. */
async function execute(
  machine: StateMachine,
  definition: LocalDefinition,
  handlers: Record<string, TaskHandler>,
  scope: AsyncLocalStorage<ExecutionScope>,
  input: unknown,
  progress: (line: string) => void,
  running: Map<string, RunningExecution>,
  ended: EndedHandler,
  options: RunOptions,
): Promise<ExecutionRecord> {
  const started = performance.now();
  const name = options.name ?? randomUUID();
  const executionScope: ExecutionScope = { stageMs: 0, workers: new Set() };
  const context = contextObject(definition, name);
  const run = scope.run(executionScope, () =>
    machine.run(input as never, {
      overrides: { taskResourceLocalHandlers: handlers as never },
      context,
    }),
  );
  const statesEntered: string[] = [];
  const watching = watch(run.eventLogs, statesEntered, progress, options);
  let finish: (value: unknown) => void = () => {};
  const finished = new Promise((resolve) => {
    finish = resolve;
  });
  const execution: RunningExecution = {
    name,
    arn: (context.Execution as { Id: string }).Id,
    stateMachineArn: (context.StateMachine as { Id: string }).Id,
    scope: executionScope,
    abort: () => run.abort(),
    finished,
    aborted: false,
  };
  running.set(name, execution);
  try {
    const output = await run.result;
    await watching;
    return { output, statesEntered, totalMs: performance.now() - started, stageMs: executionScope.stageMs };
  } catch (error) {
    await watching.catch(() => {});
    const failure = execution.aborted
      ? new ExecutionFailedError('States.Aborted', 'the execution was aborted')
      : failureOf(error as Error);
    await ended(execution, execution.aborted ? 'ABORTED' : 'FAILED', failure);
    throw failure;
  } finally {
    running.delete(name);
    finish(undefined);
  }
}

function failureOf(error: Error): ExecutionFailedError {
  const cause = error.cause as Error | undefined;
  return new ExecutionFailedError(cause?.name ?? 'States.Runtime', cause?.message ?? error.message);
}

/** One generation: the execution, its SVG and the run report of docs/architecture.md §11. */
async function generate(
  run: (input: unknown, options?: RunOptions) => Promise<ExecutionRecord>,
  s3: S3Client,
  request: unknown,
  options?: RunOptions,
): Promise<GenerateResult> {
  const started = performance.now();
  const { output: raw, statesEntered, stageMs } = await run(request, options);
  const output = ExecutionOutput.parse(raw);
  const svg = (await readPayload(output.result.svg, s3)).toString('utf8');
  // Reading the result SVG back is part of what a caller waits for.
  const report = reportOf(output, performance.now() - started, stageMs);
  return { report, svg, output, statesEntered };
}

/** The parts of the state data (docs/state-machine.md) progress is read from. */
interface StateData {
  reports?: Record<string, unknown>;
  current?: { svg?: unknown; target?: unknown };
  templateSvg?: unknown;
  plan?: unknown;
}

type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** Prints one line per stage as its report appears in the state data, and records states entered. */
async function watch(
  events: AsyncGenerator<EventLog>,
  statesEntered: string[],
  progress: (line: string) => void,
  { onStage, onArtifact, onPlan }: RunOptions,
): Promise<void> {
  const printed = new Set<string>();
  let planned = false;
  const found = new Set<ArtifactName>();
  const artifact = (name: ArtifactName, value: unknown) => {
    const ref = PayloadRef.safeParse(value);
    if (found.has(name) || !ref.success) return;
    found.add(name);
    onArtifact?.(name, ref.data);
  };
  for await (const event of events) {
    if (event.type === 'StateEntered') statesEntered.push(event.state.name);
    if (event.type !== 'StateExited') continue;
    const data = event.state.output as StateData | null;
    artifact('template', data?.templateSvg);
    const plan = PipelinePlan.safeParse(data?.plan);
    if (!planned && plan.success) {
      planned = true;
      const { tier, reasons, stages } = plan.data;
      const runs = Object.fromEntries(STAGES.map((stage) => [stage, stages[stage].run]));
      onPlan?.({ tier, reasons, runs: runs as PlanSummary['runs'] });
    }
    for (const [stage, value] of Object.entries(data?.reports ?? {})) {
      const report = StageReport.safeParse(value);
      if (printed.has(stage) || !report.success) continue;
      printed.add(stage);
      const { status, reason, durationMs } = report.data;
      // The report is recorded right after the stage's output lands in $.current.
      if (status === 'ran' && (stage === 'detail' || stage === 'optimize')) {
        artifact(stage, data?.current?.svg);
        if (stage === 'detail') artifact('detail-target', data?.current?.target);
      }
      onStage?.({ stage, status, reason, durationMs });
      const why = reason && status !== 'ran' ? `: ${reason}` : '';
      progress(`[${stage}] ${status}${status === 'ran' ? ` ${Math.round(durationMs)} ms` : ''}${why}`);
    }
  }
}

const FAULT_ENTRY = /^(template|detail|optimize):([A-Z][A-Za-z]*(?:\.[A-Z][A-Za-z]*)?)$/;

/**
 * `optimize:Stage.Failed,template:Stage.Timeout` ⇒ faults per stage. Strict: any entry that is not
 * exactly `<stage>:<ErrorName>` (or names a stage twice) fails the whole spec, so nothing of it is
 * silently dropped.
 */
export function parseFaults(raw: string | undefined): StageFaults {
  const faults: StageFaults = {};
  if (raw === undefined || raw.trim() === '') return faults;
  for (const item of raw.split(',')) {
    const entry = item.trim();
    const match = FAULT_ENTRY.exec(entry);
    if (!match) {
      throw new Error(
        `CHAT2SVG_FAULTS entry "${entry}" is not <template|detail|optimize>:<ErrorName> (e.g. optimize:Stage.Failed)`,
      );
    }
    const stage = match[1] as StageName;
    if (faults[stage]) throw new Error(`CHAT2SVG_FAULTS names ${stage} twice`);
    faults[stage] = match[2].includes('.') ? match[2] : `Stage.${match[2]}`;
  }
  return faults;
}

const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;

/** A Powertools log level from a setting such as `info`; silent when unset or unknown. */
function logLevelOf(raw: string | undefined): LogLevel {
  const level = (raw ?? '').toUpperCase();
  return (LOG_LEVELS as readonly string[]).includes(level) ? (level as LogLevel) : 'SILENT';
}

function once(action: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= action();
    return done;
  };
}
