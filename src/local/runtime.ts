// Runs the synthesized state machine on this machine (docs/architecture.md §10): aws-local-stepfunctions
// executes the definition, and every Task resource gets a local handler (tasks.ts) that does the
// real thing against the embedded emulators.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import type { S3Client } from '@aws-sdk/client-s3';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { StateMachine } from 'aws-local-stepfunctions';
import { z } from 'zod';
import { readPayload } from '#commons/payload';
import { type ContainerStageName, RunReport, STAGES, type StageName, StageReport } from '#contracts/schemas';
import { GenerationResult } from '#functions/finalize-result/result';
import { detectCapabilities } from './capabilities.ts';
import { type LocalDefinition, loadDefinition, REPO_ROOT } from './definition.ts';
import { type Emulators, startEmulators } from './emulators.ts';
import { adaptForEngine, contextObject } from './engine-adapter.ts';
import { buildTaskHandlers, type ExecutionScope, type StageFaults, type TaskHandler } from './tasks.ts';

export { type Capabilities, detectCapabilities } from './capabilities.ts';
export type { StageFaults } from './tasks.ts';

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
}

const ExecutionOutput = z.object({
  cache: RunReport.shape.cache,
  requestId: RunReport.shape.requestId,
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

export async function createLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const definition = options.definition ?? (await loadDefinition({ context: options.context }));
  const emulators = await startEmulators({
    home: options.home,
    ephemeral: options.ephemeral,
    onWait: options.progress,
  });
  // No CloudWatch here to read EMF from: metrics would only be noise on stdout.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
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
      const ambient = await defaultProvider()().catch(() => undefined);
      if (ambient) emulators.allowAccessKey(ambient.accessKeyId);
    }
    const handlers = await buildTaskHandlers({
      definition,
      emulators,
      env,
      logLevel: logLevelOf(options.logLevel ?? process.env.POWERTOOLS_LOG_LEVEL ?? process.env.LOG_LEVEL),
      faults,
      calls,
      scope,
      progress,
      stagesDir: options.stagesDir ?? join(REPO_ROOT, 'stage-images'),
      handlersDir: options.handlersDir,
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
      stop: once(() => emulators.stop()),
    };
  } catch (error) {
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

/** One generation: the execution, its SVG and the run report of docs/architecture.md §11. */
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

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
