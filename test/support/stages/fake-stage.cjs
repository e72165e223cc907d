// A stand-in container stage for tests that need a stage to succeed or fail on cue without the
// Python venv: same process contracts as stage-images/<stage>/run-local: StageInput on stdin,
// StageOutput on stdout, `{"error","cause"}` on stderr and a non-zero exit on failure; or, with the
// argument `pool`, a warm worker speaking chat2svg_worker/pool.py's JSON lines.
// FAKE_STAGE_FAIL=<Stage.Error> makes it fail; FAKE_STAGE_CALLS=<file> gets one line per call;
// FAKE_STAGE_MS='{"detail":{"high":120,...},...}' makes each call take that long per tier (the
// tier is read off the config's inference steps or iterations, as in contracts/tiers.ts);
// FAKE_STAGE_SLEEP_MS=<ms> makes every call take that long (a probe to kill mid-run).
// FAKE_STAGE_CHAOS=fail=0.1,kill=0.05,hang=0.05,garbage=0.03,xss=0.05 (bench/chaos.ts) draws one
// misbehaviour per call with those odds: fail with a stage error, be killed (SIGKILL) mid-task,
// hang past any timeout (as a worker whose heartbeats stopped), print no StageOutput, or return
// an SVG carrying script for the sanitizer to remove; otherwise it succeeds after 20-200 ms.
// FAKE_STAGE_SVG='{"detail":"<svg…>"}' makes a stage answer that SVG (inline) instead of its input.
const { createHash } = require('node:crypto');
const { appendFileSync } = require('node:fs');
const { createInterface } = require('node:readline');

const stage = process.argv[2];
const mode = process.argv[3] ?? 'local';
const durations = process.env.FAKE_STAGE_MS ? JSON.parse(process.env.FAKE_STAGE_MS)[stage] : undefined;
const TIER_BY_WORK = {
  detail: { key: 'numInferenceSteps', tiers: { 30: 'high', 25: 'medium', 20: 'low' } },
  optimize: { key: 'iterations', tiers: { 1000: 'high', 700: 'medium', 500: 'low' } },
};

function tierOf(input) {
  const { key, tiers } = TIER_BY_WORK[stage];
  return tiers[input.config[key]] ?? 'medium';
}

function drawChaos(spec) {
  if (!spec) return undefined;
  let roll = Math.random();
  for (const part of spec.split(',')) {
    const [name, odds] = part.split('=');
    roll -= Number(odds);
    if (roll < 0) return name.trim();
  }
  return 'ok';
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function inlineSvg(text) {
  const bytes = Buffer.byteLength(text);
  const sha256 = createHash('sha256').update(text).digest('hex');
  return { inline: text, encoding: 'utf8', mediaType: 'image/svg+xml', bytes, sha256 };
}

/** The StageOutput, or throws `{error, cause}`; resolves after the stage's stand-in duration. */
async function handle(input) {
  const started = Date.now();
  if (process.env.FAKE_STAGE_CALLS)
    appendFileSync(process.env.FAKE_STAGE_CALLS, `${stage} ${input.requestId} ${process.pid}\n`);
  const chaos = drawChaos(process.env.FAKE_STAGE_CHAOS);
  const ms = chaos
    ? 20 + Math.random() * 180
    : Number(process.env.FAKE_STAGE_SLEEP_MS ?? 0) || (durations?.[tierOf(input)] ?? 0);
  if (ms) await sleep(ms);
  if (chaos === 'kill') process.kill(process.pid, 'SIGKILL');
  if (chaos === 'hang') await sleep(3_600_000);
  if (chaos === 'garbage') return 'not a stage output';
  const failure = chaos === 'fail' ? 'Stage.OutOfMemory' : process.env.FAKE_STAGE_FAIL;
  if (failure) throw { error: failure, cause: `${stage} failed on cue` };
  const replacement = process.env.FAKE_STAGE_SVG ? JSON.parse(process.env.FAKE_STAGE_SVG)[stage] : undefined;
  const given = replacement === undefined ? input.svg : inlineSvg(replacement);
  const svg = chaos === 'xss' ? withScript(given) : given;
  const output = {
    schemaVersion: 1,
    stage,
    svg,
    metrics: { fake: true },
    durationMs: Date.now() - started,
  };
  if (stage === 'detail') output.target = input.svg;
  return output;
}

/** The same inline SVG with an onload handler and a script element added. */
function withScript(ref) {
  if (typeof ref.inline !== 'string' || ref.encoding === 'gzip+base64') return ref;
  const base64 = ref.encoding === 'base64';
  const text = Buffer.from(ref.inline, base64 ? 'base64' : 'utf8').toString('utf8');
  const bad = Buffer.from(
    text.replace(/<svg([^>]*)>/, '<svg$1 onload="alert(1)"><script>alert(2)</script>'),
    'utf8',
  );
  return {
    ...ref,
    inline: bad.toString(base64 ? 'base64' : 'utf8'),
    bytes: bad.length,
    sha256: createHash('sha256').update(bad).digest('hex'),
  };
}

const written = (output) => (typeof output === 'string' ? output : JSON.stringify(output));

if (mode === 'pool') {
  const modelLoads = { [`fake-${stage}`]: 1 };
  process.stdout.write(`${JSON.stringify({ event: 'ready', pid: process.pid, modelLoads })}\n`);
  // One request at a time, as a GPU worker takes them.
  let chain = Promise.resolve();
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (!line.trim()) return;
    const { id, input } = JSON.parse(line);
    chain = chain.then(() =>
      handle(input).then(
        (output) => process.stdout.write(`${JSON.stringify({ id, output, modelLoads })}\n`),
        (failure) => process.stdout.write(`${JSON.stringify({ id, ...failure, modelLoads })}\n`),
      ),
    );
  });
} else {
  let raw = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    raw += chunk;
  });
  process.stdin.on('end', () => {
    handle(JSON.parse(raw)).then(
      (output) => process.stdout.write(written(output)),
      (failure) => {
        process.stderr.write('loading model\n');
        process.stderr.write(`${JSON.stringify(failure)}\n`);
        process.exit(3);
      },
    );
  });
}
