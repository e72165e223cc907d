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

const USAGE = `Usage: chat2svg generate "<prompt>" [options]

Runs the chat2svg pipeline (the same state machine as in AWS) on this machine.

Options:
  --style S        style hint, e.g. "flat" or "line art"
  --tier T         auto | high | medium | low (default auto)
  --seed N         non-negative integer (default 0)
  --llm P          template provider: offline | bedrock | anthropic | openai
                   (default: $CHAT2SVG_LLM, else the deployment's default)
  --out FILE       SVG to write (default ./out/<slug>.svg); a PNG preview goes beside it
  --report FILE    JSON run report to write (default: beside the SVG, <name>.report.json)
  --verbose        handler logs on stdout
  -h, --help       this help

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

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  try {
    const command = parseCommand(argv);
    if (command === 'help') {
      io.stdout(USAGE);
      return 0;
    }
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
  readonly request: GenerationRequest;
  readonly out: string;
  readonly report: string;
  readonly verbose: boolean;
}

function parseCommand(argv: string[]): GenerateCommand | 'help' {
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
  if (command !== 'generate') throw new UsageError(`unknown command "${command}"; the command is generate`);
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
  return { request: request.data, out, report, verbose: values.verbose ?? false };
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
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

async function generate(command: GenerateCommand, io: CliIo): Promise<number> {
  if (command.verbose) process.env.LOG_LEVEL ??= 'info';
  // The plan only says a stage cannot run here; say what this machine lacks for it.
  const { stages, missing } = detectCapabilities();
  for (const [stage, reason] of Object.entries(missing))
    io.stderr(`[${stage}] not available here: ${reason}\n`);
  const stageTimeouts = process.env.CHAT2SVG_STAGE_TIMEOUTS;
  const runtime = await createLocalRuntime({
    capabilities: stages,
    progress: (line) => io.stderr(`${line}\n`),
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
  let result: GenerateResult;
  try {
    result = await runtime.generate(command.request);
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await runtime.stop();
  }
  const png = `${command.out.replace(/\.svg$/i, '')}.png`;
  writeFile(command.out, result.svg);
  writeFile(png, renderPng(result.svg));
  writeFile(command.report, `${JSON.stringify(result.report, null, 2)}\n`);
  io.stderr(`${summary(result.report)}\n`);
  io.stderr(`wrote ${command.out}, ${png}, ${command.report}\n`);
  io.stdout(`${command.out}\n`);
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
