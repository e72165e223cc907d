// `chat2svg serve` over real HTTP on loopback: the deployed API's routes and shapes, idempotency,
// many callers at once, on one runtime with warm stand-in stage workers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServeHandle } from '#local/serve/serve';
import { rendersAsSvg, SYNTH_TIMEOUT_MS, startTestServe } from '../support/local.ts';

let serve: ServeHandle;

beforeAll(async () => {
  serve = await startTestServe({ perStage: 2 });
}, SYNTH_TIMEOUT_MS);
afterAll(async () => {
  await serve?.stop();
});

async function post(body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${serve.url}/v1/generations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

async function get(path: string) {
  const response = await fetch(`${serve.url}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function finished(id: string): Promise<Record<string, unknown>> {
  for (;;) {
    const { body } = await get(`/v1/generations/${id}`);
    if (body.status !== 'RUNNING') return body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('chat2svg serve', { timeout: 120_000 }, () => {
  it('starts a generation with 202 and describes it in the deployed API shape', async () => {
    const accepted = await post({ prompt: 'a red fox', seed: 1 });

    expect(accepted.status).toBe(202);
    expect(Object.keys(accepted.body).sort()).toEqual(['id', 'startDate']);
    const done = await finished(String(accepted.body.id));
    expect(done).toMatchObject({
      id: accepted.body.id,
      status: 'SUCCEEDED',
      error: '',
      startDate: accepted.body.startDate,
    });
    expect(Date.parse(String(done.stopDate))).toBeGreaterThanOrEqual(Date.parse(String(done.startDate)));
    const output = done.output as {
      cache: string;
      requestId: string;
      result: { tier: string; svg: unknown };
    };
    expect(output.cache).toBe('miss');
    expect(output.requestId).toBe(accepted.body.id);
    expect((done.progress as { stage: string }[]).map((event) => event.stage)).toEqual([
      'template',
      'detail',
      'optimize',
    ]);
    const svg = await fetch(`${serve.url}/v1/generations/${accepted.body.id}/svg`);
    expect(svg.headers.get('content-type')).toBe('image/svg+xml');
    expect(rendersAsSvg(await svg.text())).toBe(true);
  });

  it('answers 400 with the reason for an invalid request, and 404 for an unknown id', async () => {
    const empty = await post({ prompt: '  ' });
    const unknown = await post({ prompt: 'a fox', colour: 'red' });
    const notJson = await post('{"prompt":');

    expect(empty.status).toBe(400);
    expect(empty.body.message).toMatch(/prompt must not be empty/);
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toMatch(/colour/);
    expect(notJson).toMatchObject({ status: 400, body: { message: 'request body is not JSON' } });
    expect((await get('/v1/generations/no-such-id')).status).toBe(404);
  });

  it('maps retries with the same Idempotency-Key to one generation, and refuses the key for another request', async () => {
    const first = await post({ prompt: 'a blue kite' }, { 'idempotency-key': 'kite-1' });
    const retry = await post({ prompt: 'a blue kite' }, { 'idempotency-key': 'kite-1' });
    const other = await post({ prompt: 'a green kite' }, { 'idempotency-key': 'kite-1' });
    const fresh = await post({ prompt: 'a blue kite' });

    expect(retry.body.id).toBe(first.body.id);
    expect(other.status).toBe(422);
    expect(fresh.body.id).not.toBe(first.body.id);
    await finished(String(first.body.id));
    await finished(String(fresh.body.id));
  });

  it('lists recent generations and reports worker load', async () => {
    const { body: list } = await get('/v1/generations?limit=2');
    const { body: status } = await get('/v1/status');

    const items = list.items as { id: string; prompt: string; status: string; startDate: string }[];
    expect(items).toHaveLength(2);
    expect(Object.keys(items[0]).sort()).toEqual(['id', 'prompt', 'startDate', 'status']);
    const workers = status.workers as { mode: string; load: Record<string, { workers: number }> };
    expect(workers.mode).toBe('pool');
    expect(workers.load.detail.workers).toBe(2);
    expect(workers.load.optimize.workers).toBe(2);
  });

  it('takes 50 concurrent requests, 10 of them duplicates, and answers all from at most 40 GPU runs per stage', async () => {
    const before = { ...serve.runtime.calls };
    const unique = Array.from({ length: 40 }, (_, i) => ({ prompt: `a lantern number ${i}`, seed: 100 + i }));
    const requests = [...unique, ...unique.slice(0, 10)];

    const accepted = await Promise.all(requests.map((request) => post(request)));
    const done = await Promise.all(accepted.map((reply) => finished(String(reply.body.id))));

    expect(accepted.every((reply) => reply.status === 202)).toBe(true);
    expect(done.every((generation) => generation.status === 'SUCCEEDED')).toBe(true);
    const svgs = await Promise.all(
      done.map(async (generation) =>
        (await fetch(`${serve.url}/v1/generations/${generation.id}/svg`)).text(),
      ),
    );
    expect(svgs.every(rendersAsSvg)).toBe(true);
    // A duplicate answers with its original's SVG.
    expect(svgs.slice(40)).toEqual(svgs.slice(0, 10));
    expect(serve.runtime.calls.detail - before.detail).toBeLessThanOrEqual(40);
    expect(serve.runtime.calls.optimize - before.optimize).toBeLessThanOrEqual(40);
  });
});
