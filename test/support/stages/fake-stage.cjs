// A stand-in container stage for tests that need a stage to succeed or fail on cue without the
// Python venv: same process contract as stage-images/<stage>/run-local (StageInput on stdin,
// StageOutput on stdout, `{"error","cause"}` on stderr and a non-zero exit on failure).
// FAKE_STAGE_FAIL=<Stage.Error> makes it fail; FAKE_STAGE_CALLS=<file> gets one line per call;
// FAKE_STAGE_SLEEP_MS=<ms> makes it take that long first (a probe to kill mid-run).
// FAKE_STAGE_CHAOS=fail=0.1,kill=0.05,hang=0.05,garbage=0.03,xss=0.05 (bench/chaos.ts) draws one
// misbehaviour per call with those odds: fail with a stage error, be killed (SIGKILL) mid-task,
// hang past any timeout (as a worker whose heartbeats stopped), print no StageOutput, or return
// an SVG carrying script for the sanitizer to remove; otherwise it succeeds after 20-200 ms.
const { createHash } = require('node:crypto');
const { appendFileSync } = require('node:fs');

const stage = process.argv[2];
let raw = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  raw += chunk;
});
process.stdin.on('end', () => {
  if (process.env.FAKE_STAGE_CALLS) {
    const { requestId } = JSON.parse(raw);
    appendFileSync(process.env.FAKE_STAGE_CALLS, `${stage} ${requestId} ${process.pid}\n`);
  }
  const chaos = drawChaos(process.env.FAKE_STAGE_CHAOS);
  const sleep = chaos ? 20 + Math.random() * 180 : Number(process.env.FAKE_STAGE_SLEEP_MS ?? 0);
  setTimeout(() => respond(chaos), sleep);
});

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

function respond(chaos) {
  const started = Date.now();
  const input = JSON.parse(raw);
  if (chaos === 'kill') process.kill(process.pid, 'SIGKILL');
  if (chaos === 'hang') return setTimeout(() => {}, 3_600_000);
  if (chaos === 'garbage') return process.stdout.write('not a stage output');
  const failure = chaos === 'fail' ? 'Stage.OutOfMemory' : process.env.FAKE_STAGE_FAIL;
  if (failure) {
    process.stderr.write('loading model\n');
    process.stderr.write(`${JSON.stringify({ error: failure, cause: `${stage} failed on cue` })}\n`);
    process.exit(3);
  }
  const svg = chaos === 'xss' ? withScript(input.svg) : input.svg;
  const output = {
    schemaVersion: 1,
    stage,
    svg,
    metrics: { fake: true },
    durationMs: Date.now() - started,
  };
  if (stage === 'detail') output.target = input.svg;
  process.stdout.write(JSON.stringify(output));
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
