// Request identity: the request id an execution works under, and the cache key of a request.
import { createHash, randomUUID } from 'node:crypto';
import type { GenerationRequest } from '#contracts/schemas';

/** JSON with object keys sorted at every level, so equal requests serialize equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** sha256 of the canonical request (defaults applied) and the pipeline version. */
export function cacheKeyOf(request: GenerationRequest, pipelineVersion: string): string {
  return createHash('sha256').update(canonicalJson({ pipelineVersion, request })).digest('hex');
}

// Request ids become S3 key segments (runs/<requestId>/…): only characters safe there.
const SAFE_ID = /^[A-Za-z0-9_.-]{1,80}$/;

/** The execution name when it is a safe key segment (so logs and objects line up), else a UUID v4. */
export function requestIdFrom(executionName: string | undefined): string {
  return executionName && SAFE_ID.test(executionName) && !/^\.+$/.test(executionName)
    ? executionName
    : randomUUID();
}
