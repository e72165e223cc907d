// `chat2svg generate "<prompt>"`: runs the synthesized state machine on this machine and writes the
// SVG, a PNG preview beside it and the JSON run report (docs/architecture.md §11).
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Resvg } from '@resvg/resvg-js';
import { describeIssues } from '#commons/errors';
import { GenerationRequest, LlmProvider, type RunReport } from '#contracts/schemas';
import {
  createLocalRuntime,
  detectCapabilities,
  ExecutionFailedError,
  type GenerateResult,
} from './runtime.ts';
import { generateOnServer } from './serve/client.ts';
import { type ServeCommand, startServe } from './serve/serve.ts';
import { WORKER_MODES, type WorkerMode } from './workers.ts';

const USAGE = `Usage: chat2svg generate "<prompt>" [options]
       chat2svg serve [--port 8787] [--host 127.0.0.1] [--workers N] [--worker-mode pool|task]

generate runs the chat2svg pipeline (the same state machine as in AWS) on this machine, or on a
running \`chat2svg serve\` with --server. serve keeps one runtime (emulators, definition, warm stage
workers) behind the deployed API's routes: POST /v1/generations, GET /v1/generations/{id}.

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
  -h, --help       this help

Options (serve):
  --port N         TCP port (default 8787; 0 picks a free one)
  --host H         address to listen on (default 127.0.0.1)
  --workers N      warm workers per container stage (default 1)
  --worker-mode M  pool (warm workers, default) | task (a subprocess per request)

Environment:
  CHAT2SVG_HOME    state directory: emulator data, breakers, cache (default ./.chat2svg)
  MODEL_DIR        SDXL/SAM weights for the detail stage (skipped without them)
  CHAT2SVG_FAULTS  fault injection, e.g. optimize:Stage.Failed
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

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  try {
    const command = parseCommand(argv);
    if (command === 'help') {
      io.stdout(USAGE);
      return 0;
    }
    if (command.kind === 'serve') return await serve(command, io);
    return await generate(command, io);
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
  readonly request: GenerationRequest;
  readonly out: string;
  readonly report: string;
  readonly verbose: boolean;
  /** A running `chat2svg serve` to send the request to. */
  readonly server?: string;
}

function parseCommand(argv: string[]): GenerateCommand | ServeCommand | 'help' {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (error) {
    // parseArgs explains at length over several lines; the first says what is wrong.
    throw new UsageError(`${(error as Error).message.split('\n')[0]} (see chat2svg --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const [command, ...rest] = positionals;
  if (command === undefined) throw new UsageError('missing command; try: chat2svg generate "a red fox"');
  if (command === 'serve') return parseServe(values, rest);
  if (command !== 'generate')
    throw new UsageError(`unknown command "${command}"; the commands are generate and serve`);
  if (rest.length === 0) throw new UsageError('generate needs a prompt: chat2svg generate "a red fox"');
  if (rest.length > 1) throw new UsageError('give the prompt as one quoted argument');

  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !(Number.isInteger(seed) && /^\d+$/.test(values.seed ?? ''))) {
    throw new UsageError(`--seed must be a non-negative integer, got "${values.seed}"`);
  }
  const llm = values.llm ?? process.env.CHAT2SVG_LLM;
  if (llm !== undefined && !LlmProvider.safeParse(llm).success) {
    throw new UsageError(`--llm must be one of ${LlmProvider.options.join(', ')}, got "${llm}"`);
  }
  const candidate = { prompt: rest[0], style: values.style, tier: values.tier, seed, llm };
  const request = GenerationRequest.safeParse(
    Object.fromEntries(Object.entries(candidate).filter(([, value]) => value !== undefined)),
  );
  if (!request.success) throw new UsageError(describeIssues(request.error));

  const out = resolve(values.out ?? `out/${slug(request.data.prompt)}.svg`);
  const report = resolve(values.report ?? `${out.replace(/\.svg$/i, '')}.report.json`);
  if (values.server !== undefined && !/^https?:\/\/[^/]+/.test(values.server))
    throw new UsageError(`--server must be an http(s) URL, got "${values.server}"`);
  return {
    kind: 'generate',
    request: request.data,
    out,
    report,
    verbose: values.verbose ?? false,
    server: values.server,
  };
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
  const mode = values['worker-mode'] ?? 'pool';
  if (!(WORKER_MODES as readonly string[]).includes(mode))
    throw new UsageError(`--worker-mode must be one of ${WORKER_MODES.join(', ')}, got "${mode}"`);
  return {
    kind: 'serve',
    port: count('port', values.port, 8787, 0, 65_535),
    host: values.host ?? '127.0.0.1',
    workers: count('workers', values.workers, 1, 1, 64),
    workerMode: mode as WorkerMode,
    verbose: values.verbose ?? false,
  };
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
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

async function generate(command: GenerateCommand, io: CliIo): Promise<number> {
  if (command.verbose) process.env.LOG_LEVEL ??= 'info';
  const result = command.server
    ? await generateOnServer(command.server, command.request, (line) => io.stderr(`${line}\n`))
    : await generateHere(command, io);
  const png = `${command.out.replace(/\.svg$/i, '')}.png`;
  writeFile(command.out, result.svg);
  writeFile(png, renderPng(result.svg));
  writeFile(command.report, `${JSON.stringify(result.report, null, 2)}\n`);
  io.stderr(`${summary(result.report)}\n`);
  io.stderr(`wrote ${command.out}, ${png}, ${command.report}\n`);
  io.stdout(`${command.out}\n`);
  return 0;
}

async function generateHere(command: GenerateCommand, io: CliIo): Promise<GenerateResult> {
  // The plan only says a stage cannot run here; say what this machine lacks for it.
  const { stages, missing } = detectCapabilities();
  for (const [stage, reason] of Object.entries(missing))
    io.stderr(`[${stage}] not available here: ${reason}\n`);
  const runtime = await createLocalRuntime({
    capabilities: stages,
    progress: (line) => io.stderr(`${line}\n`),
    // Bedrock is the one real AWS call a local run makes: it keeps the developer's own credentials.
    ambientCredentials: command.request.llm === 'bedrock',
  });
  try {
    return await runtime.generate(command.request);
  } finally {
    await runtime.stop();
  }
}

async function serve(command: ServeCommand, io: CliIo): Promise<number> {
  if (command.verbose) process.env.LOG_LEVEL ??= 'info';
  const { stages, missing } = detectCapabilities();
  for (const [stage, reason] of Object.entries(missing))
    io.stderr(`[${stage}] not available here: ${reason}\n`);
  const running = await startServe({
    port: command.port,
    host: command.host,
    capabilities: stages,
    workers: { mode: command.workerMode, perStage: command.workers },
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

function renderPng(svg: string): Buffer {
  return new Resvg(svg, { fitTo: { mode: 'width', value: 512 }, background: 'white' }).render().asPng();
}

function writeFile(path: string, data: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

export function slug(prompt: string): string {
  const words = prompt
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  return words || 'generation';
}

// The SDK warns on every start that Node 20 support ends; the CLI says nothing the user can act on.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
