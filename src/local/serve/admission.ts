// Admission control for `chat2svg serve`: at POST time the allocator (functions/assess-resources/
// allocate.ts) picks the tier of an `auto` request from the GPU work already admitted, or turns the
// request away (429 + Retry-After) when the environment says `reject` and even low misses the
// deadline. The pick reaches the execution's assessment through the signal store, which also gets
// the load and the rolling per-tier stage durations, as a GPU backend on AWS would write them.
// The allocator's prediction adds each request's non-GPU time, measured here (overhead.ts).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CONTAINER_STAGES,
  type ContainerStageName,
  type GenerationRequest,
  type Tier,
} from '#contracts/schemas';
import { TIER_ORDER } from '#contracts/tiers';
import {
  allocate,
  DEFAULT_QUALITY,
  type Load,
  type ServiceSeconds,
  serviceTable,
  UPGRADE_WITHIN,
} from '#functions/assess-resources/allocate';
import { writeAllocation, writeService, writeStageLoad } from '#functions/assess-resources/load-store';
import type { StageProgress, StageWorkers } from '../runtime.ts';
import type { Generation } from './generations.ts';
import { OverheadEstimate } from './overhead.ts';

export type AdmissionMode = 'adaptive' | 'off';

export interface AdmissionOptions {
  /** `off`: every request is taken and the assessment decides alone (fixed medium for auto). */
  readonly mode: AdmissionMode;
  readonly overload: 'reject' | 'low';
  readonly defaultDeadlineSeconds: number;
  readonly workers: StageWorkers;
  /** Container stages that run here. */
  readonly stages: readonly ContainerStageName[];
  readonly store?: { readonly ddb: DynamoDBClient; readonly table: string };
  /** Durations kept per stage and tier for p50/p95, and non-GPU times for the overhead. @default 50 */
  readonly window?: number;
  /** Clock in milliseconds (tests). @default performance.now */
  readonly now?: () => number;
}

export type Decision =
  | { readonly ok: true; readonly tier?: Tier; readonly reason?: string }
  | { readonly ok: false; readonly retryAfterSeconds: number; readonly message: string };

interface Admitted {
  readonly tier: Tier | undefined;
  readonly left: Set<ContainerStageName>;
  /** When it was admitted (ms, options.now). */
  readonly since: number;
  /** Other admitted requests outside the GPU stages then. */
  readonly cpuSide: number;
}

export class Admission {
  private readonly admitted = new Map<string, Admitted>();
  private readonly samples = new Map<string, number[]>();
  /** Stage#tier keys with samples not yet written to the signal store. */
  private readonly unwritten = new Set<string>();
  /** When every duration was last written (ms, options.now): they expire from the store in an hour. */
  private servicesWrittenAt = Number.NEGATIVE_INFINITY;
  private readonly overhead: OverheadEstimate;
  private readonly now: () => number;
  private publishing: Promise<void> | undefined;
  private publishAgain = false;

  constructor(private readonly options: AdmissionOptions) {
    this.overhead = new OverheadEstimate(options.window ?? 50);
    this.now = options.now ?? (() => performance.now());
  }

  /** Whether a request is taken, and at which tier for `auto`. */
  decide(request: GenerationRequest): Decision {
    if (this.options.mode === 'off') return { ok: true };
    const service = this.service();
    if (!service) return { ok: true }; // nothing measured yet: the assessment decides
    const deadline = request.deadlineSeconds ?? this.options.defaultDeadlineSeconds;
    const [allocation] = allocate(
      [{ id: 'new', tier: request.tier, deadlineSeconds: deadline }],
      this.load(service),
      {
        quality: DEFAULT_QUALITY,
        overload: 'low',
        upgradeWithin: UPGRADE_WITHIN,
      },
    );
    if (!('tier' in allocation)) return { ok: true };
    if (allocation.late && this.options.overload === 'reject') {
      const wait = Math.max(1, Math.ceil(allocation.finishSeconds - deadline));
      const what = request.tier === 'auto' ? 'even the low tier' : `tier ${request.tier}`;
      return {
        ok: false,
        retryAfterSeconds: wait,
        message: `GPU capacity is busy: ${what} would finish in about ${Math.round(allocation.finishSeconds)} s, past the ${deadline} s deadline; retry in ${wait} s`,
      };
    }
    if (request.tier !== 'auto') return { ok: true };
    const reason = `allocated ${allocation.tier} at admission: about ${Math.round(allocation.finishSeconds)} s against the ${deadline} s deadline${allocation.late ? ' (late even at low)' : ''}`;
    return { ok: true, tier: allocation.tier, reason };
  }

  /** Records an admitted generation; its allocation is in the store before its execution starts. */
  async admit(id: string, request: GenerationRequest, decision: Decision): Promise<void> {
    const tier =
      decision.ok && decision.tier ? decision.tier : request.tier === 'auto' ? undefined : request.tier;
    const cpuSide = this.cpuSide();
    this.admitted.set(id, { tier, left: new Set(this.options.stages), since: this.now(), cpuSide });
    const { store } = this.options;
    if (store && decision.ok && decision.tier)
      await writeAllocation(store.ddb, store.table, id, {
        tier: decision.tier,
        reason: decision.reason ?? '',
      });
    this.publish();
  }

  stage(generation: Generation, event: StageProgress): void {
    this.admitted.get(generation.id)?.left.delete(event.stage as ContainerStageName);
    this.publish();
  }

  end(generation: Generation): void {
    const admitted = this.admitted.get(generation.id);
    this.admitted.delete(generation.id);
    const result = generation.output?.result;
    // Only a full run measures a stage: a cache hit or a join ran nothing here.
    if (result && generation.output?.cache === 'miss') {
      const timings = generation.timings;
      if (admitted && timings) {
        // Stage work is the template's and the GPU stages' (queue + service); the template's own
        // time is non-GPU, so only the GPU stages' part is taken off the end-to-end time.
        const templateMs = result.stages
          .filter((report) => !(CONTAINER_STAGES as readonly string[]).includes(report.name))
          .reduce((sum, report) => sum + report.durationMs, 0);
        const gpuMs = Math.max(0, timings.totalMs - timings.orchestrationMs - templateMs);
        this.overhead.record({
          cpuSide: admitted.cpuSide,
          seconds: Math.max(0, this.now() - admitted.since - gpuMs) / 1000,
        });
      }
      for (const report of result.stages) {
        if (report.status !== 'ran' || report.name === 'template') continue;
        const key = `${report.name}#${result.tier}`;
        const samples = this.samples.get(key) ?? [];
        samples.push(report.durationMs / 1000);
        if (samples.length > (this.options.window ?? 50)) samples.shift();
        this.samples.set(key, samples);
        this.unwritten.add(key);
      }
    }
    this.publish();
  }

  /** For GET /v1/status. */
  status() {
    const service = this.service();
    return {
      mode: this.options.mode,
      overload: this.options.overload,
      defaultDeadlineSeconds: this.options.defaultDeadlineSeconds,
      admitted: this.admitted.size,
      overhead: {
        ...this.overhead.line(),
        samples: this.overhead.count,
        cpuSide: this.cpuSide(),
        predictedSeconds: this.overhead.predict(this.cpuSide()),
      },
      backlogSeconds: service ? this.load(service).backlogSeconds : null,
      service: Object.fromEntries(
        [...this.samples].map(([key, samples]) => [
          key,
          { p50: quantile(samples, 0.5), p95: quantile(samples, 0.95), n: samples.length },
        ]),
      ),
    };
  }

  /**
   * Seconds per stage and tier: the p50 measured here, else scaled from a measured tier of the same
   * stage by its work factor; undefined while a running stage has no measurement at all.
   */
  private service(): ServiceSeconds | undefined {
    const p50 = (stage: ContainerStageName, tier: Tier) => {
      const samples = this.samples.get(`${stage}#${tier}`);
      return samples?.length ? quantile(samples, 0.5) : undefined;
    };
    const unmeasured = (stage: ContainerStageName) =>
      TIER_ORDER.every((tier) => p50(stage, tier) === undefined);
    if (this.options.stages.some(unmeasured)) return undefined;
    return serviceTable(this.options.stages, p50, () => 0);
  }

  /** Work already admitted, per stage, at each generation's tier (medium when the assessment picks). */
  private load(service: ServiceSeconds): Load {
    const backlogSeconds = { detail: 0, optimize: 0 };
    for (const { tier, left } of this.admitted.values())
      for (const stage of left) backlogSeconds[stage] += service[tier ?? 'medium'][stage];
    const workers = this.options.workers.load();
    return {
      workers: {
        detail: Math.max(1, workers.detail.workers),
        optimize: Math.max(1, workers.optimize.workers),
      },
      backlogSeconds,
      service,
      overheadSeconds: this.overhead.predict(this.cpuSide()),
    };
  }

  /** Admitted requests not on a GPU stage now (not queued for a worker, not running on one). */
  private cpuSide(): number {
    const load = this.options.workers.load();
    const onGpu = CONTAINER_STAGES.reduce((sum, stage) => sum + load[stage].queued + load[stage].running, 0);
    return Math.max(0, this.admitted.size - onGpu);
  }

  /** Writes load and durations to the signal store, one write burst at a time. */
  private publish(): void {
    const { store } = this.options;
    // Off: the assessment decides alone, without load signals (the fixed-tier baseline).
    if (!store || this.options.mode === 'off') return;
    if (this.publishing) {
      this.publishAgain = true;
      return;
    }
    const service = this.service();
    const load = service ? this.load(service) : undefined;
    const pools = this.options.workers.load();
    const writes: Promise<void>[] = CONTAINER_STAGES.map((stage) =>
      writeStageLoad(store.ddb, store.table, stage, {
        ...pools[stage],
        backlogSeconds: load?.backlogSeconds[stage] ?? 0,
      }),
    );
    // Durations change only when a run ends: written then, not with every load update (each write
    // is CPU this box's orchestration shares), and all of them every half hour.
    if (this.now() - this.servicesWrittenAt > 1_800_000) {
      for (const key of this.samples.keys()) this.unwritten.add(key);
      this.servicesWrittenAt = this.now();
    }
    for (const key of this.unwritten) {
      const samples = this.samples.get(key) ?? [];
      const [stage, tier] = key.split('#') as [ContainerStageName, Tier];
      writes.push(
        writeService(store.ddb, store.table, stage, tier, {
          p50Seconds: quantile(samples, 0.5),
          p95Seconds: quantile(samples, 0.95),
          count: samples.length,
        }),
      );
    }
    const written = [...this.unwritten];
    this.unwritten.clear();
    this.publishing = Promise.all(writes)
      .then(() => undefined)
      .catch((error: Error) => {
        for (const key of written) this.unwritten.add(key);
        process.stderr.write(`serve: load signals not written: ${error.message}\n`);
      })
      .finally(() => {
        this.publishing = undefined;
        if (this.publishAgain) {
          this.publishAgain = false;
          this.publish();
        }
      });
  }
}

function quantile(samples: readonly number[], q: number): number {
  if (!samples.length) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
