// Prepare stage input: builds the container stage's StageInput (docs/architecture.md §6) and hands it
// over as one PayloadRef: inline when the request the GPU backend's service receives (RunTask
// overrides, SQS message, SubmitJob) still fits its limit with the longest task token, else in S3.
import { z } from 'zod';
import { type HandlerDeps, s3Client } from '#commons/clients';
import { type Env, optionalEnv } from '#commons/env';
import { InvalidInputError, parseOrThrow } from '#commons/errors';
import { createTools, lambdaHandler } from '#commons/lambda';
import { putPayload } from '#commons/payload';
import { ContainerStageName, GenerationRequest, PayloadRef, StageInput } from '#contracts/schemas';
import { fitsTransport, GPU_BACKENDS } from '#contracts/transports';

export interface PrepareStageInputConfig {
  /** Where a StageInput over its budget goes; none means such an input fails. */
  readonly bucket: string | undefined;
}

export function configFromEnv(env: Env = process.env): PrepareStageInputConfig {
  return { bucket: optionalEnv('PAYLOAD_BUCKET', env) };
}

const PrepareInput = z.object({
  stage: ContainerStageName,
  requestId: z.string().min(1),
  request: GenerationRequest,
  config: z.record(z.string(), z.unknown()),
  /** The best result so far ($.current); optimize also gets detail's target image. */
  current: z.object({ svg: PayloadRef, target: PayloadRef.optional() }).loose(),
  /** The GPU backend that carries the input (infra/config/environments.ts `gpu.backend`). */
  backend: z.enum(GPU_BACKENDS).default('task'),
});

export function makeHandler(config: PrepareStageInputConfig, deps: HandlerDeps = {}) {
  const tools = deps.tools ?? createTools('prepare-stage-input');
  const { logger } = tools;
  const s3 = deps.clients?.s3 ?? s3Client(tools);
  return lambdaHandler(async (event): Promise<{ ref: PayloadRef }> => {
    const input = parseOrThrow(PrepareInput, event);
    const stageInput: StageInput = parseOrThrow(
      StageInput,
      {
        schemaVersion: 1,
        requestId: input.requestId,
        stage: input.stage,
        prompt: input.request.prompt,
        style: input.request.style,
        seed: input.request.seed,
        // Checked against this stage's config schema, ranges included.
        config: input.config,
        svg: input.current.svg,
        ...(input.current.target ? { target: input.current.target } : {}),
      },
      InvalidInputError,
    );
    const fits = (ref: unknown) => fitsTransport(input.backend, ref);
    const ref = await putPayload(JSON.stringify(stageInput), 'application/json', fits, {
      s3,
      bucket: config.bucket,
      requestId: input.requestId,
      stage: input.stage,
      name: 'input.json',
    });
    logger.info('stage input prepared', {
      requestId: input.requestId,
      stage: input.stage,
      backend: input.backend,
      bytes: ref.bytes,
      where: 'inline' in ref ? ref.encoding : 's3',
    });
    return { ref };
  }, tools);
}
