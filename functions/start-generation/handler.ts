// The API's front door, POST /v1/generations (docs/architecture.md §12): validates the request,
// admits it against the GPU load in the signal store (admission.ts; 429 + Retry-After when the
// environment rejects on overload) and starts the execution, named so Idempotency-Key retries map
// to the execution their key started.
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { dynamoClient, type HandlerDeps } from '#commons/clients';
import { type Clock, systemClock } from '#commons/clock';
import { type Env, listEnv, optionalEnv, requireEnv } from '#commons/env';
import { describeIssues, parseOrThrow } from '#commons/errors';
import { createTools, lambdaHandler, MetricUnit } from '#commons/lambda';
import { GenerationRequest, PIPELINE_VERSION } from '#contracts/schemas';
import { readLoadSignals, writeAllocation } from '#functions/assess-resources/load-store';
import { parseCapabilities } from '#functions/assess-resources/signals';
import { cacheKeyOf } from '#functions/normalize-request/identity';
import {
  type AdmissionPolicy,
  admissionDecision,
  admissionPolicyFromEnv,
  type Decision,
  loadFromSignals,
} from './admission.ts';
import {
  bodyText,
  executionArn,
  executionInput,
  executionName,
  idempotencyKey,
  ProxyEvent,
  type ProxyReply,
  replies,
  sameRequest,
} from './http.ts';

export interface StartGenerationConfig {
  readonly stateMachineArn: string;
  /** The load signal store; none = every request is taken and the assessment decides alone. */
  readonly signalsTable?: string;
  /** The result cache, where a repeat finds its result or the claim of the run it will join. */
  readonly cacheTable?: string;
  /** Part of every cache key, as Normalize computes it. */
  readonly pipelineVersion: string;
  /** The GPU stages this deployment runs (STAGE_CAPABILITIES). */
  readonly stages: ReturnType<typeof parseCapabilities>;
  readonly policy: AdmissionPolicy;
  /** Browser origins whose Origin is echoed (CORS_ORIGINS). */
  readonly corsOrigins: readonly string[];
  /** @default the system clock */
  readonly clock?: Clock;
}

export function configFromEnv(env: Env = process.env): StartGenerationConfig {
  return {
    stateMachineArn: requireEnv('STATE_MACHINE_ARN', env),
    signalsTable: optionalEnv('SIGNALS_TABLE', env),
    cacheTable: optionalEnv('CACHE_TABLE', env),
    pipelineVersion: optionalEnv('PIPELINE_VERSION', env) ?? PIPELINE_VERSION,
    stages: parseCapabilities(listEnv('STAGE_CAPABILITIES', env)),
    policy: admissionPolicyFromEnv(env),
    corsOrigins: listEnv('CORS_ORIGINS', env),
  };
}

/** Seconds a caller throttled by Step Functions is asked to wait. */
const THROTTLED_RETRY_SECONDS = 1;

export function makeHandler(config: StartGenerationConfig, deps: HandlerDeps & { sfn?: SFNClient } = {}) {
  const tools = deps.tools ?? createTools('start-generation');
  const { logger, metrics, tracer } = tools;
  const ddb = deps.clients?.dynamodb ?? dynamoClient(tools);
  const sfn = deps.sfn ?? tracer.captureAWSv3Client(new SFNClient({}));
  const clock = config.clock ?? systemClock;

  /** The execution a name already started, or undefined. */
  const describe = async (name: string) => {
    try {
      return await sfn.send(
        new DescribeExecutionCommand({ executionArn: executionArn(config.stateMachineArn, name) }),
      );
    } catch (error) {
      if (error instanceof ExecutionDoesNotExist) return undefined;
      throw error;
    }
  };

  /**
   * Whether the request's cache key holds a fresh result or a live claim: the execution will return
   * the result or join the run in flight (docs/architecture.md §3), with no GPU work of its own.
   */
  const isRepeat = async (request: GenerationRequest): Promise<boolean> => {
    if (!config.cacheTable) return false;
    const reply = await ddb.send(
      new GetItemCommand({
        TableName: config.cacheTable,
        Key: { cacheKey: { S: cacheKeyOf(request, config.pipelineVersion) } },
        ProjectionExpression: 'expiresAtIso, #status, pendingUntil',
        ExpressionAttributeNames: { '#status': 'status' },
      }),
    );
    const item = reply.Item;
    const now = clock().toISOString();
    if (!item) return false;
    return item.status?.S === 'pending'
      ? (item.pendingUntil?.S ?? '') > now
      : (item.expiresAtIso?.S ?? '') > now;
  };

  /** Admission against the load in the store; a store that cannot be read admits (and says so). */
  const admit = async (request: GenerationRequest): Promise<Decision> => {
    if (!config.signalsTable) return { ok: true };
    try {
      const signals = await readLoadSignals(ddb, config.signalsTable, undefined, clock());
      const decision = admissionDecision(request, loadFromSignals(signals, config.stages), config.policy);
      // Load never turns away a request that needs no GPU time; looked up only when it would.
      if (!decision.ok && (await isRepeat(request))) return { ok: true };
      return decision;
    } catch (error) {
      logger.warn('load signals unavailable; request admitted without them', { error });
      return { ok: true };
    }
  };

  const post = async (event: ProxyEvent, reply: ReturnType<typeof replies>): Promise<ProxyReply> => {
    let body: unknown;
    try {
      body = JSON.parse(bodyText(event));
    } catch {
      return reply(400, { message: 'request body is not JSON' });
    }
    const parsed = GenerationRequest.safeParse(body);
    if (!parsed.success) return reply(400, { message: `invalid request: ${describeIssues(parsed.error)}` });
    const request = parsed.data;
    const { key, error } = idempotencyKey(event);
    if (error) return reply(400, { message: error });
    const caller = event.requestContext.identity.userArn ?? '';
    const name = executionName(event.requestContext.requestId, caller, key);

    // A retry answers with the execution its key started: same request ⇒ the same 202, else 422.
    const answerEarlier = (earlier: DescribeExecutionCommandOutput) =>
      sameRequest(earlier.input, caller, request)
        ? reply(202, { id: name, startDate: earlier.startDate?.toISOString() })
        : reply(422, { message: `Idempotency-Key "${key}" was used with a different request` });
    if (key !== undefined) {
      const earlier = await describe(name);
      if (earlier) return answerEarlier(earlier);
    }

    const decision = await admit(request);
    if (!decision.ok) {
      metrics.addMetric('AdmissionRejected', MetricUnit.Count, 1);
      const retryAfter = String(Math.max(1, Math.ceil(decision.retryAfterSeconds)));
      return reply(429, { message: decision.message }, { 'Retry-After': retryAfter });
    }
    if (decision.tier && config.signalsTable) {
      // The assessment honours this pick; without it, it picks from the same load itself.
      await writeAllocation(ddb, config.signalsTable, name, {
        tier: decision.tier,
        reason: decision.reason ?? '',
      }).catch((error) => logger.warn('allocation not written; the assessment decides', { error }));
    }
    try {
      const started = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: config.stateMachineArn,
          name,
          // The caller envelope Normalize unwraps and GET scopes by.
          input: executionInput(caller, body),
        }),
      );
      logger.info('generation started', {
        name,
        tier: decision.tier ?? request.tier,
        keyed: key !== undefined,
      });
      return reply(202, { id: name, startDate: started.startDate?.toISOString() });
    } catch (error) {
      if (error instanceof ExecutionAlreadyExists) {
        const earlier = key === undefined ? undefined : await describe(name);
        if (earlier) return answerEarlier(earlier);
        return reply(409, { message: 'a generation with this id already exists' });
      }
      if (/Throttl|TooManyRequests|ExecutionLimitExceeded/.test((error as Error).name)) {
        const retryAfter = String(THROTTLED_RETRY_SECONDS);
        return reply(
          429,
          { message: `too many requests; retry after ${retryAfter} s` },
          { 'Retry-After': retryAfter },
        );
      }
      if ((error as { $fault?: string }).$fault === 'client')
        return reply(400, { message: 'request rejected' });
      throw error;
    }
  };

  return lambdaHandler(async (raw): Promise<ProxyReply> => {
    const event = parseOrThrow(ProxyEvent, raw);
    const reply = replies(event, config.corsOrigins);
    try {
      return await post(event, reply);
    } catch (error) {
      // Callers see only 4xx messages; anything else is logged here and answered generically.
      logger.error('generation not started', { error });
      return reply(500, { message: 'internal error' });
    }
  }, tools);
}
