// A stand-in container stage for tests that need a stage to succeed or fail on cue without the
// Python venv: same process contract as stage-images/<stage>/run-local (StageInput on stdin,
// StageOutput on stdout, `{"error","cause"}` on stderr and a non-zero exit on failure).
// FAKE_STAGE_FAIL=<Stage.Error> makes it fail; FAKE_STAGE_CALLS=<file> gets one line per call;
// FAKE_STAGE_SLEEP_MS=<ms> makes it take that long first (a probe to kill mid-run).
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
  setTimeout(respond, Number(process.env.FAKE_STAGE_SLEEP_MS ?? 0));
});

function respond() {
  const started = Date.now();
  const input = JSON.parse(raw);
  const failure = process.env.FAKE_STAGE_FAIL;
  if (failure) {
    process.stderr.write('loading model\n');
    process.stderr.write(`${JSON.stringify({ error: failure, cause: `${stage} failed on cue` })}\n`);
    process.exit(3);
  }
  const output = {
    schemaVersion: 1,
    stage,
    svg: input.svg,
    metrics: { fake: true },
    durationMs: Date.now() - started,
  };
  if (stage === 'detail') output.target = input.svg;
  process.stdout.write(JSON.stringify(output));
}
