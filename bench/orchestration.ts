// Orchestration overhead of the local runtime: many generations in one warm process, distinct
// prompts (cache misses) and a few repeats (hits). Overhead = total minus stage work (template
// composer/LLM and container stage processes), i.e. what the state machine, the emulators and the
// orchestration Lambdas cost per request. Goal: p50 ≤ 150 ms.
//
//   npx tsx bench/orchestration.ts [--runs 30] [--hits 5] [--stages fake|none|detect]
//
// --stages fake (default) runs detail and optimize as the stand-in workers of test/support/stages,
// so the container path (prepare input, RunTask, record outcome) is exercised without torch;
// none runs no container stage; detect uses what this machine has (real Python workers).
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ContainerStageName } from '#contracts/schemas';
import { loadDefinition, REPO_ROOT } from '#local/definition';
import { createLocalRuntime, detectCapabilities } from '#local/runtime';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    hits: { type: 'string', default: '5' },
    stages: { type: 'string', default: 'fake' },
  },
});
const runs = Number(values.runs);
const hits = Number(values.hits);
const stagesMode = values.stages as 'fake' | 'none' | 'detect';
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(hits) || hits < 0) {
  throw new Error('--runs and --hits take whole numbers');
}
if (!['fake', 'none', 'detect'].includes(stagesMode)) throw new Error('--stages is fake, none or detect');

const capabilities: ContainerStageName[] =
  stagesMode === 'none' ? [] : stagesMode === 'fake' ? ['detail', 'optimize'] : detectCapabilities().stages;
const stagesDir = stagesMode === 'fake' ? join(REPO_ROOT, 'test/support/stages') : undefined;

const loadStarted = performance.now();
const definition = await loadDefinition();
const definitionMs = performance.now() - loadStarted;
const startStarted = performance.now();
const runtime = await createLocalRuntime({ ephemeral: true, definition, capabilities, stagesDir });
const startMs = performance.now() - startStarted;

// Warm-up: the first run pays for lazy imports and JIT; a CLI run pays it too, a warm process not.
await runtime.generate({ prompt: 'warm-up: a small house', seed: 1 });

const misses: { totalMs: number; orchestrationMs: number; objectsWritten: number }[] = [];
const subjects = [
  'fox',
  'lighthouse',
  'teapot',
  'bicycle',
  'castle',
  'tree',
  'boat',
  'owl',
  'cactus',
  'rocket',
];
for (let i = 0; i < runs; i++) {
  const prompt = `a ${['red', 'blue', 'green'][i % 3]} ${subjects[i % subjects.length]} number ${i}`;
  const { report } = await runtime.generate({ prompt, seed: i });
  if (report.cache !== 'miss') throw new Error(`run ${i} was a cache ${report.cache}`);
  misses.push({ ...report.timings, objectsWritten: report.objectsWritten });
}
const hitRuns: { totalMs: number; orchestrationMs: number }[] = [];
for (let i = 0; i < hits; i++) {
  const j = i % runs;
  const prompt = `a ${['red', 'blue', 'green'][j % 3]} ${subjects[j % subjects.length]} number ${j}`;
  const { report } = await runtime.generate({ prompt, seed: j });
  if (report.cache !== 'hit') throw new Error(`repeat ${i} was a cache ${report.cache}`);
  hitRuns.push(report.timings);
}
await runtime.stop();

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const ms = (value: number) => (Number.isNaN(value) ? '–' : `${value.toFixed(1)} ms`);
const row = (name: string, series: number[]) =>
  `| ${name} | ${series.length} | ${ms(percentile(series, 50))} | ${ms(percentile(series, 95))} | ${ms(Math.max(...series))} |`;

const objects = misses.map((run) => run.objectsWritten);
const p50 = percentile(
  misses.map((run) => run.orchestrationMs),
  50,
);
console.log(`## Local orchestration overhead

Command: \`npx tsx bench/orchestration.ts --runs ${runs} --hits ${hits} --stages ${stagesMode}\`
Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; container stages: ${capabilities.join(', ') || 'none'} (${stagesMode})
Definition: ${definition.synthMs} ms in-process synth when built; loaded in ${definitionMs.toFixed(0)} ms this time. Runtime start (emulators, tables; handlers load on first call): ${startMs.toFixed(0)} ms.

| measure | runs | p50 | p95 | max |
|---|---|---|---|---|
${row(
  'orchestration, cache miss (total − stage work)',
  misses.map((run) => run.orchestrationMs),
)}
${row(
  'total, cache miss',
  misses.map((run) => run.totalMs),
)}
${row(
  'total, cache hit',
  hitRuns.map((run) => run.totalMs),
)}

S3 objects written per generation: mean ${(objects.reduce((a, b) => a + b, 0) / objects.length).toFixed(2)}, max ${Math.max(...objects)}.
Goal p50 orchestration ≤ 150 ms: ${p50 <= 150 ? 'met' : 'NOT met'} (${ms(p50)}).`);
