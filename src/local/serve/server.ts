// `chat2svg serve`: one local runtime behind the deployed API's routes and shapes, plus local-only
// routes (status, recent generations, the result SVG). Routes are a table, so more (a static page,
// new endpoints) are added by passing them in, not by editing the dispatcher.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeIssues } from '#commons/errors';
import { readPayload } from '#commons/payload';
import { SvgInvalidError, sanitizeSvg } from '#commons/sanitize';
import { GenerationRequest } from '#contracts/schemas';
import { keyedProviders } from '#template/llm/variables';
import { ARTIFACT_NAMES, type ArtifactName } from '../result.ts';
import type { LocalRuntime } from '../runtime.ts';
import type { Decision } from './admission.ts';
import { describe, Generations, type GenerationsOptions, IdempotencyConflictError } from './generations.ts';

/** What a route answers: a status, a JSON body (or raw text with its type), and extra headers. */
export interface Reply {
  readonly status: number;
  readonly json?: unknown;
  readonly text?: string | Buffer;
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
}

export interface RouteContext {
  readonly request: IncomingMessage;
  /** Named groups of the route's path pattern. */
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  /** The body parsed as JSON; a body that is not JSON answers 400 before the route runs. */
  body(): Promise<unknown>;
}

export interface Route {
  readonly method: string;
  /** Matched against the whole path; named groups become `params`. */
  readonly path: RegExp;
  handle(context: RouteContext): Reply | Promise<Reply>;
}

/** Admission control at POST time: whether a request is taken, and what to do before it starts. */
export interface Admit {
  decide(request: GenerationRequest): Decision;
  admit(id: string, request: GenerationRequest, decision: Decision): Promise<void>;
}

export interface ServeOptions {
  readonly runtime: LocalRuntime;
  /** @default 8787 (0 picks a free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Routes tried before the built-in ones. @default [] */
  readonly routes?: readonly Route[];
  /** Admission control for POST. @default every request is taken */
  readonly admit?: Admit;
  /** Told of stage events and ends. @default none */
  readonly observer?: GenerationsOptions['observer'];
  /** Extra fields for GET /v1/status. @default none */
  readonly status?: () => Promise<Record<string, unknown>>;
}

export interface RunningServer {
  readonly url: string;
  readonly server: Server;
  readonly generations: Generations;
  close(): Promise<void>;
}

/** Largest request body taken: a request is a prompt and a few options. */
const MAX_BODY_BYTES = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { runtime } = options;
  const generations = new Generations(runtime, { observer: options.observer });
  const routes = [...(options.routes ?? []), ...apiRoutes(runtime, generations, options)];
  const server = createServer((request, response) => {
    dispatch(routes, request, response).catch((error: Error) => {
      // Callers see only 4xx messages; anything else is logged here and answered generically.
      process.stderr.write(`serve: ${request.method} ${request.url}: ${error.stack ?? error.message}\n`);
      if (!response.headersSent) send(response, { status: 500, json: { message: 'internal error' } });
      else response.destroy();
    });
  });
  // Many callers at once: keep accepting while executions run. An idle keep-alive socket is kept
  // longer than a busy event loop may stall, so a client never reuses one the server just closed.
  server.maxConnections = 10_000;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8787, options.host ?? '127.0.0.1', 1024, resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    server,
    generations,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function apiRoutes(runtime: LocalRuntime, generations: Generations, options: ServeOptions): Route[] {
  return [
    {
      method: 'POST',
      path: /^\/v1\/generations$/,
      handle: async (context) => {
        const parsed = GenerationRequest.safeParse(await context.body());
        if (!parsed.success)
          return { status: 400, json: { message: `invalid request: ${describeIssues(parsed.error)}` } };
        const key = context.request.headers['idempotency-key'];
        if (Array.isArray(key) || (key !== undefined && (key.length === 0 || key.length > 255)))
          return {
            status: 400,
            json: { message: 'Idempotency-Key must be one value of 1 to 255 characters' },
          };
        const admission: Decision = options.admit?.decide(parsed.data) ?? { ok: true };
        if (!admission.ok) {
          return {
            status: 429,
            json: { message: admission.message },
            headers: { 'Retry-After': String(Math.max(1, Math.ceil(admission.retryAfterSeconds))) },
          };
        }
        try {
          const { generation } = generations.start(parsed.data, key, (id) =>
            options.admit ? options.admit.admit(id, parsed.data, admission) : Promise.resolve(),
          );
          return { status: 202, json: { id: generation.id, startDate: generation.startDate } };
        } catch (error) {
          if (error instanceof IdempotencyConflictError)
            return { status: 422, json: { message: error.message } };
          throw error;
        }
      },
    },
    {
      method: 'GET',
      path: /^\/v1\/generations$/,
      handle: ({ query }) => {
        const limit = Number(query.get('limit') ?? 20);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
          return { status: 400, json: { message: 'limit must be an integer from 1 to 1000' } };
        const items = generations.recent(limit).map((g) => ({
          id: g.id,
          prompt: g.request.prompt,
          status: g.status,
          startDate: g.startDate,
        }));
        return { status: 200, json: { items } };
      },
    },
    {
      method: 'GET',
      path: /^\/v1\/generations\/(?<id>[^/]+)$/,
      handle: ({ params }) => {
        const generation = generations.get(params.id);
        if (!generation) return { status: 404, json: { message: 'generation not found' } };
        return { status: 200, json: describe(generation) };
      },
    },
    {
      method: 'GET',
      path: /^\/v1\/generations\/(?<id>[^/]+)\/svg$/,
      handle: ({ params }) => {
        const generation = generations.get(params.id);
        if (!generation) return { status: 404, json: { message: 'generation not found' } };
        if (generation.svg === undefined)
          return { status: 409, json: { message: `generation is ${generation.status}; no SVG` } };
        return { status: 200, text: generation.svg, contentType: 'image/svg+xml', headers: SVG_HEADERS };
      },
    },
    {
      // serve only: one stage's drawing (docs/state-machine.md: $.templateSvg, $.current). SVGs are
      // passed through the one sanitizer first, as finalize does for the result.
      method: 'GET',
      path: /^\/v1\/generations\/(?<id>[^/]+)\/artifacts\/(?<name>[^/]+)$/,
      handle: async ({ params }) => {
        const generation = generations.get(params.id);
        if (!generation) return { status: 404, json: { message: 'generation not found' } };
        const ref = generation.artifacts.get(params.name as ArtifactName);
        if (!ref || !(ARTIFACT_NAMES as readonly string[]).includes(params.name))
          return { status: 404, json: { message: `no ${params.name} drawing for this generation` } };
        const bytes = await readPayload(ref, runtime.emulators.s3);
        if (ref.mediaType === 'image/svg+xml') {
          try {
            const { svg } = sanitizeSvg(bytes.toString('utf8'));
            return { status: 200, text: svg, contentType: ref.mediaType, headers: SVG_HEADERS };
          } catch (error) {
            if (!(error instanceof SvgInvalidError)) throw error;
            return { status: 422, json: { message: `${params.name} drawing: ${error.message}` } };
          }
        }
        if (!/^image\/(png|jpeg|webp)$/.test(ref.mediaType))
          return { status: 415, json: { message: `${params.name} is ${ref.mediaType}, not an image` } };
        return { status: 200, text: bytes, contentType: ref.mediaType, headers: SVG_HEADERS };
      },
    },
    {
      method: 'GET',
      path: /^\/v1\/status$/,
      handle: async () => ({
        status: 200,
        json: {
          generations: { running: generations.running() },
          llm: llmChoices(runtime),
          workers: {
            mode: runtime.workers.mode,
            load: runtime.workers.load(),
            processes: runtime.workers.workers(),
          },
          ...(await options.status?.()),
        },
      }),
    },
  ];
}

/**
 * What a request's `llm` may name here, from the environment the handlers get. Bedrock needs the
 * developer's AWS credentials, and serve's runtime holds the emulators' instead.
 */
function llmChoices(runtime: LocalRuntime) {
  const synthesized = runtime.definition.functions.find((fn) => fn.environment.CHAT2SVG_LLM)?.environment;
  return {
    providers: ['offline', ...keyedProviders(runtime.env)],
    default: runtime.env.CHAT2SVG_LLM ?? synthesized?.CHAT2SVG_LLM ?? 'offline',
  };
}

/** A drawing opened on its own is a document: it may not run script, load anything or be framed. */
const SVG_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox",
  'x-content-type-options': 'nosniff',
};

async function dispatch(
  routes: readonly Route[],
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://local');
  let pathMatched = false;
  for (const route of routes) {
    const match = route.path.exec(url.pathname);
    if (!match) continue;
    pathMatched = true;
    if (route.method !== request.method) continue;
    let bodyRead: Promise<unknown> | undefined;
    const context: RouteContext = {
      request,
      params: { ...match.groups },
      query: url.searchParams,
      body: () => {
        bodyRead ??= readJson(request);
        return bodyRead;
      },
    };
    try {
      send(response, await route.handle(context));
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      send(response, { status: error.status, json: { message: error.message } });
    }
    return;
  }
  send(
    response,
    pathMatched
      ? { status: 405, json: { message: 'method not allowed' } }
      : { status: 404, json: { message: 'not found' } },
  );
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'request body is not JSON');
  }
}

function send(response: ServerResponse, reply: Reply): void {
  const body = reply.text ?? `${JSON.stringify(reply.json ?? null)}\n`;
  response.writeHead(reply.status, {
    'content-type': reply.contentType ?? 'application/json',
    'content-length': Buffer.byteLength(body),
    ...reply.headers,
  });
  response.end(body);
}
