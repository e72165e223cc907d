// What a run gives back, in-process or from a server: the execution's output, the SVG, the run
// report (docs/architecture.md §11) and the error a failed execution ends with. Its own module so
// that `generate --server` need not load the runtime.
import { z } from 'zod';
import { type PipelinePlan, RunReport, type StageName, type StageReport } from '#contracts/schemas';
import { GenerationResult } from '#functions/finalize-result/result';

/** One stage's outcome as the run report gives it, announced as soon as the state data has it. */
export type StageProgress = Pick<StageReport, 'status' | 'reason' | 'durationMs'> & {
  readonly stage: string;
};

export interface PlanSummary extends Pick<PipelinePlan, 'tier' | 'reasons'> {
  /** Whether the plan runs each stage (a gate may still skip or degrade it). */
  readonly runs: Record<StageName, boolean>;
}

/**
 * The drawings a run leaves in its state data: the template (`$.templateSvg`), and each container
 * stage's output (`$.current`) when that stage ran, with detail's target image.
 */
export const ARTIFACT_NAMES = ['template', 'detail', 'detail-target', 'optimize'] as const;
export type ArtifactName = (typeof ARTIFACT_NAMES)[number];

export const ExecutionOutput = z.object({
  cache: RunReport.shape.cache,
  requestId: RunReport.shape.requestId,
  result: GenerationResult,
});
export type ExecutionOutput = z.infer<typeof ExecutionOutput>;

export interface GenerateResult {
  readonly report: RunReport;
  readonly svg: string;
  readonly output: ExecutionOutput;
  /** Names of the states entered, in order. */
  readonly statesEntered: string[];
}

/** A failed execution; `name` is the error the state machine ended with (e.g. `Request.Invalid`). */
export class ExecutionFailedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** The run report (docs/architecture.md §11) from an execution's output and its timings. */
export function reportOf(output: ExecutionOutput, totalMs: number, stageMs: number): RunReport {
  const { result } = output;
  return {
    requestId: output.requestId,
    cache: output.cache,
    tier: result.tier,
    degraded: result.degraded,
    stages: result.stages,
    timings: {
      totalMs: round(totalMs),
      orchestrationMs: round(Math.max(0, totalMs - stageMs)),
    },
    output: result.output,
    objectsWritten: result.objectsWritten,
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
