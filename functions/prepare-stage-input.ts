// Prepare stage input: builds the container stage's StageInput (docs/architecture.md §6) and hands it
// over as one PayloadRef: inline when the request the GPU backend's service receives (RunTask
// overrides, SQS message, SubmitJob) still fits its limit with the longest task token, else in S3.
import middy from '@middy/core';
import { z } from 'zod';
import { s3Client } from '#commons/clients';
import { optionalEnv } from '#commons/env';
import { InvalidInputError, parseOrThrow } from '#commons/errors';
import { createLogger } from '#commons/logger';
import { logInvocation } from '#commons/middleware';
import { putPayload } from '#commons/payload';
import {
  ContainerStageName,
  DetailConfig,
  GenerationRequest,
  OptimizeConfig,
  PayloadRef,
  StageInput,
} from '#contracts/schemas';
import { fitsTransport, GPU_BACKENDS } from '#contracts/transports';

const bucket = optionalEnv('PAYLOAD_BUCKET');
const s3 = s3Client();
const logger = createLogger('prepare-stage-input');

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

const CONFIGS = { detail: DetailConfig, optimize: OptimizeConfig } as const;

export async function logic(event: unknown): Promise<{ ref: PayloadRef }> {
  const input = parseOrThrow(PrepareInput, event);
  const config = parseOrThrow(CONFIGS[input.stage], input.config);
  const stageInput: StageInput = parseOrThrow(
    StageInput,
    {
      schemaVersion: 1,
      requestId: input.requestId,
      stage: input.stage,
      prompt: input.request.prompt,
      style: input.request.style,
      seed: input.request.seed,
      config,
      svg: input.current.svg,
      ...(input.current.target ? { target: input.current.target } : {}),
    },
    InvalidInputError,
  );
  const fits = (ref: unknown) => fitsTransport(input.backend, ref);
  const ref = await putPayload(JSON.stringify(stageInput), 'application/json', fits, {
    s3,
    bucket,
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
}

export const handler = middy(logic).use(logInvocation(logger));
