// `chat2svg generate "<prompt>"`: runs the synthesized state machine on this machine and writes the
// SVG, a PNG preview beside it and the JSON run report (docs/architecture.md §11).
import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeIssues } from '#commons/errors';
import { GenerationRequest, LlmProvider, type RunReport } from '#contracts/schemas';
import { type Preview, type PreviewBudget, startPreview } from './preview.ts';
import { ExecutionFailedError, type GenerateResult } from './result.ts';
import type { ServeCommand } from './serve/serve.ts';
import { WORKER_MODES, type WorkerMode } from './workers.ts';

const USAGE = `Usage: chat2svg generate "<prompt>" [options]
       chat2svg serve [--port 8787] [--host 127.0.0.1] [--workers N] [--worker-mode pool|task]
       chat2svg doctor [--reset-home]

Runs the chat2svg pipeline (the same state machine as in AWS) on this machine. Runs on one
state directory wait for each other. serve keeps one runtime (emulators, definition, warm stage
workers) behind the deployed API's routes (POST /v1/generations, GET /v1/generations/{id});
generate --server sends the request there. doctor checks the state directory and repairs what
would fail a run; --reset-home removes everything chat2svg keeps there instead.

Options (generate):
  --style S        style hint, e.g. "flat" or "line art"
  --tier T         auto | high | medium | low (default auto)
  --seed N         non-negative integer (default 0)
  --llm P          template provider: offline | bedrock | anthropic | openai
                   (default: $CHAT2SVG_LLM, else the deployment's default)
  --out FILE       SVG to write (default ./out/<slug>.svg); a PNG preview goes beside it
  --report FILE    JSON run report to write (default: beside the SVG, <name>.report.json)
  --server URL     send the request to a running chat2svg serve (e.g. http://127.0.0.1:8787)
  --verbose        handler logs on stdout
  --reset-home     (doctor) start the state directory from empty
  -h, --help       this help

Options (serve):
  --port N         TCP port (default 8787; 0 picks a free one)
  --host H         address to listen on (default 127.0.0.1)
  --workers N      warm workers per container stage (default 1)
  --worker-mode M  pool (warm workers, default) | task (a subprocess per request)
  --admission A    adaptive (load-adaptive tiers, 429 when the environment rejects; default) |
                   off (every request taken; tier auto stays medium)

Environment:
  CHAT2SVG_HOME    state directory: emulator data, breakers, cache (default ./.chat2svg)
  MODEL_DIR        SDXL/SAM weights for the detail stage (skipped without them)
  CHAT2SVG_FAULTS  fault injection, e.g. optimize:Stage.Failed
  CHAT2SVG_STAGE_TIMEOUTS
                   shorter stage timeouts for this run, e.g. optimize=30 (the stage's
                   task limit and its probe lease)
  CHAT2SVG_STAGES_DIR
                   where <stage>/run-local lives (default <repo>/stage-images)

Ctrl-C aborts the run: its workers are stopped and any probe lease it holds is given back.
`;

/** A usage error: one line on stderr, exit code 2. */
class UsageError extends Error {}

interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export interface CliOptions {
  /** Budgets for the PNG preview. @default startPreview's */
  readonly preview?: PreviewBudget;
}

export async function main(argv: string[], io: CliIo = processIo, options: CliOptions = {}): Promise<number> {
  try {
    const command = parseCommand(argv);
    if (command === 'help') {
      io.stdout(USAGE);
      return 0;
    }
    if ('kind' in command && command.kind === 'serve') return await serve(command, io);
    if ('doctor' in command) {
      const [{ doctor }, { defaultHome }] = await Promise.all([
        import('./doctor.ts'),
        import('./emulators.ts'),
      ]);
      for (const line of await doctor(defaultHome(), { reset: command.reset })) io.stdout(`${line}\n`);
      return 0;
    }
    return await generate(command, io, options);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`chat2svg: ${error.message}\n`);
      return 2;
    }
    if (error instanceof ExecutionFailedError && error.name === 'Request.Invalid') {
      io.stderr(`chat2svg: invalid request: ${error.message}\n`);
      return 2;
    }
    io.stderr(`chat2svg: ${(error as Error).message}\n`);
    return 1;
  }
}

interface GenerateCommand {
  readonly kind: 'generate';
  /** A running `chat2svg serve` to send the request to. */
  readonly server?: string;
  readonly request: GenerationRequest;
  readonly out: string;
  readonly preview: string;
  readonly report: string;
  readonly verbose: boolean;
}

function parseCommand(
  argv: string[],
): GenerateCommand | ServeCommand | { doctor: true; reset: boolean } | 'help' {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(joinNegativeNumbers(argv));
  } catch (error) {
    // parseArgs explains at length over several lines; the first says what is wrong.
    throw new UsageError(`${(error as Error).message.split('\n')[0]} (see chat2svg --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const [command, ...rest] = positionals;
  if (command === undefined) throw new UsageError('missing command; try: chat2svg generate "a red fox"');
  if (command === 'doctor') {
    if (rest.length > 0) throw new UsageError('doctor takes no arguments besides --reset-home');
    return { doctor: true, reset: values['reset-home'] ?? false };
  }
  if (command === 'serve') return parseServe(values, rest);
  if (values['reset-home'])
    throw new UsageError('--reset-home goes with doctor: chat2svg doctor --reset-home');
  if (command !== 'generate') {
    throw new UsageError(`unknown command "${command}"; the commands are generate, serve and doctor`);
  }
  if (rest.length === 0) throw new UsageError('generate needs a prompt: chat2svg generate "a red fox"');
  if (rest.length > 1) throw new UsageError('give the prompt as one quoted argument');

  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !(Number.isInteger(seed) && /^\d+$/.test(values.seed ?? ''))) {
    throw new UsageError(`--seed must be a non-negative integer, got "${values.seed}"`);
  }
  const llmSource = values.llm !== undefined ? '--llm' : 'CHAT2SVG_LLM';
  const llm = values.llm ?? (process.env.CHAT2SVG_LLM || undefined);
  if (llm !== undefined && !LlmProvider.safeParse(llm).success) {
    throw new UsageError(`${llmSource} must be one of ${LlmProvider.options.join(', ')}, got "${llm}"`);
  }
  const candidate = { prompt: rest[0], style: values.style, tier: values.tier, seed, llm };
  const request = GenerationRequest.safeParse(
    Object.fromEntries(Object.entries(candidate).filter(([, value]) => value !== undefined)),
  );
  if (!request.success) throw new UsageError(describeIssues(request.error));

  const out = resolve(values.out ?? `out/${slug(request.data.prompt)}.svg`);
  if (!/\.svg$/i.test(out)) throw new UsageError(`--out must name an .svg file, got "${values.out}"`);
  const preview = `${out.slice(0, -'.svg'.length)}.png`;
  const report = resolve(values.report ?? `${out.slice(0, -'.svg'.length)}.report.json`);
  if (report === out) throw new UsageError(`--report ${report} is also the SVG (--out)`);
  if (report === preview) throw new UsageError(`--report ${report} is also the PNG preview`);
  // Checked before any work: a run should not spend its time and then fail to save.
  for (const path of [out, preview, report]) assertWritable(path);
  if (values.server !== undefined && !/^https?:\/\/[^/]+/.test(values.server))
    throw new UsageError(`--server must be an http(s) URL, got "${values.server}"`);
  const verbose = values.verbose ?? false;
  return { kind: 'generate', server: values.server, request: request.data, out, preview, report, verbose };
}

function parseServe(values: ReturnType<typeof parseOptions>['values'], rest: string[]): ServeCommand {
  if (rest.length) throw new UsageError(`serve takes no arguments, got "${rest[0]}"`);
  const count = (name: string, raw: string | undefined, fallback: number, min: number, max: number) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max)
      throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    return value;
  };
  if (values.admission !== undefined && !['adaptive', 'off'].includes(values.admission))
    throw new UsageError(`--admission must be adaptive or off, got "${values.admission}"`);
  const mode = values['worker-mode'] ?? 'pool';
  if (!(WORKER_MODES as readonly string[]).includes(mode))
    throw new UsageError(`--worker-mode must be one of ${WORKER_MODES.join(', ')}, got "${mode}"`);
  return {
    kind: 'serve',
    port: count('port', values.port, 8787, 0, 65_535),
    host: values.host ?? '127.0.0.1',
    workers: count('workers', values.workers, 1, 1, 64),
    workerMode: mode as WorkerMode,
    admission: values.admission === 'off' ? 'off' : 'adaptive',
    verbose: values.verbose ?? false,
  };
}

const VALUE_OPTIONS = new Set(['--style', '--tier', '--seed', '--llm', '--out', '--report']);

/** `--seed -1` would read as an unknown option `-1`; `--seed=-1` lets the seed check speak. */
function joinNegativeNumbers(argv: string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (VALUE_OPTIONS.has(argv[i]) && next !== undefined && /^-\d/.test(next)) {
      joined.push(`${argv[i]}=${next}`);
      i += 1;
    } else {
      joined.push(argv[i]);
    }
  }
  return joined;
}

/** The file can be written: its folder exists or can be made, and is writable; it is no folder. */
function assertWritable(path: string): void {
  try {
    if (existsSync(path) && statSync(path).isDirectory())
      throw new UsageError(`cannot write ${path}: it is a directory`);
    const dir = dirname(path);
    mkdirSync(dir, { recursive: true });
    // access(W_OK) is not enough: root passes it on read-only mounts; a probe file is the truth.
    const probe = join(dir, `.chat2svg-probe-${process.pid}`);
    writeFileSync(probe, '', { flag: 'wx' });
    rmSync(probe);
    if (existsSync(path)) accessSync(path, constants.W_OK);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const { code, message } = error as NodeJS.ErrnoException;
    throw new UsageError(`cannot write ${path}: ${code ?? message}`);
  }
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      style: { type: 'string' },
      tier: { type: 'string' },
      seed: { type: 'string' },
      llm: { type: 'string' },
      out: { type: 'string' },
      report: { type: 'string' },
      server: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      workers: { type: 'string' },
      'worker-mode': { type: 'string' },
      admission: { type: 'string' },
      verbose: { type: 'boolean' },
      'reset-home': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

async function generate(command: GenerateCommand, io: CliIo, options: CliOptions): Promise<number> {
  // Started now, so the renderer's own start-up overlaps the run rather than following it.
  const renderer = startPreview(options.preview);
  let rendering: Promise<Preview> | undefined;
  const render = (result: GenerateResult) => {
    rendering = renderer.render(result.svg);
  };
  try {
    const result = command.server
      ? await (await import('./serve/client.ts')).generateOnServer(command.server, command.request, (line) =>
          io.stderr(`${line}\n`),
        )
      : await generateHere(command, io, render);
    if (!rendering) render(result);
    writeFile(command.out, result.svg);
    writeFile(command.report, `${JSON.stringify(result.report, null, 2)}\n`);
    // The SVG and the report are the result; a preview that does not render is only skipped.
    const preview = await (rendering as Promise<Preview>);
    if ('png' in preview) writeFile(command.preview, preview.png);
    else io.stderr(`preview skipped: ${preview.skipped}\n`);
    io.stderr(`${summary(result.report)}\n`);
    const written = [command.out, ...('png' in preview ? [command.preview] : []), command.report];
    io.stderr(`wrote ${written.join(', ')}\n`);
    io.stdout(`${command.out}\n`);
    return 0;
  } finally {
    if (!rendering) renderer.cancel();
  }
}

/** Runs the request in-process; `onResult` hears of the result before the runtime is stopped. */
async function generateHere(
  command: GenerateCommand,
  io: CliIo,
  onResult: (result: GenerateResult) => void,
): Promise<GenerateResult> {
  // Loaded here: `generate --server` and the usage need none of the runtime.
  const { createLocalRuntime, detectCapabilities } = await import('./runtime.ts');
  // The plan only says a stage cannot run here; say what this machine lacks for it.
  const { stages, missing } = detectCapabilities();
  for (const [stage, reason] of Object.entries(missing))
    io.stderr(`[${stage}] not available here: ${reason}\n`);
  const stageTimeouts = process.env.CHAT2SVG_STAGE_TIMEOUTS;
  const runtime = await createLocalRuntime({
    capabilities: stages,
    progress: (line) => io.stderr(`${line}\n`),
    // --verbose: the handlers' logs at INFO, unless LOG_LEVEL / POWERTOOLS_LOG_LEVEL say otherwise.
    logLevel: verboseLevel(command.verbose),
    // Bedrock is the one real AWS call a local run makes: it keeps the developer's own credentials.
    ambientCredentials: command.request.llm === 'bedrock',
    ...(stageTimeouts ? { context: { stageTimeouts } } : {}),
    ...(process.env.CHAT2SVG_STAGES_DIR ? { stagesDir: resolve(process.env.CHAT2SVG_STAGES_DIR) } : {}),
  });
  // Ctrl-C or a plain kill: abort as AWS would, so the probe lease this run holds is given back.
  const interrupt = (signal: NodeJS.Signals) => {
    io.stderr(`chat2svg: ${signal}; aborting the run\n`);
    void runtime
      .abort()
      .then(() => runtime.stop())
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const result = await runtime.generate(command.request);
    onResult(result);
    return result;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await runtime.stop();
  }
}

function verboseLevel(verbose: boolean): string | undefined {
  return verbose ? (process.env.POWERTOOLS_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'INFO') : undefined;
}

async function serve(command: ServeCommand, io: CliIo): Promise<number> {
  const { detectCapabilities } = await import('./capabilities.ts');
  const { stages, missing } = detectCapabilities();
  for (const [stage, reason] of Object.entries(missing))
    io.stderr(`[${stage}] not available here: ${reason}\n`);
  const { startServe } = await import('./serve/serve.ts');
  const running = await startServe({
    port: command.port,
    host: command.host,
    capabilities: stages,
    workers: { mode: command.workerMode, perStage: command.workers },
    admission: command.admission,
    logLevel: verboseLevel(command.verbose),
    log: (line) => io.stderr(`${line}\n`),
  });
  io.stdout(`${running.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  io.stderr('serve: stopping\n');
  await running.stop();
  return 0;
}

function summary(report: RunReport): string {
  const degraded = report.stages.filter((stage) => stage.status === 'degraded').map((stage) => stage.name);
  return [
    `cache ${report.cache}`,
    `tier ${report.tier}`,
    degraded.length ? `degraded: ${degraded.join(', ')}` : 'not degraded',
    `${report.output.bytes} bytes, ${report.output.elements} elements`,
    `${Math.round(report.timings.totalMs)} ms (orchestration ${Math.round(report.timings.orchestrationMs)} ms)`,
  ].join(' · ');
}

function writeFile(path: string, data: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

/** A file name from the prompt's Latin words; prompts without any get a name from their hash. */
export function slug(prompt: string): string {
  const words = prompt
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  return words || `generation-${createHash('sha256').update(prompt).digest('hex').slice(0, 8)}`;
}

// The SDK warns on every start that Node 20 support ends; the CLI says nothing the user can act on.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
