// Fault injection in front of the local emulators: a small HTTP proxy between every SDK client
// (handlers, Step Functions integrations, workers) and dynalite or s3rver that answers a chosen
// share of calls as AWS does when it is unwell — throttled, 5xx, or no answer at all — so that
// retries, Catches and degrade paths meet the errors they exist for.
import { createServer, request, type Server } from 'node:http';

export type FaultService = 'dynamodb' | 's3';
export type FaultKind = 'throttle' | 'error' | 'timeout';

export interface FaultRule {
  readonly service: FaultService;
  readonly kind: FaultKind;
  /** Share of matching calls that fail, 0..1. @default 1 */
  readonly probability?: number;
  /** DynamoDB operation (`GetItem`, `UpdateItem`…) or S3 HTTP method (`PUT`, `GET`…). @default any */
  readonly operation?: string;
  /** DynamoDB table name, or S3 bucket. @default any */
  readonly resource?: string;
  /** Stop after this many injected faults. @default unlimited */
  times?: number;
}

/** The rules in force (edit between or during runs) and what was injected so far. */
export interface EmulatorFaults {
  rules: FaultRule[];
  readonly injected: Record<FaultService, Record<FaultKind, number>>;
}

export function emptyFaults(): EmulatorFaults {
  const none = () => ({ throttle: 0, error: 0, timeout: 0 });
  return { rules: [], injected: { dynamodb: none(), s3: none() } };
}

/** How long a `timeout` fault holds the call before dropping the connection. */
const HANG_MS = 1_500;

interface Call {
  operation: string;
  resource: string | undefined;
}

function dynamoCall(headers: Record<string, unknown>, body: Buffer): Call {
  const operation = String(headers['x-amz-target'] ?? '').split('.')[1] ?? '';
  let resource: string | undefined;
  try {
    const parsed = JSON.parse(body.toString('utf8') || '{}') as {
      TableName?: string;
      RequestItems?: Record<string, unknown>;
    };
    resource = parsed.TableName ?? Object.keys(parsed.RequestItems ?? {})[0];
  } catch {
    // not JSON: no table
  }
  return { operation, resource };
}

function s3Call(method: string, url: string): Call {
  return { operation: method, resource: url.split('?')[0].split('/')[1] || undefined };
}

function answer(service: FaultService, kind: Exclude<FaultKind, 'timeout'>) {
  if (service === 'dynamodb') {
    const type = kind === 'throttle' ? 'ThrottlingException' : 'InternalServerError';
    return {
      status: kind === 'throttle' ? 400 : 500,
      type: 'application/x-amz-json-1.0',
      body: JSON.stringify({
        __type: `com.amazonaws.dynamodb.v20120810#${type}`,
        message: `injected ${type}`,
      }),
    };
  }
  const code = kind === 'throttle' ? 'SlowDown' : 'InternalError';
  return {
    status: kind === 'throttle' ? 503 : 500,
    type: 'application/xml',
    body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected ${code}</Message></Error>`,
  };
}

function draw(faults: EmulatorFaults, service: FaultService, call: Call): FaultRule | undefined {
  for (const rule of faults.rules) {
    if (rule.service !== service) continue;
    if (rule.operation && rule.operation !== call.operation) continue;
    if (rule.resource && rule.resource !== call.resource) continue;
    if (rule.times !== undefined && rule.times <= 0) continue;
    if (Math.random() >= (rule.probability ?? 1)) continue;
    if (rule.times !== undefined) rule.times -= 1;
    return rule;
  }
  return undefined;
}

/** A proxy to 127.0.0.1:`targetPort` that injects `faults` into `service` calls. */
export function faultProxy(service: FaultService, targetPort: number, faults: EmulatorFaults): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const call =
        service === 'dynamodb' ? dynamoCall(req.headers, body) : s3Call(req.method ?? 'GET', req.url ?? '/');
      const rule = draw(faults, service, call);
      if (rule) {
        faults.injected[service][rule.kind] += 1;
        if (rule.kind === 'timeout') {
          setTimeout(() => req.socket.destroy(), HANG_MS).unref();
          return;
        }
        const fault = answer(service, rule.kind);
        res.writeHead(fault.status, {
          'content-type': fault.type,
          'content-length': Buffer.byteLength(fault.body),
        });
        res.end(fault.body);
        return;
      }
      const upstream = request(
        { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
        (response) => {
          res.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(res);
        },
      );
      upstream.on('error', (error) => {
        res.destroy(error);
      });
      upstream.end(body);
    });
  });
}
