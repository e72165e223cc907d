// The playground: posts a request to this server's API, polls the generation for per-stage
// progress and drawings, and shows the report. Every drawing is shown through an <img> with a
// blob: URL, so an SVG cannot run script here even if something slipped past the sanitizers.

const STAGES = ['template', 'detail', 'optimize'];
const DRAWINGS = [
  { name: 'template', label: 'Template' },
  { name: 'detail', label: 'Detail' },
  { name: 'detail-target', label: 'Detail target' },
  { name: 'optimize', label: 'Optimized' },
  { name: 'final', label: 'Final (sanitized)' },
];
const POLL_MS = 200;
const STATUS_POLL_MS = 3000;

const $ = (id) => document.getElementById(id);

/** Builds an element; children are nodes or text (never parsed as HTML). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name === 'class') element.className = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

async function api(path, init) {
  const response = await fetch(path, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message ?? `${response.status} ${response.statusText}`);
  return body;
}

// ---- the final SVG: checked here as well as by the server's sanitizer --------------------------

const SVG_NS = 'http://www.w3.org/2000/svg';
const FORBIDDEN = new Set(['script', 'foreignobject', 'iframe', 'object', 'embed', 'use', 'image', 'a']);

/**
 * Returns the SVG text unchanged when it holds nothing that could script or fetch, or a stripped
 * copy and what was removed. A document that does not parse is refused.
 */
function checkSvg(text) {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  const root = doc.documentElement;
  if (
    doc.getElementsByTagName('parsererror').length ||
    root.localName !== 'svg' ||
    root.namespaceURI !== SVG_NS
  )
    return { svg: undefined, removed: ['not an SVG document'] };
  const removed = new Set();
  for (const element of [...root.querySelectorAll('*'), root]) {
    if (element.namespaceURI !== SVG_NS || FORBIDDEN.has(element.localName.toLowerCase())) {
      removed.add(`<${element.localName}>`);
      element.remove();
      continue;
    }
    for (const attribute of [...element.attributes]) {
      const name = attribute.name.toLowerCase();
      const external = name.endsWith('href') && !attribute.value.trim().startsWith('#');
      const scripted = /(javascript|url\s*\(\s*['"]?\s*(?!#))/i.test(attribute.value);
      if (name.startsWith('on') || external || (name === 'style' && scripted)) {
        removed.add(`@${name}`);
        element.removeAttribute(attribute.name);
      }
    }
  }
  if (removed.size === 0) return { svg: text, removed: [] };
  return { svg: new XMLSerializer().serializeToString(root), removed: [...removed] };
}

function svgStats(text) {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  return { bytes: new Blob([text]).size, elements: doc.documentElement.querySelectorAll('*').length + 1 };
}

// ---- state of the page -----------------------------------------------------------------------

const view = {
  /** The generation shown; a newer one replaces it and stops its polling. */
  id: undefined,
  urls: new Map(), // drawing name → blob: URL
  texts: new Map(), // SVG drawing name → its text
  finalSvg: undefined,
  last: undefined, // last GET /v1/generations/{id}
};

function resetView(id) {
  for (const url of view.urls.values()) URL.revokeObjectURL(url);
  Object.assign(view, { id, urls: new Map(), texts: new Map(), finalSvg: undefined, last: undefined });
  $('generation-id').textContent = id ? `· ${id}` : '';
  $('outcome').textContent = '';
  $('report').replaceChildren();
  for (const button of ['download-svg', 'download-png', 'download-report']) $(button).disabled = true;
  renderDrawings();
}

// ---- rendering -------------------------------------------------------------------------------

function renderProgress(generation) {
  const events = new Map((generation?.progress ?? []).map((event) => [event.stage, event]));
  const running = generation?.status === 'RUNNING';
  // The stage at work: the first one with no report yet that the plan means to run.
  const runs = generation?.plan?.runs;
  let current = running ? STAGES.find((stage) => !events.has(stage) && runs?.[stage] !== false) : undefined;
  const items = STAGES.map((stage) => {
    const event = events.get(stage);
    const status = event?.status ?? (stage === current ? 'running' : 'pending');
    const duration = event && event.status === 'ran' ? ` · ${Math.round(event.durationMs)} ms` : '';
    return h(
      'li',
      { 'data-stage': stage, 'data-status': status },
      h('span', { class: 'name' }, stage),
      h('span', { class: `badge s-${status}` }, status),
      duration,
      // "ran" says nothing the badge does not; any other reason is why.
      event?.reason && event.reason !== 'ran' ? h('span', { class: 'reason' }, event.reason) : undefined,
    );
  });
  current = running && !current ? 'finalize' : undefined;
  items.push(
    h(
      'li',
      { 'data-stage': 'finalize', 'data-status': finalizeStatus(generation, current) },
      h('span', { class: 'name' }, 'finalize'),
      h(
        'span',
        { class: `badge s-${finalizeStatus(generation, current)}` },
        finalizeStatus(generation, current),
      ),
      generation?.status === 'FAILED'
        ? h('span', { class: 'reason' }, generation.cause ?? generation.error)
        : undefined,
    ),
  );
  // The list is a live region: replace it only when something changed, so it is announced once.
  const signature = items.map((item) => item.outerHTML).join('');
  if (signature === $('progress').dataset.signature) return;
  $('progress').dataset.signature = signature;
  $('progress').replaceChildren(...items);
}

function finalizeStatus(generation, current) {
  if (!generation) return 'pending';
  if (generation.status === 'SUCCEEDED') return 'ran';
  if (generation.status === 'FAILED') return 'failed';
  return current ? 'running' : 'pending';
}

function renderDrawings() {
  const figures = DRAWINGS.filter(
    ({ name }) => view.urls.has(name) || name === 'final' || name === 'template',
  ).map(({ name, label }) => {
    const url = view.urls.get(name);
    return h(
      'figure',
      { class: name === 'final' ? 'final' : undefined, 'data-drawing': name },
      url
        ? h('img', { src: url, alt: `${label} drawing`, width: 256, height: 256 })
        : h('p', { class: 'muted small' }, view.id ? 'waiting…' : 'no drawing yet'),
      h('figcaption', {}, label),
    );
  });
  $('drawings').replaceChildren(...figures);
}

function showBlob(name, blob) {
  const old = view.urls.get(name);
  if (old) URL.revokeObjectURL(old);
  view.urls.set(name, URL.createObjectURL(blob));
  renderDrawings();
}

async function loadArtifact(id, name) {
  const response = await fetch(`/v1/generations/${encodeURIComponent(id)}/artifacts/${name}`);
  if (!response.ok || view.id !== id) return;
  const type = response.headers.get('content-type') ?? '';
  if (type.startsWith('image/svg+xml')) {
    const text = await response.text();
    const { svg } = checkSvg(text);
    if (svg === undefined || view.id !== id) return;
    view.texts.set(name, svg);
    showBlob(name, new Blob([svg], { type: 'image/svg+xml' }));
  } else {
    showBlob(name, await response.blob());
  }
}

async function loadFinal(id) {
  const response = await fetch(`/v1/generations/${encodeURIComponent(id)}/svg`);
  if (!response.ok || view.id !== id) return;
  const { svg, removed } = checkSvg(await response.text());
  if (view.id !== id) return;
  if (svg === undefined) {
    $('outcome').textContent = 'The result is not a valid SVG; it is not shown.';
    return;
  }
  if (removed.length)
    $('outcome').textContent += ` Removed from the result before showing it: ${removed.join(', ')}.`;
  view.finalSvg = svg;
  view.texts.set('final', svg);
  showBlob('final', new Blob([svg], { type: 'image/svg+xml' }));
  $('download-svg').disabled = false;
  $('download-png').disabled = false;
}

function renderReport(generation) {
  const result = generation.output?.result;
  if (!result) return;
  const plan = generation.plan;
  const maxMs = Math.max(1, ...result.stages.map((stage) => stage.durationMs));
  const summary = h(
    'p',
    {},
    h('strong', {}, `Tier ${result.tier}`),
    generation.output.cache === 'hit' ? ' (cache hit)' : '',
    plan?.reasons?.length ? ` — ${plan.reasons.join('; ')}` : '',
    result.degraded ? [' ', h('span', { class: 'badge s-degraded' }, 'degraded')] : undefined,
  );
  const stages = h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { id: 'report-stages' },
      h('caption', { class: 'sr-only' }, 'Stages'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Stage', 'Status', 'Reason', 'Duration'].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        result.stages.map((stage) =>
          h(
            'tr',
            { 'data-stage': stage.name },
            h('th', { scope: 'row' }, stage.name),
            h('td', {}, h('span', { class: `badge s-${stage.status}` }, stage.status)),
            h('td', {}, stage.reason),
            h('td', { class: 'bar-cell' }, durationBar(stage.durationMs, maxMs)),
          ),
        ),
      ),
    ),
  );
  const sizes = h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { id: 'report-sizes' },
      h('caption', { class: 'sr-only' }, 'Sizes before and after'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Drawing', 'Bytes', 'Elements'].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        DRAWINGS.filter(({ name }) => view.texts.has(name)).map(({ name, label }) => {
          const stats = name === 'final' ? result.output : svgStats(view.texts.get(name));
          return h(
            'tr',
            { 'data-drawing': name },
            h('th', { scope: 'row' }, label),
            h('td', {}, stats.bytes.toLocaleString('en')),
            h('td', {}, stats.elements.toLocaleString('en')),
          );
        }),
      ),
    ),
  );
  $('report').replaceChildren(
    summary,
    stages,
    h('h3', { class: 'small' }, 'Bytes and elements, stage by stage'),
    sizes,
  );
  $('download-report').disabled = false;
}

function durationBar(ms, maxMs) {
  const bar = h('span');
  // A width set through the CSSOM is not an inline style attribute, so the CSP allows it.
  bar.style.width = `${Math.max(2, Math.round((ms / maxMs) * 100))}%`;
  return h(
    'div',
    { class: 'duration' },
    h('div', { class: 'track', 'aria-hidden': 'true' }, bar),
    `${Math.round(ms)} ms`,
  );
}

// ---- one generation --------------------------------------------------------------------------

async function follow(id, prompt) {
  resetView(id);
  $('shown-prompt').textContent = prompt ? `“${prompt}”` : '';
  const requested = new Set();
  for (;;) {
    if (view.id !== id) return;
    let generation;
    try {
      generation = await api(`/v1/generations/${encodeURIComponent(id)}`);
    } catch (error) {
      $('outcome').textContent = `Could not read the generation: ${error.message}`;
      return;
    }
    if (view.id !== id) return;
    view.last = generation;
    renderProgress(generation);
    const loads = [];
    for (const name of generation.artifacts ?? []) {
      if (requested.has(name)) continue;
      requested.add(name);
      loads.push(loadArtifact(id, name));
    }
    if (generation.status !== 'RUNNING') {
      await Promise.all(loads);
      if (generation.status === 'SUCCEEDED') {
        await loadFinal(id);
        const degraded = generation.output.result.degraded;
        $('outcome').textContent =
          `Done: tier ${generation.output.result.tier}${degraded ? ', degraded' : ''}.` +
          $('outcome').textContent;
      } else {
        $('outcome').textContent =
          `Failed: ${generation.error}${generation.cause ? ` — ${generation.cause}` : ''}`;
      }
      renderReport(generation);
      refreshHistory();
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function submit(event) {
  event.preventDefault();
  $('form-error').textContent = '';
  const prompt = $('prompt').value.trim();
  if (!prompt) {
    $('form-error').textContent = 'Type a prompt first.';
    $('prompt').focus();
    return;
  }
  const body = { prompt, tier: $('tier').value, seed: Number($('seed').value || 0) };
  if ($('style').value.trim()) body.style = $('style').value.trim();
  if ($('llm').value) body.llm = $('llm').value;
  $('generate').disabled = true;
  try {
    const { id } = await api('/v1/generations', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await follow(id, prompt);
  } catch (error) {
    $('form-error').textContent = error.message;
  } finally {
    $('generate').disabled = false;
  }
}

// ---- downloads -------------------------------------------------------------------------------

function save(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function downloadPng() {
  const image = new Image();
  image.onload = () => {
    const size = Math.max(image.naturalWidth, image.naturalHeight) || 512;
    const scale = 1024 / size;
    const canvas = h('canvas', {
      width: Math.round(image.naturalWidth * scale) || 1024,
      height: Math.round(image.naturalHeight * scale) || 1024,
    });
    canvas.getContext('2d').drawImage(image, 0, 0, canvas.width, canvas.height);
    canvas.toBlob((blob) => blob && save(blob, `${view.id}.png`), 'image/png');
  };
  image.src = view.urls.get('final');
}

function downloadReport() {
  const { id, status, startDate, stopDate, output, plan, progress } = view.last;
  const report = { id, status, startDate, stopDate, plan, progress, ...output };
  save(new Blob([`${JSON.stringify(report, null, 2)}\n`], { type: 'application/json' }), `${id}.report.json`);
}

// ---- server status and history ---------------------------------------------------------------

async function refreshStatus() {
  let status;
  try {
    status = await api('/v1/status');
  } catch {
    $('load').textContent = 'The server does not answer.';
    return;
  }
  const load = status.workers?.load ?? {};
  $('breakers').replaceChildren(
    ...STAGES.map((stage) => {
      const breaker = status.breakers?.[stage] ?? { state: 'CLOSED', failures: 0 };
      const stageLoad = load[stage];
      return h(
        'tr',
        { 'data-stage': stage },
        h('th', { scope: 'row' }, stage),
        h(
          'td',
          {},
          h('span', { class: `badge s-${breaker.state}` }, breaker.state.replace('_', '-')),
          breaker.failures ? ` ${breaker.failures} failure${breaker.failures === 1 ? '' : 's'}` : '',
        ),
        h('td', {}, loadText(stageLoad, status.workers?.mode)),
      );
    }),
  );
  $('load').textContent =
    `${status.generations?.running ?? 0} generation(s) running · ${status.workers?.mode ?? '?'} workers`;
  return status;
}

/** A container stage's queue and workers; the template stage runs in the server's process. */
function loadText(load, mode) {
  if (!load) return 'in process';
  if (mode === 'pool' && load.workers === 0) return 'not available here';
  const workers = mode === 'pool' ? ` / ${load.workers} worker${load.workers === 1 ? '' : 's'}` : '';
  return `${load.queued} queued, ${load.running} running${workers}`;
}

function fillProviders(status) {
  const select = $('llm');
  const llm = status?.llm ?? { providers: ['offline'], default: 'offline' };
  select.replaceChildren(
    h('option', { value: '' }, `default (${llm.default})`),
    ...llm.providers.map((provider) => h('option', { value: provider }, provider)),
  );
}

async function refreshHistory() {
  let items = [];
  try {
    ({ items } = await api('/v1/generations?limit=20'));
  } catch {
    return;
  }
  $('history').replaceChildren(
    ...(items.length
      ? items.map((item) =>
          h(
            'li',
            {},
            h('button', { type: 'button', class: 'link', 'data-id': item.id }, item.prompt),
            h('span', { class: `badge s-${item.status}` }, item.status),
            h(
              'time',
              { class: 'muted small', datetime: item.startDate },
              new Date(item.startDate).toLocaleString(),
            ),
          ),
        )
      : [h('li', { class: 'muted' }, 'No generations yet.')]),
  );
}

// ---- start -----------------------------------------------------------------------------------

$('request').addEventListener('submit', submit);
$('download-svg').addEventListener('click', () =>
  save(new Blob([view.finalSvg], { type: 'image/svg+xml' }), `${view.id}.svg`),
);
$('download-png').addEventListener('click', downloadPng);
$('download-report').addEventListener('click', downloadReport);
$('history').addEventListener('click', (event) => {
  const button = event.target.closest('button[data-id]');
  if (button) follow(button.dataset.id, button.textContent);
});
renderProgress(undefined);
renderDrawings();
refreshStatus().then(fillProviders);
refreshHistory();
setInterval(refreshStatus, STATUS_POLL_MS);
