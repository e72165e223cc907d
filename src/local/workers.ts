// Container stages on this machine. `task` mode runs one `stage-images/<stage>/run-local`
// subprocess per call, as ECS RunTask starts one task per request. `pool` mode keeps N warm
// `run-local pool` workers per stage that load their models once and take StageInputs from a local
// queue, one JSON line each way (stage-images/worker/chat2svg_worker/pool.py).
import { type ChildProcess, type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CONTAINER_STAGES, type ContainerStageName, STAGE_ERRORS } from '#contracts/schemas';
import { REPO_ROOT } from './definition.ts';

export type WorkerMode = 'task' | 'pool';
export const WORKER_MODES: readonly WorkerMode[] = ['task', 'pool'];

/** GPU work of one stage right now: waiting for a worker, running, and workers there are. */
export interface StageLoad {
  readonly queued: number;
  readonly running: number;
  /** Warm workers (pool), or the subprocesses running now (task: no fixed limit). */
  readonly workers: number;
}

export interface WorkerInfo {
  readonly stage: ContainerStageName;
  readonly pid: number | undefined;
  readonly ready: boolean;
  /** Requests this worker answered. */
  readonly handled: number;
  /** Model loads per model, as the worker counts them. */
  readonly modelLoads: Readonly<Record<string, number>>;
}

export interface StageWorkers {
  readonly mode: WorkerMode;
  /**
   * Runs one StageInput (JSON bytes) on a worker of `stage`; resolves with its StageOutput. A task
   * mode subprocess is added to `track` while it runs, so an aborted execution can end it.
   */
  run(
    stage: ContainerStageName,
    stageInput: Buffer,
    timeoutMs: number,
    track?: Set<ChildProcess>,
  ): Promise<unknown>;
  load(): Record<ContainerStageName, StageLoad>;
  workers(): WorkerInfo[];
  /** Resolves once every pool worker started so far has loaded (or failed to). */
  ready(): Promise<void>;
  stop(): Promise<void>;
}

export interface StageWorkersOptions {
  readonly mode: WorkerMode;
  /** Pool workers per stage. @default 1 */
  readonly perStage?: number;
  /** Stages to start pool workers for. @default both container stages */
  readonly stages?: readonly ContainerStageName[];
  /** Where `<stage>/run-local` lives. */
  readonly stagesDir: string;
  /** The workers' environment, read when a subprocess starts. */
  readonly env: () => NodeJS.ProcessEnv;
}

/** An error as Step Functions sees it: Retry/Catch match on `name`, `message` becomes the Cause. */
export function taskError(name: string, cause: string): Error {
  const error = new Error(cause);
  error.name = name;
  return error;
}

export function createStageWorkers(options: StageWorkersOptions): StageWorkers {
  return options.mode === 'pool' ? new PoolWorkers(options) : new TaskWorkers(options);
}

const executableOf = (stagesDir: string, stage: ContainerStageName) => join(stagesDir, stage, 'run-local');

function checkExecutable(executable: string): Error | undefined {
  try {
    accessSync(executable, constants.X_OK);
    return undefined;
  } catch {
    return taskError('Stage.Unavailable', `${executable} is missing or not executable`);
  }
}

const emptyLoad = (): Record<ContainerStageName, StageLoad> =>
  Object.fromEntries(
    CONTAINER_STAGES.map((stage) => [stage, { queued: 0, running: 0, workers: 0 }]),
  ) as Record<ContainerStageName, StageLoad>;

class TaskWorkers implements StageWorkers {
  readonly mode = 'task';
  private readonly running: Record<ContainerStageName, number> = { detail: 0, optimize: 0 };

  constructor(private readonly options: StageWorkersOptions) {}

  async run(
    stage: ContainerStageName,
    stageInput: Buffer,
    timeoutMs: number,
    track?: Set<ChildProcess>,
  ): Promise<unknown> {
    this.running[stage] += 1;
    try {
      return await runLocal(
        executableOf(this.options.stagesDir, stage),
        stageInput,
        this.options.env(),
        timeoutMs,
        track,
      );
    } finally {
      this.running[stage] -= 1;
    }
  }

  load() {
    const load = emptyLoad();
    for (const stage of CONTAINER_STAGES)
      load[stage] = { queued: 0, running: this.running[stage], workers: this.running[stage] };
    return load;
  }

  workers(): WorkerInfo[] {
    return [];
  }

  async ready(): Promise<void> {}
  async stop(): Promise<void> {}
}

/** Runs one container stage as a subprocess: StageInput on stdin, StageOutput on stdout. */
function runLocal(
  executable: string,
  stageInput: Buffer,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  track: Set<ChildProcess> | undefined,
): Promise<unknown> {
  const missing = checkExecutable(executable);
  if (missing) return Promise.reject(missing);
  return new Promise((resolve, reject) => {
    // Its own process group: a Ctrl-C in the terminal reaches the runtime, which aborts the
    // execution and ends its workers, rather than the worker dying first as a failed stage.
    const child = spawn(executable, [], {
      cwd: REPO_ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    track?.add(child);
    const stdout: Buffer[] = [];
    const stderr = stderrTail(child);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    timer.unref();
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stdin.on('error', () => {}); // a worker that exits early closes stdin; its exit code tells why
    child.on('error', (error) => {
      clearTimeout(timer);
      track?.delete(child);
      reject(taskError('Stage.Unavailable', `${executable}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      track?.delete(child);
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
      // Killed from outside (the OOM killer, an operator): the process died, the stage failed.
      if (signal) {
        reject(taskError('Stage.Failed', `${executable} was killed by ${signal}`));
        return;
      }
      reject(workerFailure(stderr(), code));
    });
    child.stdin.end(stageInput);
  });
}

/** Keeps the end of a worker's stderr (its logs), where the failure line is. */
function stderrTail(child: ChildProcessWithoutNullStreams): () => string {
  let tail = '';
  child.stderr.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-65_536);
  });
  return () => tail;
}

/** The error of a `{"error": "Stage.…", "cause": "…"}` document, with an unknown name as Stage.Failed. */
function stageFailure(parsed: { error?: unknown; cause?: unknown }): Error {
  const name = String(parsed.error);
  const known = (STAGE_ERRORS as readonly string[]).includes(name);
  return taskError(known ? name : 'Stage.Failed', String(parsed.cause ?? parsed.error));
}

/** The `{"error": "Stage.…", "cause": "…"}` line a failing worker writes last on stderr. */
function workerFailure(stderr: string, code: number | null): Error {
  const lines = stderr.trim().split('\n').reverse();
  for (const line of lines) {
    try {
      const parsed = JSON.parse(line) as { error?: unknown; cause?: unknown };
      if (typeof parsed.error === 'string') return stageFailure(parsed);
    } catch {
      // not the failure line
    }
  }
  return taskError(
    'Stage.Failed',
    `run-local exited with ${code}: ${lines.slice(0, 3).reverse().join(' | ')}`,
  );
}

interface Job {
  readonly id: string;
  readonly line: string;
  readonly timeoutMs: number;
  resolve(output: unknown): void;
  reject(error: Error): void;
}

class PoolWorkers implements StageWorkers {
  readonly mode = 'pool';
  private readonly pools: Record<ContainerStageName, StagePool>;

  constructor(options: StageWorkersOptions) {
    const size = Math.max(1, options.perStage ?? 1);
    const started = new Set(options.stages ?? CONTAINER_STAGES);
    this.pools = Object.fromEntries(
      CONTAINER_STAGES.map((stage) => [
        stage,
        new StagePool(stage, executableOf(options.stagesDir, stage), size, options.env, started.has(stage)),
      ]),
    ) as Record<ContainerStageName, StagePool>;
  }

  run(stage: ContainerStageName, stageInput: Buffer, timeoutMs: number): Promise<unknown> {
    return this.pools[stage].submit(stageInput, timeoutMs);
  }

  load() {
    const load = emptyLoad();
    for (const stage of CONTAINER_STAGES) load[stage] = this.pools[stage].load();
    return load;
  }

  workers(): WorkerInfo[] {
    return CONTAINER_STAGES.flatMap((stage) => this.pools[stage].info());
  }

  async ready(): Promise<void> {
    await Promise.all(CONTAINER_STAGES.map((stage) => this.pools[stage].ready()));
  }

  async stop(): Promise<void> {
    await Promise.all(CONTAINER_STAGES.map((stage) => this.pools[stage].stop()));
  }
}

/** N warm workers of one stage and the queue they take work from, first come first served. */
class StagePool {
  private readonly queue: Job[] = [];
  private readonly workers = new Set<PoolWorker>();
  private nextId = 0;
  private stopped = false;

  constructor(
    readonly stage: ContainerStageName,
    private readonly executable: string,
    private readonly size: number,
    private readonly env: () => NodeJS.ProcessEnv,
    warm: boolean,
  ) {
    if (warm && !checkExecutable(executable)) this.fill();
  }

  submit(stageInput: Buffer, timeoutMs: number): Promise<unknown> {
    const missing = checkExecutable(this.executable);
    if (missing) return Promise.reject(missing);
    if (this.stopped) return Promise.reject(taskError('Stage.Unavailable', `${this.stage} workers stopped`));
    const id = `j${++this.nextId}`;
    // One line per request: re-serialized, so no newline inside a document can split it.
    const line = `${JSON.stringify({ id, input: JSON.parse(stageInput.toString('utf8')) })}\n`;
    return new Promise((resolve, reject) => {
      this.queue.push({ id, line, timeoutMs, resolve, reject });
      this.fill();
      this.dispatch();
    });
  }

  load(): StageLoad {
    const busy = [...this.workers].filter((worker) => worker.job).length;
    return { queued: this.queue.length, running: busy, workers: this.workers.size };
  }

  info(): WorkerInfo[] {
    return [...this.workers].map((worker) => worker.info());
  }

  async ready(): Promise<void> {
    await Promise.all([...this.workers].map((worker) => worker.loaded));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const job of this.queue.splice(0))
      job.reject(taskError('Stage.Unavailable', `${this.stage} workers stopped`));
    await Promise.all([...this.workers].map((worker) => worker.stop()));
  }

  /** Starts workers up to the pool size. */
  private fill(): void {
    while (!this.stopped && this.workers.size < this.size) {
      const worker = new PoolWorker(this.stage, this.executable, this.env(), {
        idle: () => this.dispatch(),
        exited: (failure) => {
          this.workers.delete(worker);
          // A worker that cannot load fails what waits for it; a later request starts a fresh one.
          if (failure && !worker.wasReady) for (const job of this.queue.splice(0)) job.reject(failure);
          else if (this.queue.length) this.fill();
          this.dispatch();
        },
      });
      this.workers.add(worker);
    }
  }

  private dispatch(): void {
    for (const worker of this.workers) {
      if (!this.queue.length) return;
      if (worker.idle) worker.take(this.queue.shift() as Job);
    }
  }
}

class PoolWorker {
  readonly loaded: Promise<void>;
  job: Job | undefined;
  wasReady = false;
  private handled = 0;
  private modelLoads: Record<string, number> = {};
  private timer: NodeJS.Timeout | undefined;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly stderr: () => string;
  private exited = false;

  constructor(
    private readonly stage: ContainerStageName,
    executable: string,
    env: NodeJS.ProcessEnv,
    private readonly events: { idle(): void; exited(failure: Error | undefined): void },
  ) {
    this.child = spawn(executable, ['pool'], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.stderr = stderrTail(this.child);
    this.child.stdin.on('error', () => {}); // the exit handler reports why
    let markLoaded!: () => void;
    this.loaded = new Promise((resolve) => {
      markLoaded = resolve;
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => this.answer(line, markLoaded));
    this.child.on('error', () => {}); // followed by 'close'
    this.child.on('close', (code, signal) => {
      this.exited = true;
      markLoaded();
      clearTimeout(this.timer);
      const failure = signal === 'SIGKILL' && this.job ? undefined : workerFailure(this.stderr(), code);
      const job = this.job;
      this.job = undefined;
      if (job)
        job.reject(
          failure ?? taskError('States.Timeout', `${this.stage} worker ran past ${job.timeoutMs} ms`),
        );
      this.events.exited(code === 0 ? undefined : failure);
    });
  }

  get idle(): boolean {
    return this.wasReady && !this.exited && !this.job;
  }

  info(): WorkerInfo {
    return {
      stage: this.stage,
      pid: this.child.pid,
      ready: this.wasReady && !this.exited,
      handled: this.handled,
      modelLoads: { ...this.modelLoads },
    };
  }

  take(job: Job): void {
    this.job = job;
    // Past its timeout the worker is killed (as Step Functions gives up on a task) and replaced.
    this.timer = setTimeout(() => this.child.kill('SIGKILL'), job.timeoutMs);
    this.timer.unref();
    this.child.stdin.write(job.line);
  }

  stop(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('close', () => resolve());
      this.child.stdin.end();
      // A worker in the middle of a long request is not waited for.
      setTimeout(() => this.child.kill('SIGKILL'), 2_000).unref();
    });
  }

  private answer(line: string, markLoaded: () => void): void {
    let message: {
      event?: string;
      id?: string;
      output?: unknown;
      error?: unknown;
      cause?: unknown;
      modelLoads?: Record<string, number>;
    };
    try {
      message = JSON.parse(line);
    } catch {
      return; // not protocol
    }
    if (message.modelLoads) this.modelLoads = message.modelLoads;
    if (message.event === 'ready') {
      this.wasReady = true;
      markLoaded();
      this.events.idle();
      return;
    }
    const job = this.job;
    if (!job || message.id !== job.id) return;
    clearTimeout(this.timer);
    this.job = undefined;
    this.handled += 1;
    if (message.error !== undefined) job.reject(stageFailure(message));
    else job.resolve(message.output);
    this.events.idle();
  }
}
