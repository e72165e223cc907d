// The contracts of docs/architecture.md §3–§8 and §11 as zod schemas: the one source for TypeScript types,
// for the JSON Schemas the Python workers validate against (schemas/), and for runtime checks.
import { z } from 'zod';

export const PIPELINE_VERSION = '1';
/** CloudWatch namespace of the handlers' metrics (EMF) and the state machine's metric filters. */
export const METRICS_NAMESPACE = 'chat2svg';
export const STAGES = ['template', 'detail', 'optimize'] as const;
export const CONTAINER_STAGES = ['detail', 'optimize'] as const;

export const StageName = z.enum(STAGES);
export type StageName = z.infer<typeof StageName>;
export const ContainerStageName = z.enum(CONTAINER_STAGES);
export type ContainerStageName = z.infer<typeof ContainerStageName>;
export const Tier = z.enum(['high', 'medium', 'low']);
export type Tier = z.infer<typeof Tier>;

/** Error names shared by Retry/Catch, the breakers and the Python workers (docs/architecture.md §6). */
export const STAGE_ERRORS = [
  'Stage.InvalidInput',
  'Stage.ModelUnavailable',
  'Stage.OutOfMemory',
  'Stage.Timeout',
  'Stage.Unavailable',
  'Stage.Failed',
] as const;
export const StageErrorName = z.enum(STAGE_ERRORS);
export type StageErrorName = z.infer<typeof StageErrorName>;

/**
 * Byte budgets (docs/architecture.md §5): inline when the serialized ref takes at most this many
 * bytes (jsonSize). A stage's input has no fixed budget: it fits its GPU backend's request
 * (contracts/transports.ts).
 */
export const BUDGETS = {
  stageOutput: 128 * 1024,
  /**
   * The template stage's SVG inline: it is carried in the state (once) beside a later stage's
   * output (svg + target, stageOutput together), so it gets half of that.
   */
  templateOutput: 64 * 1024,
} as const;

// ---- §5 payloads ----------------------------------------------------------------------------
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lowercase hex digits');
const MediaType = z.string().min(1).max(100);
const Bytes = z.number().int().nonnegative();

export const PayloadEncoding = z.enum(['utf8', 'base64', 'gzip+base64']);
export type PayloadEncoding = z.infer<typeof PayloadEncoding>;

export const InlinePayloadRef = z
  .object({
    inline: z.string(),
    encoding: PayloadEncoding,
    mediaType: MediaType,
    bytes: Bytes,
    sha256: Sha256,
  })
  .strict();
export const S3PayloadRef = z
  .object({
    s3: z.object({ bucket: z.string().min(1), key: z.string().min(1) }).strict(),
    mediaType: MediaType,
    bytes: Bytes,
    sha256: Sha256,
  })
  .strict();
export const PayloadRef = z.union([InlinePayloadRef, S3PayloadRef]);
export type PayloadRef = z.infer<typeof PayloadRef>;
export type InlinePayloadRef = z.infer<typeof InlinePayloadRef>;
export type S3PayloadRef = z.infer<typeof S3PayloadRef>;

// ---- §7 stage configs -----------------------------------------------------------------------
export const TemplateConfig = z
  .object({ useLargerModel: z.boolean(), rectifyRounds: z.number().int().min(0).max(5) })
  .strict();
export const DetailConfig = z
  .object({
    numInferenceSteps: z.number().int().min(1).max(200),
    strength: z.number().min(0).max(1),
    guidanceScale: z.number().min(0).max(30),
    samPointsPerSide: z.number().int().min(1).max(128),
  })
  .strict();
export const OptimizeConfig = z
  .object({
    iterations: z.number().int().min(0).max(10_000),
    learningRate: z.number().positive().max(1),
    optForSize: z.boolean(),
    optForQuality: z.boolean(),
    resolution: z.number().int().min(32).max(2048).optional(),
    // Adaptive refinement: the output may grow to sizeBudget × the template's compact size, split
    // segments where the error stays high and (addPaths > 0) add up to that many paths; when the
    // result is larger it is compacted to fit. 0 or absent: no refinement and no cap.
    sizeBudget: z.number().min(0).max(20).optional(),
    addPaths: z.number().int().min(0).max(64).optional(),
  })
  .strict();
export type TemplateConfig = z.infer<typeof TemplateConfig>;
export type DetailConfig = z.infer<typeof DetailConfig>;
export type OptimizeConfig = z.infer<typeof OptimizeConfig>;

// ---- §6 stage I/O ---------------------------------------------------------------------------
const StageInputBase = {
  schemaVersion: z.literal(1),
  requestId: z.string().min(1).max(128),
  prompt: z.string().min(1).max(2000),
  style: z.string().max(200),
  seed: z.number().int().nonnegative(),
  svg: PayloadRef,
  target: PayloadRef.optional(),
};
/** One container stage's input, its `config` typed (with its ranges) by `stage`. */
export const StageInput = z.discriminatedUnion('stage', [
  z.object({ ...StageInputBase, stage: z.literal('detail'), config: DetailConfig }).strict(),
  z.object({ ...StageInputBase, stage: z.literal('optimize'), config: OptimizeConfig }).strict(),
]);
export type StageInput = z.infer<typeof StageInput>;

export const StageMetrics = z.record(z.string(), z.union([z.number(), z.string(), z.boolean()]));
export const StageOutput = z
  .object({
    schemaVersion: z.literal(1),
    stage: StageName,
    svg: PayloadRef,
    target: PayloadRef.optional(),
    metrics: StageMetrics,
    durationMs: z.number().nonnegative(),
  })
  .strict();
export type StageOutput = z.infer<typeof StageOutput>;

/** What a worker writes to stderr (run-local) or sends as SendTaskFailure. */
export const StageFailure = z.object({ error: StageErrorName, cause: z.string() }).strict();
export type StageFailure = z.infer<typeof StageFailure>;

// ---- §3 request -----------------------------------------------------------------------------
export const LlmProvider = z.enum(['offline', 'bedrock', 'anthropic', 'openai']);
export type LlmProvider = z.infer<typeof LlmProvider>;

// Prompt and style are checked by one regular expression each, so that API Gateway's model (its
// Java regex engine) and Normalize (JavaScript's) accept exactly the same strings: ASCII-only
// classes, no \s or \w (whose meaning differs between engines). Surrounding spaces, tabs and
// newlines are allowed and trimmed; control characters anywhere are refused.
const EDGE = '[ \\t\\n\\r]*';
const TEXT_CHAR = '[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]';
const SOLID_CHAR = '[^\\u0000-\\u0020\\u007f-\\u009f]';
/** The characters TEXT_CHAR leaves out. */
const CONTROL = new RegExp(TEXT_CHAR.replace('[^', '['));
/** Room for surrounding whitespace beyond the limit, so a padded but valid text is not refused. */
const EDGE_ROOM = 200;

function requestText(field: string, max: number, required: boolean) {
  const core = `${SOLID_CHAR}(?:${TEXT_CHAR}{0,${max - 2}}${SOLID_CHAR})?`;
  const pattern = new RegExp(`^${EDGE}${required ? core : `(?:${core})?`}${EDGE}$`);
  const explain = (input: unknown) => {
    const text = String(input).replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, '');
    if (CONTROL.test(text)) return `${field} must not contain control characters`;
    if (required && text === '') return `${field} must not be empty`;
    return `${field} must be at most ${max} characters`;
  };
  return z
    .string()
    .max(max + EDGE_ROOM, `${field} must be at most ${max} characters`)
    .regex(pattern, { error: (issue) => explain(issue.input) })
    .transform((text) => text.replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, ''));
}

export const GenerationRequest = z
  .object({
    prompt: requestText('prompt', 2000, true),
    style: requestText('style', 200, false).default(''),
    tier: z.enum(['auto', 'high', 'medium', 'low']).default('auto'),
    seed: z.number().int().min(0).max(2_147_483_647).default(0),
    /** Wall-clock budget the caller allows; the assessment picks a cheaper tier to meet it. */
    deadlineSeconds: z.number().int().positive().max(3600).optional(),
    /** Template provider; absent means the deployment's default. */
    llm: LlmProvider.optional(),
  })
  .strict();
export type GenerationRequest = z.infer<typeof GenerationRequest>;

/**
 * The request as JSON Schema draft 4, for API Gateway's model and any other front door (`serve`):
 * derived from GenerationRequest, never written by hand.
 */
export function generationRequestJsonSchema(): Record<string, unknown> {
  const { $schema: _draft, ...schema } = z.toJSONSchema(GenerationRequest, {
    target: 'draft-4',
    io: 'input',
  });
  return schema;
}

// ---- §7 plan --------------------------------------------------------------------------------
const StagePlanBase = z.object({
  run: z.boolean(),
  reason: z.string(),
});
export const PipelinePlan = z
  .object({
    tier: Tier,
    reasons: z.array(z.string()),
    /** Until when an identical request waits for this execution's result (in-flight dedupe). */
    claimUntil: z.string(),
    stages: z
      .object({
        template: StagePlanBase.extend({ config: TemplateConfig, provider: LlmProvider }).strict(),
        detail: StagePlanBase.extend({ config: DetailConfig }).strict(),
        optimize: StagePlanBase.extend({ config: OptimizeConfig }).strict(),
      })
      .strict(),
  })
  .strict();
export type PipelinePlan = z.infer<typeof PipelinePlan>;

// ---- §4 breakers ----------------------------------------------------------------------------
export const BreakerState = z.enum(['CLOSED', 'OPEN', 'HALF_OPEN']);
export type BreakerState = z.infer<typeof BreakerState>;

// ---- §11 run report -------------------------------------------------------------------------
export const StageStatus = z.enum(['ran', 'skipped', 'degraded', 'failed']);
export type StageStatus = z.infer<typeof StageStatus>;
export const StageReport = z.object({
  name: StageName,
  status: StageStatus,
  reason: z.string(),
  durationMs: z.number().nonnegative(),
  metrics: StageMetrics.optional(),
  objects: z.array(z.string()).optional(),
});
export type StageReport = z.infer<typeof StageReport>;

export const RunReport = z.object({
  requestId: z.string(),
  cache: z.enum(['hit', 'miss']),
  tier: Tier,
  degraded: z.boolean(),
  stages: z.array(StageReport),
  timings: z.object({ totalMs: z.number(), orchestrationMs: z.number() }),
  output: z.object({ bytes: z.number().int(), elements: z.number().int() }),
  objectsWritten: z.number().int().nonnegative(),
});
export type RunReport = z.infer<typeof RunReport>;
