// The HTTP side of the front door: the API Gateway proxy event it reads, the Idempotency-Key
// header, the execution name a request starts under, and the replies with their CORS headers.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { GenerationRequest } from '#contracts/schemas';
import { canonicalJson } from '#functions/normalize-request/identity';

/** The parts of an API Gateway (REST, proxy) event the front door reads; the rest passes by. */
export const ProxyEvent = z
  .object({
    body: z.string().nullish(),
    isBase64Encoded: z.boolean().nullish(),
    headers: z.record(z.string(), z.string().nullish()).nullish(),
    multiValueHeaders: z.record(z.string(), z.array(z.string()).nullish()).nullish(),
    requestContext: z
      .object({
        requestId: z.string().min(1),
        identity: z.object({ userArn: z.string().nullish() }).loose(),
      })
      .loose(),
  })
  .loose();
export type ProxyEvent = z.infer<typeof ProxyEvent>;

export interface ProxyReply {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Every value a header was sent with, whatever its case. */
export function headerValues(event: ProxyEvent, name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const [key, list] of Object.entries(event.multiValueHeaders ?? {}))
    if (key.toLowerCase() === wanted) values.push(...(list ?? []));
  if (values.length) return values;
  for (const [key, value] of Object.entries(event.headers ?? {}))
    if (key.toLowerCase() === wanted && value != null) values.push(value);
  return values;
}

/** The Idempotency-Key, absent, or an error message when it is not one value of 1–255 characters. */
export function idempotencyKey(event: ProxyEvent): { key?: string; error?: string } {
  const values = headerValues(event, 'Idempotency-Key');
  if (!values.length) return {};
  if (values.length > 1 || values[0].length === 0 || values[0].length > 255)
    return { error: 'Idempotency-Key must be one value of 1 to 255 characters' };
  return { key: values[0] };
}

/**
 * The execution name: with an Idempotency-Key a hash of the caller and the key (so Step Functions'
 * named executions map a retry to the execution the key started, and one caller's key never names
 * another's execution); without one, the API request id. Both are safe S3 key segments, so the
 * execution name is the request id Normalize gives the run.
 */
export function executionName(requestId: string, caller: string, key: string | undefined): string {
  if (key === undefined) return requestId;
  return `idem-${createHash('sha256')
    .update(JSON.stringify([caller, key]))
    .digest('hex')}`;
}

/** The execution input: the caller envelope, canonical so that a retry's input is equal. */
export function executionInput(caller: string, body: unknown): string {
  return canonicalJson({ caller, request: body });
}

/** Whether an execution's input is this caller's envelope around this request (after parsing). */
export function sameRequest(input: string | undefined, caller: string, request: GenerationRequest): boolean {
  const started = JSON.parse(input ?? '{}') as { caller?: unknown; request?: unknown };
  const parsed = GenerationRequest.safeParse(started.request);
  return started.caller === caller && parsed.success && canonicalJson(parsed.data) === canonicalJson(request);
}

/** `arn:…:stateMachine:<machine>` ⇒ `arn:…:execution:<machine>:<name>`. */
export function executionArn(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/** The body as text (API Gateway base64-encodes binary media types). */
export function bodyText(event: ProxyEvent): string {
  const body = event.body ?? '';
  return event.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
}

/**
 * Replies for one request: JSON, and for an allowed browser Origin the CORS headers (the origin
 * echoed, Retry-After readable by the page).
 */
export function replies(event: ProxyEvent, corsOrigins: readonly string[]) {
  const [origin] = headerValues(event, 'Origin');
  const cors: Record<string, string> =
    origin && corsOrigins.includes(origin)
      ? {
          'Access-Control-Allow-Origin': origin,
          'Access-Control-Expose-Headers': 'Retry-After',
          Vary: 'Origin',
        }
      : {};
  return (statusCode: number, json: unknown, headers: Record<string, string> = {}): ProxyReply => ({
    statusCode,
    headers: { 'Content-Type': 'application/json', ...cors, ...headers },
    body: JSON.stringify(json),
  });
}
