// How a stage's input reaches a GPU worker on each backend (docs/architecture.md, "GPU backends"), and
// the one definition of a payload's size: UTF-8 bytes of its compact JSON. The inline budget of a
// backend is checked on the request the service itself receives, with the longest task token.
// CDK-free: read by prepare-stage-input, the GPU backend constructs and the tests.

export const GPU_BACKENDS = ['pool', 'task', 'batch'] as const;
export type GpuBackendName = (typeof GPU_BACKENDS)[number];

/** SendTaskSuccess/SendTaskHeartbeat accept task tokens of 1 to 2,048 characters. */
export const MAX_TASK_TOKEN_LENGTH = 2048;

/** The one container in each stage task definition (task backend) and its environment names. */
export const STAGE_CONTAINER_NAME = 'stage';
export const STAGE_INPUT_ENV = 'STAGE_INPUT';
export const TASK_TOKEN_ENV = 'SFN_TASK_TOKEN';

/** Batch job and queue names are at most 128 characters; ARNs are measured with names that long. */
const MAX_BATCH_NAME = 128;
const LONGEST_ARN_PREFIX = 'arn:aws-iso-b:batch:us-isob-east-1:123456789012:';

/**
 * Size of a value as every transport carries it: the UTF-8 bytes of `JSON.stringify(value)`
 * (no spaces, non-ASCII kept as is). Python's `chat2svg_worker.payload.json_size` is the same
 * definition; both suites check stage-images/worker/tests/golden/payload-size.json.
 */
export function jsonSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

export interface Transport {
  /** The service's limit on `request(...)`, in bytes (ECS counts characters: bytes are never fewer). */
  readonly limitBytes: number;
  /** Where the limit comes from, for the docs and error messages. */
  readonly limit: string;
  /** The part of the service request the limit applies to, carrying `ref` and `token`. */
  request(ref: unknown, token: string): unknown;
}

export const TRANSPORTS: Record<GpuBackendName, Transport> = {
  // ecs:runTask.waitForTaskToken: the container overrides, the ref JSON-encoded into an env var.
  task: {
    limitBytes: 8192,
    limit: 'ECS RunTask: 8,192 characters of overrides, JSON formatting included',
    request: (ref, token) => ({
      containerOverrides: [
        {
          name: STAGE_CONTAINER_NAME,
          environment: [
            { name: STAGE_INPUT_ENV, value: JSON.stringify(ref) },
            { name: TASK_TOKEN_ENV, value: token },
          ],
        },
      ],
    }),
  },
  // sqs:sendMessage.waitForTaskToken: the message body. SQS takes 256 KiB, but the ref also sits in
  // the state data, whose 256 KiB already hold the previous stage's output (up to 128 KiB).
  pool: {
    limitBytes: 32 * 1024,
    limit: 'SQS message body, held to 32 KiB so the state data stays under 256 KiB',
    request: (ref, token) => ({ input: ref, taskToken: token }),
  },
  // aws-sdk:batch:submitJob.waitForTaskToken: the whole SubmitJob request, ARNs at their longest.
  batch: {
    limitBytes: 30 * 1024,
    limit: 'AWS Batch SubmitJob: 30 KiB job payload',
    request: (ref, token) => ({
      jobName: 'j'.repeat(MAX_BATCH_NAME),
      jobQueue: `${LONGEST_ARN_PREFIX}job-queue/${'q'.repeat(MAX_BATCH_NAME)}`,
      jobDefinition: `${LONGEST_ARN_PREFIX}job-definition/${'d'.repeat(MAX_BATCH_NAME)}:99999`,
      containerOverrides: {
        environment: [
          { name: STAGE_INPUT_ENV, value: JSON.stringify(ref) },
          { name: TASK_TOKEN_ENV, value: token },
        ],
      },
    }),
  },
};

/** Bytes the backend's service receives for `ref`, with a task token of the longest length. */
export function transportSize(backend: GpuBackendName, ref: unknown): number {
  return jsonSize(TRANSPORTS[backend].request(ref, 't'.repeat(MAX_TASK_TOKEN_LENGTH)));
}

/** Whether `ref` goes inline on `backend`; otherwise the StageInput goes to S3. */
export function fitsTransport(backend: GpuBackendName, ref: unknown): boolean {
  return transportSize(backend, ref) <= TRANSPORTS[backend].limitBytes;
}
