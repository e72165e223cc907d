// The generations `chat2svg serve` holds: each one an execution on the shared local runtime, kept
// in memory with its progress so GET answers as DescribeExecution does; Idempotency-Key retries
// map to the generation they first started.
import { randomUUID } from 'node:crypto';
import type { GenerationRequest, PayloadRef } from '#contracts/schemas';
import { canonicalJson } from '#functions/normalize-request/identity';
import type { ArtifactName, ExecutionOutput, GenerateResult, PlanSummary, StageProgress } from '../result.ts';
import type { LocalRuntime } from '../runtime.ts';

export type GenerationStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface Generation {
  readonly id: string;
  readonly request: GenerationRequest;
  readonly startDate: string;
  status: GenerationStatus;
  stopDate?: string;
  error?: string;
  cause?: string;
  output?: ExecutionOutput;
  /** The execution's wall time and the part of it outside stage work (the run report's). */
  timings?: GenerateResult['report']['timings'];
  svg?: string;
  /** Per-stage events as they happen. */
  readonly progress: StageProgress[];
  /** Each stage's drawing as the run's state data holds it (inline or in the payload bucket). */
  readonly artifacts: Map<ArtifactName, PayloadRef>;
  /** The assessment's tier and why (absent on a cache hit). */
  plan?: PlanSummary;
  /** Settles when the execution ends, either way. */
  readonly done: Promise<void>;
}

/** An Idempotency-Key already used with a different request body. */
export class IdempotencyConflictError extends Error {
  constructor(key: string) {
    super(`Idempotency-Key "${key}" was used with a different request`);
    this.name = 'Idempotency.Conflict';
  }
}

export interface GenerationsOptions {
  /** Finished generations kept for GET, oldest dropped first. @default 10_000 */
  readonly keep?: number;
  /** Told of each stage event and of each generation's end (admission control keeps its books). */
  readonly observer?: {
    stage(generation: Generation, event: StageProgress): void;
    end(generation: Generation): void;
  };
}

export class Generations {
  private readonly byId = new Map<string, Generation>();
  private readonly byKey = new Map<string, { id: string; body: string }>();
  private readonly keep: number;

  constructor(
    private readonly runtime: LocalRuntime,
    private readonly options: GenerationsOptions = {},
  ) {
    this.keep = options.keep ?? 10_000;
  }

  /**
   * Starts a generation, or with an Idempotency-Key seen before for the same request, returns the
   * one that key started (`created` false).
   */
  start(
    request: GenerationRequest,
    idempotencyKey?: string,
    /** Runs before the execution starts (e.g. writing this generation's allocation). */
    prepare: (id: string) => Promise<void> = async () => {},
  ): { generation: Generation; created: boolean } {
    const body = canonicalJson(request);
    if (idempotencyKey !== undefined) {
      const seen = this.byKey.get(idempotencyKey);
      const earlier = seen && this.byId.get(seen.id);
      if (seen && earlier) {
        if (seen.body !== body) throw new IdempotencyConflictError(idempotencyKey);
        return { generation: earlier, created: false };
      }
    }
    const id = randomUUID();
    const progress: StageProgress[] = [];
    let settle!: () => void;
    const done = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const generation: Generation = {
      id,
      request,
      startDate: new Date().toISOString(),
      status: 'RUNNING',
      progress,
      artifacts: new Map(),
      done,
    };
    this.byId.set(id, generation);
    if (idempotencyKey !== undefined) this.byKey.set(idempotencyKey, { id, body });
    const observer = this.options.observer;
    prepare(id)
      .then(() =>
        this.runtime.generate(request, {
          name: id,
          onStage: (event) => {
            progress.push(event);
            observer?.stage(generation, event);
          },
          onArtifact: (name, ref) => generation.artifacts.set(name, ref),
          onPlan: (plan) => {
            generation.plan = plan;
          },
        }),
      )
      .then(
        (result) => {
          generation.status = 'SUCCEEDED';
          generation.output = result.output;
          generation.timings = result.report.timings;
          generation.svg = result.svg;
        },
        (error: Error) => {
          generation.status = 'FAILED';
          generation.error = error.name;
          generation.cause = error.message;
        },
      )
      .finally(() => {
        generation.stopDate = new Date().toISOString();
        observer?.end(generation);
        this.forgetOld();
        settle();
      });
    return { generation, created: true };
  }

  get(id: string): Generation | undefined {
    return this.byId.get(id);
  }

  /** The most recent first. */
  recent(limit: number): Generation[] {
    return [...this.byId.values()].slice(-limit).reverse();
  }

  running(): number {
    let count = 0;
    for (const generation of this.byId.values()) if (generation.status === 'RUNNING') count += 1;
    return count;
  }

  /** Resolves when every generation started so far has ended. */
  async settled(): Promise<void> {
    await Promise.all([...this.byId.values()].map((generation) => generation.done));
  }

  private forgetOld(): void {
    for (const [id, generation] of this.byId) {
      if (this.byId.size <= this.keep) break;
      if (generation.status === 'RUNNING') continue;
      this.byId.delete(id);
    }
    const live = new Set(this.byId.keys());
    for (const [key, seen] of this.byKey) if (!live.has(seen.id)) this.byKey.delete(key);
  }
}

/** GET /v1/generations/{id}, in the deployed API's shape (DescribeExecution through its template). */
export function describe(generation: Generation) {
  return {
    id: generation.id,
    status: generation.status,
    startDate: generation.startDate,
    // The deployed template writes "" for an absent stopDate or error.
    stopDate: generation.stopDate ?? '',
    error: generation.error ?? '',
    output: generation.output ?? null,
    // serve only: per-stage events so far, and why a failed one failed.
    progress: generation.progress,
    artifacts: [...generation.artifacts.keys()],
    ...(generation.plan ? { plan: generation.plan } : {}),
    ...(generation.cause ? { cause: generation.cause } : {}),
  };
}
