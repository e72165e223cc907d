// Chaos run: many generations through the local runtime, several at a time, with faults injected
// everywhere they can happen — every stage (outage windows at the Run integration; workers that
// fail, are SIGKILLed mid-task, hang past their timeout as a worker whose heartbeats stopped, print
// no output, or return script-laden SVG), every DynamoDB and S3 call (throttles, 5xx, dropped
// connections, at the emulators' fault proxy) and the LLM provider (a scripted fake: good answers,
// malformed ones, refusals, 5xx, throttling). Requirements checked: every request ends with a
// valid, sanitized SVG; no execution FAILED; one outcome event per request; every breaker's history
// in the event log is a legal CLOSED → OPEN → HALF_OPEN → CLOSED | OPEN sequence.
//
//   npx tsx bench/chaos.ts [--requests 200] [--concurrency 8]
//
// Stages are the fast stand-in workers (test/support/stages, FAKE_STAGE_CHAOS) with short stage
// timeouts (stageTimeouts context): real SDXL/PyTorch stages would take minutes per request.
// The target is in-process today (`Target`); `chat2svg serve` can be a second Target later.
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { sanitizeSvg } from '#commons/sanitize';
import {
  BreakerStateChangedEvent,
  DETAIL_TYPES,
  GENERATION_DETAIL_TYPES,
  LEGAL_BREAKER_MOVES,
} from '#contracts/events';
import { STAGES, type StageName } from '#contracts/schemas';
import { loadDefinition } from '#local/definition';
import type { GenerateResult } from '#local/result';
import { createLocalRuntime, type LocalRuntime } from '#local/runtime';
import { answer, FakeProvider, type Reply } from '../test/fixtures/llm/fake-server.ts';
import { FAKE_STAGES_DIR, rendersAsSvg } from '../test/support/local.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '8' },
  },
});
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);

/** Short stage timeouts so that hung workers end in seconds; the stage's probe lease is as long. */
const STAGE_TIMEOUTS = 'template=6,detail=3,optimize=3';
/** Breakers that react within a run of a few minutes. */
const BREAKER_ENV = {
  BREAKER_FAILURE_RATE_PERCENT: '50',
  BREAKER_MINIMUM_CALLS: '4',
  BREAKER_WINDOW_SECONDS: '10',
  BREAKER_OPEN_SECONDS: '2',
};
const WORKER_CHAOS = 'fail=0.05,kill=0.04,hang=0.03,garbage=0.03,xss=0.05';

/** Where requests go: the in-process runtime now, a `chat2svg serve` URL once it exists. */
interface Target {
  generate(request: object): Promise<Pick<GenerateResult, 'svg' | 'report'>>;
  readonly eventsFile: string;
}

const fake = await FakeProvider.start();
const replies: Reply[] = [];
for (let i = 0; i < 20 * REQUESTS; i++) {
  const roll = Math.random();
  replies.push(
    roll < 0.55
      ? { answer: answer('good-svg') }
      : roll < 0.65
        ? { answer: answer('malformed-svg') }
        : roll < 0.75
          ? { fixture: 'refusal' }
          : roll < 0.9
            ? { fixture: 'unavailable' }
            : { fixture: 'throttling' },
  );
}
fake.script(...replies);

const definition = await loadDefinition({ context: { stageTimeouts: STAGE_TIMEOUTS } });
const runtime: LocalRuntime = await createLocalRuntime({
  ephemeral: true,
  definition,
  capabilities: ['detail', 'optimize'],
  stagesDir: FAKE_STAGES_DIR,
  env: {
    ...BREAKER_ENV,
    FAKE_STAGE_CHAOS: WORKER_CHAOS,
    ANTHROPIC_API_KEY: 'chaos',
    ANTHROPIC_BASE_URL: fake.url,
    OPENAI_API_KEY: '',
    OPENAI_API_KEY_SECRET_ARN: '',
  },
});
runtime.emulators.faults.rules = [
  { service: 'dynamodb', kind: 'throttle', probability: 0.03 },
  { service: 'dynamodb', kind: 'error', probability: 0.02 },
  { service: 'dynamodb', kind: 'timeout', probability: 0.005 },
  { service: 's3', kind: 'throttle', probability: 0.03 },
  { service: 's3', kind: 'error', probability: 0.02 },
  { service: 's3', kind: 'timeout', probability: 0.005 },
];
const target: Target = {
  generate: (request) => runtime.generate(request),
  eventsFile: runtime.emulators.eventsFile,
};

// Outage windows: now and then a stage's Run fails for a second or two, long enough to open it.
let outages = 0;
const OUTAGE_ERRORS: Record<StageName, string> = {
  template: 'Template.Unavailable',
  detail: 'Stage.Unavailable',
  optimize: 'Stage.Timeout',
};
const outageTimer = setInterval(() => {
  const stage = STAGES[Math.floor(Math.random() * STAGES.length)];
  if (runtime.faults[stage] || Math.random() < 0.75) return;
  outages += 1;
  runtime.faults[stage] = OUTAGE_ERRORS[stage];
  setTimeout(() => delete runtime.faults[stage], 1_000 + Math.random() * 2_000);
}, 2_000);

/** A mix: offline and LLM templates, providers this deployment lacks (request errors), repeats. */
function request(i: number): object {
  if (i > 20 && Math.random() < 0.1) return lastRequests[Math.floor(Math.random() * lastRequests.length)];
  const subjects = ['fox', 'lighthouse', 'teapot', 'bicycle', 'castle', 'owl', 'rocket', 'cactus'];
  const roll = Math.random();
  const llm = roll < 0.45 ? 'anthropic' : roll < 0.55 ? 'openai' : 'offline';
  const made = { prompt: `a ${subjects[i % subjects.length]}, chaos ${i}`, seed: i, llm };
  lastRequests.push(made);
  return made;
}
const lastRequests: object[] = [];

interface Outcome {
  ok: boolean;
  failure?: string;
  cache?: string;
  degraded?: boolean;
  totalMs: number;
}
const outcomes: Outcome[] = [];
const started = performance.now();
let next = 0;
async function worker(): Promise<void> {
  while (next < REQUESTS) {
    const i = next++;
    const begun = performance.now();
    try {
      const { svg, report } = await target.generate(request(i));
      const ok = validSanitizedSvg(svg);
      outcomes.push({
        ok,
        cache: report.cache,
        degraded: report.degraded,
        totalMs: performance.now() - begun,
      });
      if (!ok) console.error(`request ${i}: SVG not valid or not sanitized`);
    } catch (error) {
      outcomes.push({ ok: false, failure: (error as Error).name, totalMs: performance.now() - begun });
      console.error(`request ${i}: ${(error as Error).name}: ${(error as Error).message}`);
    }
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, worker));
const wallMs = performance.now() - started;
clearInterval(outageTimer);
const injected = structuredClone(runtime.emulators.faults.injected);
const calls = { ...runtime.calls };
// The emulators' home is temporary: read the event log before it goes.
const eventLog = readFileSync(target.eventsFile, 'utf8');
await runtime.stop();
await fake.close();

/** Renders, carries no script or handler, and the sanitizer finds nothing more to remove. */
function validSanitizedSvg(svg: string): boolean {
  if (!rendersAsSvg(svg)) return false;
  if (/<script|\son[a-z]+\s*=|javascript:/i.test(svg)) return false;
  try {
    return sanitizeSvg(svg).removed.length === 0;
  } catch {
    return false;
  }
}

// ---- the event log ----------------------------------------------------------------------------
const events = eventLog
  .trim()
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line) as { DetailType: string; Detail: string });
const outcomeEvents = events.filter((e) =>
  (GENERATION_DETAIL_TYPES as readonly string[]).includes(e.DetailType),
);
const byType = Object.fromEntries(GENERATION_DETAIL_TYPES.map((type) => [type, 0]));
for (const event of outcomeEvents) byType[event.DetailType] += 1;
const changes = events
  .filter((e) => e.DetailType === DETAIL_TYPES.breaker)
  .map((e) => BreakerStateChangedEvent.parse(JSON.parse(e.Detail)))
  .sort((a, b) => a.at.localeCompare(b.at));
const illegal: string[] = [];
const histories: Record<string, string[]> = {};
for (const stage of STAGES) {
  let state = 'CLOSED';
  const history = ['CLOSED'];
  for (const change of changes.filter((c) => c.stage === stage)) {
    const move = `${change.from}→${change.to}` as (typeof LEGAL_BREAKER_MOVES)[number];
    if (change.from !== state || !LEGAL_BREAKER_MOVES.includes(move))
      illegal.push(`${stage}: ${state} then ${move} at ${change.at}`);
    state = change.to;
    history.push(change.to);
  }
  histories[stage] = history;
}

const valid = outcomes.filter((o) => o.ok).length;
const failed = outcomes.filter((o) => o.failure).length;
const moves = (stage: string) => {
  const counts: Record<string, number> = {};
  const h = histories[stage];
  for (let i = 1; i < h.length; i++) counts[`${h[i - 1]}→${h[i]}`] = (counts[`${h[i - 1]}→${h[i]}`] ?? 0) + 1;
  return (
    Object.entries(counts)
      .map(([move, n]) => `${move} ×${n}`)
      .join(', ') || 'none'
  );
};
const sum = (record: Record<string, number>) => Object.values(record).reduce((a, b) => a + b, 0);
const sorted = outcomes.map((o) => o.totalMs).sort((a, b) => a - b);
const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

console.log(`## Chaos run

Command: \`npx tsx bench/chaos.ts --requests ${REQUESTS} --concurrency ${CONCURRENCY}\`
Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, load average ${loadavg()[0].toFixed(1)} at the end (shared machine).
Stages: stand-in workers with FAKE_STAGE_CHAOS=${WORKER_CHAOS}; stage timeouts ${STAGE_TIMEOUTS} s; breakers ${Object.entries(
  BREAKER_ENV,
)
  .map(([k, v]) => `${k}=${v}`)
  .join(', ')}.

| measure | value |
|---|---|
| requests sent | ${REQUESTS} (${CONCURRENCY} at a time) |
| valid, sanitized SVGs returned | ${valid} |
| executions FAILED | ${failed} |
| cache hits / degraded results | ${outcomes.filter((o) => o.cache === 'hit').length} / ${outcomes.filter((o) => o.degraded).length} |
| outcome events | ${outcomeEvents.length} (${Object.entries(byType)
  .map(([type, n]) => `${type} ${n}`)
  .join(', ')}) |
| Run calls per stage | ${Object.entries(calls)
  .map(([stage, n]) => `${stage} ${n}`)
  .join(', ')} |
| stage outage windows | ${outages} |
| DynamoDB faults injected | ${sum(injected.dynamodb)} (${JSON.stringify(injected.dynamodb)}) |
| S3 faults injected | ${sum(injected.s3)} (${JSON.stringify(injected.s3)}) |
| breaker transitions | ${STAGES.map((stage) => `${stage}: ${moves(stage)}`).join('; ')} |
| breaker histories legal | ${illegal.length === 0 ? 'yes' : `NO: ${illegal.join('; ')}`} |
| wall time; per request p50 / p95 | ${(wallMs / 1000).toFixed(1)} s; ${(pct(50) / 1000).toFixed(2)} s / ${(pct(95) / 1000).toFixed(2)} s |
`);
const okRun = valid === REQUESTS && failed === 0 && illegal.length === 0 && outcomeEvents.length === REQUESTS;
if (!okRun) {
  console.error('chaos run: requirements not met');
  process.exitCode = 1;
}
