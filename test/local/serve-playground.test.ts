// What `chat2svg serve` gives the playground, over HTTP without a browser: the page and its headers,
// each stage's drawing (sanitized), the plan, and breakers and providers in the status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServeHandle } from '#local/serve/serve';
import { rendersAsSvg, SYNTH_TIMEOUT_MS, startTestServe } from '../support/local.ts';

/** What the stand-in detail stage answers: a drawing with script in it. */
const HOSTILE_DETAIL = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64" onload="alert(1)"><script>alert(2)</script><rect id="path_0" width="64" height="64" fill="#F57C00" onclick="alert(3)"/></svg>`;

let serve: ServeHandle;

beforeAll(async () => {
  serve = await startTestServe({
    env: { FAKE_STAGE_SVG: JSON.stringify({ detail: HOSTILE_DETAIL }), ANTHROPIC_API_KEY: 'test-key' },
  });
}, SYNTH_TIMEOUT_MS);
afterAll(async () => {
  await serve?.stop();
});

async function finished(id: string): Promise<Record<string, unknown>> {
  for (;;) {
    const body = (await (await fetch(`${serve.url}/v1/generations/${id}`)).json()) as Record<string, unknown>;
    if (body.status !== 'RUNNING') return body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('serve for the playground', { timeout: 120_000 }, () => {
  it('serves the page and its files with a CSP that allows no inline script, and nothing else', async () => {
    const page = await fetch(`${serve.url}/`);
    const script = await fetch(`${serve.url}/playground/playground.js`);
    const missing = await fetch(`${serve.url}/playground/../server.ts`);

    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<script type="module" src="/playground/playground.js">');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(missing.status).toBe(404);
  });

  it("gives each stage's drawing, sanitized, and the plan's tier and reasons", async () => {
    const accepted = (await (
      await fetch(`${serve.url}/v1/generations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'a red fox', tier: 'low' }),
      })
    ).json()) as { id: string };

    const done = (await finished(accepted.id)) as {
      artifacts: string[];
      plan: { tier: string; reasons: string[]; runs: Record<string, boolean> };
    };
    expect(done.artifacts.sort()).toEqual(['detail', 'detail-target', 'optimize', 'template']);
    expect(done.plan.tier).toBe('low');
    expect(done.plan.reasons.length).toBeGreaterThan(0);
    expect(done.plan.runs).toEqual({ template: false, detail: true, optimize: true });
    const detail = await fetch(`${serve.url}/v1/generations/${accepted.id}/artifacts/detail`);
    const text = await detail.text();
    expect(detail.headers.get('content-type')).toBe('image/svg+xml');
    expect(detail.headers.get('content-security-policy')).toMatch(/default-src 'none'.*sandbox/);
    expect(text).toContain('path_0');
    expect(text).not.toMatch(/script|onload|onclick|alert/);
    expect(rendersAsSvg(text)).toBe(true);
    const unknown = await fetch(`${serve.url}/v1/generations/${accepted.id}/artifacts/nothing`);
    expect(unknown.status).toBe(404);
  });

  it('reports each breaker and the LLM providers this runtime can call', async () => {
    serve.runtime.faults.optimize = 'Stage.Failed';
    try {
      const accepted = (await (
        await fetch(`${serve.url}/v1/generations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ prompt: 'a blue kite' }),
        })
      ).json()) as { id: string };
      await finished(accepted.id);
    } finally {
      delete serve.runtime.faults.optimize;
    }

    const status = (await (await fetch(`${serve.url}/v1/status`)).json()) as {
      breakers: Partial<Record<string, { state: string; failures: number }>>;
      llm: { providers: string[]; default: string };
    };
    // A stage whose breaker never recorded anything has no item (CLOSED, as the gate reads it).
    expect(status.breakers.optimize).toMatchObject({ state: 'CLOSED', failures: 1 });
    expect(status.breakers.detail?.failures ?? 0).toBe(0);
    expect(status.llm).toEqual({ providers: ['offline', 'anthropic'], default: 'offline' });
  });
});
