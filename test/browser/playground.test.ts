// The playground page in a real browser (Debian's chromium through playwright-core) against a
// `chat2svg serve` on loopback with stand-in detail/optimize workers and a scripted LLM provider.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPayload } from '#commons/payload';
import type { ServeHandle } from '#local/serve/serve';
import { answer, FakeProvider } from '../fixtures/llm/fake-server.ts';
import { SYNTH_TIMEOUT_MS, startTestServe } from '../support/local.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = join(process.cwd(), 'test-results', 'playground');
const hasChromium = existsSync(CHROMIUM);
// CI must run these: there a missing browser is a failure, not a skip.
const skip = !hasChromium && !process.env.CI;
if (skip)
  console.warn(
    `browser tests skipped: no chromium at ${CHROMIUM} (scripts/setup installs Debian's chromium)`,
  );

/** An SVG that runs script every way an SVG document can, each calling the page's probe. */
const HOSTILE_SVG = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 512 512" width="512" height="512" onload="window.__probe('svg onload')">
  <script>window.__probe('svg script')</script>
  <rect id="path_0" x="0" y="0" width="512" height="512" fill="#E8F4FF"/>
  <circle id="path_1" cx="256" cy="280" r="120" fill="#F57C00" onmouseover="window.__probe('mouseover')"/>
  <foreignObject width="100" height="100"><body xmlns="http://www.w3.org/1999/xhtml"><img src="x" onerror="window.__probe('img onerror')"/></body></foreignObject>
  <a xlink:href="javascript:window.__probe('link')"><rect id="path_2" x="10" y="10" width="50" height="50" fill="#212121"/></a>
  <image href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' onload='window.__probe(1)'/%3E"/>
</svg>`;

let serve: ServeHandle;
let provider: FakeProvider;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Everything the hostile SVG managed to run, and the page's own errors. */
const probes: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  if (skip) return;
  provider = await FakeProvider.start();
  serve = await startTestServe({
    env: {
      // Long enough for a few polls to see each stage running.
      FAKE_STAGE_MS: JSON.stringify({
        detail: { high: 300, medium: 300, low: 300 },
        optimize: { high: 300, medium: 300, low: 300 },
      }),
      OPENAI_API_KEY: 'test-key',
      OPENAI_BASE_URL: `${provider.url}/v1`,
      CHAT2SVG_LLM_BACKOFF_MS: '5',
      CHAT2SVG_LLM_TIMEOUT_MS: '2000',
    },
  });
  // One run first, so the handlers' cold start is not what the page tests wait for.
  await serve.generations.start({ prompt: 'warm up', style: '', tier: 'low', seed: 0 }).generation.done;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  await context.exposeBinding('__probe', (_source, what: unknown) => {
    probes.push(String(what));
  });
  // Records every status each stage's progress item shows, as the page changes it.
  await context.exposeBinding('__seen', (_source, stage: string, status: string) => {
    seen.push(`${stage}:${status}`);
  });
  // Page-side code as text: this project typechecks without the DOM library.
  await context.addInitScript(`
    new MutationObserver((records) => {
      for (const record of records)
        for (const node of record.addedNodes)
          if (node instanceof HTMLElement && node.matches('#progress li'))
            window.__seen(String(node.dataset.stage), String(node.dataset.status));
    }).observe(document, { childList: true, subtree: true });
  `);
  page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(serve.url);
}, SYNTH_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  await provider?.close();
});

const seen: string[] = [];

/** Types a prompt, submits it with the keyboard, and waits for the outcome line. */
async function generate(prompt: string, options: { llm?: string } = {}): Promise<string> {
  seen.length = 0;
  const posted = page.waitForResponse(
    (response) => response.url().endsWith('/v1/generations') && response.request().method() === 'POST',
  );
  await page.getByLabel('Prompt').fill(prompt);
  if (options.llm) await page.getByLabel('LLM provider').selectOption(options.llm);
  await page.getByLabel('Prompt').press('Tab');
  await page.getByRole('button', { name: 'Generate' }).focus();
  await page.keyboard.press('Enter');
  const { id } = (await (await posted).json()) as { id: string };
  // The page shows the id when it starts following it, and clears the previous outcome then.
  await expect.poll(() => page.locator('#generation-id').textContent()).toContain(id);
  await expect
    .poll(() => page.locator('#outcome').textContent(), { timeout: 60_000 })
    .toMatch(/^(Done|Failed)/);
  return id;
}

async function apiGet(path: string): Promise<Record<string, unknown>> {
  return (await (await fetch(`${serve.url}${path}`)).json()) as Record<string, unknown>;
}

/** The text behind a drawing's <img> (a blob: URL), read inside the page. */
function drawingText(name: string): Promise<string> {
  return page
    .locator(`figure[data-drawing="${name}"] img`)
    .evaluate((img) => fetch((img as unknown as { src: string }).src).then((response) => response.text()));
}

describe.skipIf(skip)('the playground page', { timeout: 120_000 }, () => {
  it('serves the page with a script-free CSP and no-sniff, and lists only the providers this server has', async () => {
    const response = await fetch(serve.url);
    const csp = response.headers.get('content-security-policy') ?? '';

    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline'?[^;]*;?\s*script|script-src[^;]*unsafe/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    // Filled from GET /v1/status once the page has loaded.
    const options = () =>
      page
        .locator('#llm option')
        .evaluateAll((nodes) => nodes.map((node) => (node as unknown as { value: string }).value));
    await expect.poll(options).toEqual(['', 'offline', 'openai']);
  });

  it('shows live progress for each stage, every drawing, and the final SVG the API returns', async () => {
    const id = await generate('a red fox on a hill');

    // No LLM is asked for, so the template is the offline composer's (reported as skipped).
    for (const [stage, outcome] of [
      ['template', 'skipped'],
      ['detail', 'ran'],
      ['optimize', 'ran'],
    ])
      expect(seen, `progress for ${stage}`).toContain(`${stage}:${outcome}`);
    // Live: the container stages were seen running before they were seen done.
    for (const stage of ['detail', 'optimize'])
      expect(seen.indexOf(`${stage}:running`), stage).toBeLessThan(seen.indexOf(`${stage}:ran`));
    expect(seen.indexOf('detail:running')).toBeGreaterThanOrEqual(0);
    const described = (await apiGet(`/v1/generations/${id}`)) as {
      status: string;
      output: { result: { svg: unknown; degraded: boolean } };
    };
    expect(described.status).toBe('SUCCEEDED');
    const apiSvg = (await readPayload(described.output.result.svg, serve.runtime.emulators.s3)).toString(
      'utf8',
    );
    expect(await drawingText('final')).toBe(apiSvg);
    await expect
      .poll(() =>
        page
          .locator('figure[data-drawing="final"] img')
          .evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth),
      )
      .toBeGreaterThan(0);
    for (const name of ['template', 'detail', 'optimize'])
      expect(await page.locator(`figure[data-drawing="${name}"] img`).count(), name).toBe(1);
    await expect.poll(() => page.locator('#report-stages tbody tr').count()).toBe(3);
    expect(await page.locator('#report-sizes tbody tr').count()).toBeGreaterThanOrEqual(3);
    expect(await page.getByRole('button', { name: 'Download SVG' }).isEnabled()).toBe(true);
    expect(await page.locator('#history button', { hasText: 'a red fox on a hill' }).count()).toBeGreaterThan(
      0,
    );
    expect(pageErrors).toEqual([]);
  });

  it('shows a stage with an injected fault as degraded, with its reason', async () => {
    serve.runtime.faults.optimize = 'Stage.Failed';
    try {
      await generate('a lighthouse at dusk');
    } finally {
      delete serve.runtime.faults.optimize;
    }

    const item = page.locator('#progress li[data-stage="optimize"]');
    expect(await item.getAttribute('data-status')).toBe('degraded');
    expect(await item.locator('.reason').textContent()).toMatch(/Stage\.Failed/);
    const row = page.locator('#report-stages tr[data-stage="optimize"]');
    expect(await row.textContent()).toMatch(/degraded.*Stage\.Failed/);
    expect(await page.locator('#outcome').textContent()).toMatch(/degraded/);
    await expect
      .poll(() => page.locator('#breakers tr[data-stage="optimize"]').textContent(), { timeout: 5_000 })
      .toMatch(/1 failure/);
  });

  it('never runs script from a hostile SVG: not from the template path, nor one that slipped past the server', async () => {
    // The probe is live: the same SVG inlined into a page with no defences calls it.
    const control = await context.newPage();
    await control.setContent(`<!doctype html><body>${HOSTILE_SVG}</body>`);
    await expect.poll(() => probes.length).toBeGreaterThan(0);
    await control.close();
    probes.length = 0;

    provider.script(
      { answer: answer('plan') },
      { answer: `\`\`\`svg\n${HOSTILE_SVG}\n\`\`\`` },
      {
        answer: `\`\`\`svg\n${HOSTILE_SVG}\n\`\`\``,
      },
    );
    await generate('a hostile fox', { llm: 'openai' });
    expect(provider.requests.length).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#progress li[data-stage="template"]').getAttribute('data-status')).toBe('ran');
    await page.locator('figure[data-drawing="template"] img').hover();

    // The last line of defence: the result as it would be had every server-side sanitizer failed.
    await page.route('**/v1/generations/*/svg', (route) =>
      route.fulfill({ status: 200, contentType: 'image/svg+xml', body: HOSTILE_SVG }),
    );
    await generate('a hostile fox, unsanitized');
    await page.unroute('**/v1/generations/*/svg');
    await page.locator('figure[data-drawing="final"] img').hover();
    await page.locator('figure[data-drawing="final"] img').click();
    const shown = await drawingText('final');

    expect(shown).not.toMatch(/<script|onload|onerror|onmouseover|javascript:|foreignObject/i);
    expect(await page.locator('#outcome').textContent()).toMatch(/Removed from the result/);
    expect(await page.locator('script:not([src])').count()).toBe(0);
    await page.waitForTimeout(200);
    expect(probes).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('works at phone width, and leaves screenshots of the page', async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.locator('#history button', { hasText: 'a red fox on a hill' }).first().click();
    await expect.poll(() => page.locator('#outcome').textContent(), { timeout: 10_000 }).toMatch(/^Done/);
    await page.screenshot({ path: join(SCREENSHOTS, 'desktop.png'), fullPage: true });

    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    await page.screenshot({ path: join(SCREENSHOTS, 'phone.png'), fullPage: true });

    expect(overflow).toBeLessThanOrEqual(0);
    expect(existsSync(join(SCREENSHOTS, 'phone.png'))).toBe(true);
  });
});
