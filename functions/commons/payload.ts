// PayloadRef transfer (docs/architecture.md §5): inline when the serialized ref fits the transport's
// budget, else an S3 object under runs/<requestId>/<stage>/<name>. Mirrors the Python worker's
// chat2svg_worker/payload.py: same encodings, same order, size measured by jsonSize (transports.ts).
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type InlinePayloadRef, type PayloadEncoding, PayloadRef } from '#contracts/schemas';
import { jsonSize } from '#contracts/transports';
import { PayloadIntegrityError, PayloadTooLargeError, parseOrThrow } from './errors.ts';

const TEXT_TYPES = ['text/', 'application/json', 'image/svg+xml', 'application/xml'];

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function runKey(requestId: string, stage: string, name: string): string {
  return `runs/${requestId}/${stage}/${name}`;
}

export function runPrefix(requestId: string): string {
  return `runs/${requestId}/`;
}

function toBytes(data: Uint8Array | string): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
}

function isText(mediaType: string): boolean {
  return TEXT_TYPES.some((prefix) => mediaType.startsWith(prefix));
}

function isUtf8(data: Buffer): boolean {
  return Buffer.from(data.toString('utf8'), 'utf8').equals(data);
}

/** Serialized length in bytes: what a transport (env var, state data, item) actually carries. */
export function refSize(ref: PayloadRef): number {
  return jsonSize(ref);
}

/**
 * Most bytes a serialized ref may take, or a test of the whole request a transport sends
 * (fitsTransport), which embeds the ref with other fields and escapes it.
 */
export type InlineBudget = number | ((ref: InlinePayloadRef) => boolean);

function fits(ref: InlinePayloadRef, budget: InlineBudget): boolean {
  return typeof budget === 'number' ? refSize(ref) <= budget : budget(ref);
}

function describeBudget(budget: InlineBudget): string {
  return typeof budget === 'number' ? `${budget} bytes` : `of ${budget.name || 'the transport'}`;
}

/**
 * The first inline encoding (utf8 for text, else base64, then gzip+base64) whose serialized
 * ref fits `budget`; undefined when none fits.
 */
export function encodeInline(
  data: Uint8Array | string,
  mediaType: string,
  budget: InlineBudget,
): InlinePayloadRef | undefined {
  const bytes = toBytes(data);
  const meta = { mediaType, bytes: bytes.length, sha256: sha256Hex(bytes) };
  const candidates: [PayloadEncoding, () => string][] = [];
  if (isText(mediaType) && isUtf8(bytes)) candidates.push(['utf8', () => bytes.toString('utf8')]);
  else candidates.push(['base64', () => bytes.toString('base64')]);
  candidates.push(['gzip+base64', () => gzipSync(bytes, { level: 9 }).toString('base64')]);
  for (const [encoding, encode] of candidates) {
    const ref: InlinePayloadRef = { inline: encode(), encoding, ...meta };
    if (fits(ref, budget)) return ref;
  }
  return undefined;
}

export interface PayloadTarget {
  s3: S3Client;
  /** Unset ⇒ payloads over budget fail with Payload.TooLarge. */
  bucket: string | undefined;
  requestId: string;
  stage: string;
  name: string;
}

/** A PayloadRef for `data`: inline within `budget`, else put to S3 under runs/<requestId>/…. */
export async function putPayload(
  data: Uint8Array | string,
  mediaType: string,
  budget: InlineBudget,
  target: PayloadTarget,
): Promise<PayloadRef> {
  const inline = encodeInline(data, mediaType, budget);
  if (inline) return inline;
  const bytes = toBytes(data);
  if (!target.bucket) {
    throw new PayloadTooLargeError(
      `${mediaType} payload of ${bytes.length} bytes exceeds the inline budget ${describeBudget(budget)} and no payload bucket is configured`,
    );
  }
  const key = runKey(target.requestId, target.stage, target.name);
  await target.s3.send(
    new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: bytes, ContentType: mediaType }),
  );
  return { s3: { bucket: target.bucket, key }, mediaType, bytes: bytes.length, sha256: sha256Hex(bytes) };
}

function decodeInline(ref: InlinePayloadRef): Buffer {
  try {
    if (ref.encoding === 'utf8') return Buffer.from(ref.inline, 'utf8');
    const raw = Buffer.from(ref.inline, 'base64');
    return ref.encoding === 'base64' ? raw : gunzipSync(raw);
  } catch (error) {
    throw new PayloadIntegrityError(
      `payload does not decode as ${ref.encoding}: ${(error as Error).message}`,
    );
  }
}

/** The decoded bytes of a PayloadRef, checked against its byte count and sha256. */
export async function readPayload(ref: unknown, s3?: S3Client): Promise<Buffer> {
  const valid = parseOrThrow(PayloadRef, ref, PayloadIntegrityError);
  let data: Buffer;
  if ('inline' in valid) {
    data = decodeInline(valid);
  } else {
    if (!s3) throw new PayloadIntegrityError('payload is in S3 but no S3 client was given');
    const object = await s3.send(new GetObjectCommand({ Bucket: valid.s3.bucket, Key: valid.s3.key }));
    data = Buffer.from(
      await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
  }
  if (data.length !== valid.bytes) {
    throw new PayloadIntegrityError(`payload has ${data.length} bytes, its ref says ${valid.bytes}`);
  }
  if (sha256Hex(data) !== valid.sha256)
    throw new PayloadIntegrityError('payload sha256 does not match its ref');
  return data;
}

/** Objects a run wrote under runs/<requestId>/ (the run report's objectsWritten); 0 without a bucket. */
export async function countRunObjects(
  s3: S3Client,
  bucket: string | undefined,
  requestId: string,
): Promise<number> {
  if (!bucket) return 0;
  let count = 0;
  let token: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: runPrefix(requestId), ContinuationToken: token }),
    );
    count += page.KeyCount ?? 0;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return count;
}
