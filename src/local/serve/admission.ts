// Admission control for `chat2svg serve`: at POST time the decision the deployed front door makes
// too (functions/start-generation/admission.ts: the allocator picks the tier of an `auto` request
// from the GPU work already admitted, or turns the request away with 429 + Retry-After when the
// environment says `reject` and even low misses the deadline). The pick reaches the execution's
// assessment through the signal store, which also gets the load per stage; the rolling per-tier
// stage durations there are written by record-outcome, as on AWS. The allocator's prediction adds
// each request's non-GPU time, measured here (overhead.ts).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CONTAINER_STAGES,
  type ContainerStageName,
  type GenerationRequest,
  type Tier,
} from '#contracts/schemas';
import type { Load, ServiceSeconds } from '#functions/assess-resources/allocate';
import {
  quantile,
  rollWindow,
  SERVICE_WINDOW,
  serviceSignal,
  writeAllocation,
  writeStageLoad,
} from '#functions/assess-resources/load-store';
import { canonicalJson } from '#functions/normalize-request/identity';
import { admissionDecision, type Decision, measuredService } from '#functions/start-generation/admission';
import type { StageProgress } from '../result.ts';
import type { StageWorkers } from '../runtime.ts';
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

export type { Decision };

interface Admitted {
  readonly tier: Tier | undefined;
  readonly left: Set<ContainerStageName>;
  /** When it was admitted (ms, options.now). */
  readonly since: number;
  /** Other admitted requests outside the GPU stages then. */
  readonly cpuSide: number;
  /** The request as the cache key hashes it (canonical JSON). */
  readonly identity: string;
}

/** How many answered requests are remembered as repeats-to-be (their results are in the cache). */
const ANSWERED_KEPT = 1000;

export class Admission {
  private readonly admitted = new Map<string, Admitted>();
  private readonly samples = new Map<string, number[]>();
  /** Admitted requests by identity, how many of each are in flight. */
  private readonly inFlight = new Map<string, number>();
  /** Identities answered lately, oldest first. */
  private readonly answered = new Set<string>();
  private publishing: Promise<void> | undefined;
  private publishAgain = false;

  private readonly overhead: OverheadEstimate;
  private readonly now: () => number;

  constructor(private readonly options: AdmissionOptions) {
    this.overhead = new OverheadEstimate(options.window ?? SERVICE_WINDOW);
    this.now = options.now ?? (() => performance.now());
  }

  /** Whether a request is taken, and at which tier for `auto`. */
  decide(request: GenerationRequest): Decision {
    if (this.options.mode === 'off') return { ok: true };
    // A repeat joins the generation in flight or is answered from the cache: it needs no GPU time,
    // so load never turns it away.
    if (this.isRepeat(canonicalJson(request))) return { ok: true };
    const service = this.service();
    // Nothing measured yet: the assessment decides.
    return admissionDecision(request, service && this.load(service), this.options);
  }

  /** Records an admitted generation; its allocation is in the store before its execution starts. */
  async admit(id: string, request: GenerationRequest, decision: Decision): Promise<void> {
    const tier =
      decision.ok && decision.tier ? decision.tier : request.tier === 'auto' ? undefined : request.tier;
    const cpuSide = this.cpuSide();
    const identity = canonicalJson(request);
    // A repeat is charged no GPU work: it runs none (docs/architecture.md §3, in-flight dedupe).
    const left = new Set(this.isRepeat(identity) ? [] : this.options.stages);
    this.admitted.set(id, { tier, left, since: this.now(), cpuSide, identity });
    this.inFlight.set(identity, (this.inFlight.get(identity) ?? 0) + 1);
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
    if (admitted) {
      const left = (this.inFlight.get(admitted.identity) ?? 1) - 1;
      if (left > 0) this.inFlight.set(admitted.identity, left);
      else this.inFlight.delete(admitted.identity);
      if (generation.status === 'SUCCEEDED') {
        this.answered.delete(admitted.identity);
        this.answered.add(admitted.identity);
        if (this.answered.size > ANSWERED_KEPT)
          this.answered.delete(this.answered.values().next().value as string);
      }
    }
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
        this.samples.set(
          key,
          rollWindow(samples, report.durationMs / 1000, this.options.window ?? SERVICE_WINDOW),
        );
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
        [...this.samples].map(([key, samples]) => {
          const { p50Seconds, p95Seconds, count } = serviceSignal(samples);
          return [key, { p50: p50Seconds, p95: p95Seconds, n: count }];
        }),
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
    return measuredService(this.options.stages, p50);
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

  private isRepeat(identity: string): boolean {
    return this.inFlight.has(identity) || this.answered.has(identity);
  }

  /** Admitted requests not on a GPU stage now (not queued for a worker, not running on one). */
  private cpuSide(): number {
    const load = this.options.workers.load();
    const onGpu = CONTAINER_STAGES.reduce((sum, stage) => sum + load[stage].queued + load[stage].running, 0);
    return Math.max(0, this.admitted.size - onGpu);
  }

  /**
   * Writes the load per stage to the signal store, one write burst at a time. Stage durations are
   * not written here: record-outcome rolls them into the store's windows, here as on AWS.
   */
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
    this.publishing = Promise.all(writes)
      .then(() => undefined)
      .catch((error: Error) => {
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
