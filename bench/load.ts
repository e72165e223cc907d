// Load benchmark (issue 10): adaptive tiers with admission control vs fixed medium, 10% duplicates.
//   live: `chat2svg serve` in-process on 127.0.0.1 with stand-in GPU workers whose durations follow
//         the per-tier table below (scaled down by --scale), 2 workers per stage, Poisson arrivals
//         at three rates; every request is posted over HTTP and polled to its end.
//   sim:  the same allocator code at cloud scale (1,000 requests/min, 8 and 64 workers per stage).
// Usage: npx tsx bench/load.ts sim
//        npx tsx bench/load.ts live [--requests 200] [--scale 0.01] [--rates 0.5,1,2] [--deadline 300]
//          [--modes adaptive,fixed]   (--deadline in full-scale seconds: each request's is × --scale)
import { parseArgs } from 'node:util';
import type { ContainerStageName, Tier } from '#contracts/schemas';
import {
  allocate,
  DEFAULT_QUALITY,
  type Policy,
  type ServiceSeconds,
  UPGRADE_WITHIN,
} from '#functions/assess-resources/allocate';
import { quantile } from '#functions/assess-resources/load-store';
import { startTestServe, testDefinition } from '../test/support/local.ts';

// GPU seconds per stage and tier, from docs/benchmarks.md (H200): detail = the detail bench's
// tiny-model wall per tier; optimize = the 20-element medium run (39.5 s), scaled to low and high
// by iterations (500 / 700 / 1000).
const TABLE: ServiceSeconds = {
  high: { detail: 18.4, optimize: 56.4 },
  medium: { detail: 16.7, optimize: 39.5 },
  low: { detail: 14.8, optimize: 28.2 },
};
const TIERS: Tier[] = ['high', 'medium', 'low'];
const STAGES: ContainerStageName[] = ['detail', 'optimize'];

/** Seeded uniform [0, 1): mulberry32. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Outcome {
  completed: number;
  rejected: number;
  lost: number;
  latencies: number[];
  tiers: Record<Tier, number>;
  deadlineMisses: number;
  savedByDedupe: number;
  spanSeconds: number;
}

function emptyOutcome(): Outcome {
  return {
    completed: 0,
    rejected: 0,
    lost: 0,
    latencies: [],
    tiers: { high: 0, medium: 0, low: 0 },
    deadlineMisses: 0,
    savedByDedupe: 0,
    spanSeconds: 0,
  };
}

function row(label: string, o: Outcome, unit = 1): string {
  const throughput = o.completed / Math.max(1e-9, o.spanSeconds / unit);
  const mix = TIERS.map((t) => `${t[0]}${o.tiers[t]}`).join(' ');
  return `| ${label} | ${o.completed} | ${o.rejected} | ${o.lost} | ${throughput.toFixed(2)} | ${(quantile(o.latencies, 0.5) / unit).toFixed(1)} | ${(quantile(o.latencies, 0.95) / unit).toFixed(1)} | ${mix} | ${o.deadlineMisses} | ${o.savedByDedupe} |`;
}

const HEADER =
  '| run | completed | rejected | lost | throughput (req/s) | p50 (s) | p95 (s) | tiers h/m/l | deadline misses | GPU runs saved by dedupe |\n|---|---|---|---|---|---|---|---|---|---|';

/**
 * Cloud-scale simulation: per-stage FIFO pools in arrival order, service times from TABLE with
 * ±10% noise; admission through `allocate` (adaptive) or every request at medium (fixed).
 */
function simulate(options: {
  perMinute: number;
  workers: number;
  minutes: number;
  deadline: number;
  adaptive: boolean;
  seed: number;
}): Outcome {
  const rand = random(options.seed);
  const free: Record<ContainerStageName, number[]> = {
    detail: Array(options.workers).fill(0),
    optimize: Array(options.workers).fill(0),
  };
  const policy: Policy = { quality: DEFAULT_QUALITY, overload: 'reject', upgradeWithin: UPGRADE_WITHIN };
  const outcome = emptyOutcome();
  const finished: { at: number }[] = [];
  let t = 0;
  const end = options.minutes * 60;
  const rate = options.perMinute / 60;
  while (t < end) {
    t += -Math.log(1 - rand()) / rate;
    // 10% repeat an earlier request: they join it in flight or hit the cache.
    if (finished.length && rand() < 0.1) {
      const original = finished[Math.floor(rand() * finished.length)];
      const done = Math.max(t, original.at);
      outcome.completed += 1;
      outcome.savedByDedupe += 1;
      outcome.latencies.push(done - t);
      if (done - t > options.deadline) outcome.deadlineMisses += 1;
      continue;
    }
    let tier: Tier = 'medium';
    if (options.adaptive) {
      const backlogSeconds = {
        detail: free.detail.reduce((sum, f) => sum + Math.max(0, f - t), 0),
        optimize: free.optimize.reduce((sum, f) => sum + Math.max(0, f - t), 0),
      };
      const [allocation] = allocate(
        [{ id: 'r', tier: 'auto', deadlineSeconds: options.deadline }],
        { workers: { detail: options.workers, optimize: options.workers }, backlogSeconds, service: TABLE },
        policy,
      );
      if (!('tier' in allocation)) {
        outcome.rejected += 1;
        continue;
      }
      tier = allocation.tier;
    }
    let ready = t;
    for (const stage of STAGES) {
      const pool = free[stage];
      let first = 0;
      for (let i = 1; i < pool.length; i += 1) if (pool[i] < pool[first]) first = i;
      const start = Math.max(ready, pool[first]);
      ready = start + TABLE[tier][stage] * (0.9 + 0.2 * rand());
      pool[first] = ready;
    }
    outcome.completed += 1;
    outcome.tiers[tier] += 1;
    outcome.latencies.push(ready - t);
    if (ready - t > options.deadline) outcome.deadlineMisses += 1;
    finished.push({ at: ready });
    outcome.spanSeconds = Math.max(outcome.spanSeconds, ready);
  }
  return outcome;
}

async function live(options: {
  requests: number;
  scale: number;
  rates: number[];
  /** Seconds at full scale; each request's deadline is this × scale. */
  deadline: number;
  modes: ('adaptive' | 'fixed')[];
}) {
  // Whole seconds, as the request schema takes them.
  const deadline = Math.max(1, Math.round(options.deadline * options.scale));
  const scaled = Object.fromEntries(
    STAGES.map((stage) => [
      stage,
      Object.fromEntries(TIERS.map((tier) => [tier, Math.round(TABLE[tier][stage] * options.scale * 1000)])),
    ]),
  );
  process.env.FAKE_STAGE_MS = JSON.stringify(scaled);
  const definition = await testDefinition();
  const lines: string[] = [];
  for (const rate of options.rates) {
    for (const adaptive of options.modes.map((m) => m === 'adaptive')) {
      const serve = await startTestServe({
        definition,
        perStage: 2,
        admission: adaptive ? 'adaptive' : 'off',
        overload: 'reject',
      });
      try {
        const post = async (body: unknown) => {
          const response = await fetch(`${serve.url}/v1/generations`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          return { status: response.status, body: (await response.json()) as { id?: string } };
        };
        const until = async (id: string) => {
          for (;;) {
            const g = (await (await fetch(`${serve.url}/v1/generations/${id}`)).json()) as {
              status: string;
              output?: { cache: string; result: { tier: Tier } };
            };
            if (g.status !== 'RUNNING') return g;
            // Every 200 ms: the poller shares the CPU with serve, in this process.
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        };
        // Warm-up: one request per tier, so admission has measured durations.
        for (const tier of TIERS) {
          const { body } = await post({ prompt: `warm-up ${tier}`, tier });
          await until(String(body.id));
        }
        const rand = random(42);
        const outcome = emptyOutcome();
        const started = performance.now();
        const calls = { ...serve.runtime.calls };
        const sent: Promise<void>[] = [];
        const prompts: string[] = [];
        for (let i = 0; i < options.requests; i += 1) {
          const duplicate = prompts.length > 0 && rand() < 0.1;
          const prompt = duplicate ? prompts[Math.floor(rand() * prompts.length)] : `a lantern ${rate} ${i}`;
          if (!duplicate) prompts.push(prompt);
          const body = { prompt, deadlineSeconds: deadline };
          const sentAt = performance.now();
          sent.push(
            post(body)
              .then(async (reply) => {
                if (reply.status === 429) {
                  outcome.rejected += 1;
                  return;
                }
                if (reply.status !== 202 || !reply.body.id) {
                  outcome.lost += 1;
                  return;
                }
                const g = await until(reply.body.id);
                if (g.status !== 'SUCCEEDED' || !g.output) {
                  outcome.lost += 1;
                  return;
                }
                const seconds = (performance.now() - sentAt) / 1000;
                outcome.completed += 1;
                outcome.latencies.push(seconds);
                outcome.tiers[g.output.result.tier] += 1;
                if (seconds > deadline) outcome.deadlineMisses += 1;
              })
              .catch((error: Error) => {
                // A request whose POST or polling failed never got its answer: lost.
                process.stderr.write(`lost: ${error.message}\n`);
                outcome.lost += 1;
              }),
          );
          await new Promise((resolve) => setTimeout(resolve, (-Math.log(1 - rand()) / rate) * 1000));
        }
        await Promise.all(sent);
        if (outcome.completed + outcome.rejected + outcome.lost !== options.requests)
          throw new Error(`counts do not add up to ${options.requests}: ${JSON.stringify(outcome)}`);
        outcome.spanSeconds = (performance.now() - started) / 1000;
        // Each completed request that did not run optimize itself was answered by dedupe or the cache.
        outcome.savedByDedupe = outcome.completed - (serve.runtime.calls.optimize - calls.optimize);
        lines.push(row(`${rate}/s ${adaptive ? 'adaptive' : 'fixed medium'}`, outcome));
        const { overhead } = serve.admission.status();
        process.stderr.write(
          `${lines.at(-1)}\n  non-GPU seconds per request (serve's estimate at the end): ${overhead.base.toFixed(2)} + ${overhead.perRequest.toFixed(2)} per request on the CPU side, ${overhead.samples} samples\n`,
        );
      } finally {
        await serve.stop();
      }
    }
  }
  return lines;
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    requests: { type: 'string' },
    scale: { type: 'string' },
    rates: { type: 'string' },
    deadline: { type: 'string' },
    minutes: { type: 'string' },
    modes: { type: 'string' },
  },
});
const mode = positionals[0] ?? 'sim';
if (mode === 'sim') {
  const minutes = Number(values.minutes ?? 10);
  const deadline = Number(values.deadline ?? 300);
  console.log(`1,000 requests/min for ${minutes} min, deadline ${deadline} s, 10% duplicates\n`);
  console.log(HEADER);
  for (const workers of [8, 64]) {
    for (const adaptive of [true, false]) {
      const outcome = simulate({ perMinute: 1000, workers, minutes, deadline, adaptive, seed: 7 });
      console.log(row(`${workers} workers ${adaptive ? 'adaptive' : 'fixed medium'}`, outcome));
    }
  }
} else {
  const lines = await live({
    requests: Number(values.requests ?? 200),
    scale: Number(values.scale ?? 0.01),
    rates: (values.rates ?? '0.5,1,2').split(',').map(Number),
    deadline: Number(values.deadline ?? 300),
    modes: (values.modes ?? 'adaptive,fixed').split(',') as ('adaptive' | 'fixed')[],
  });
  console.log(HEADER);
  for (const line of lines) console.log(line);
}
