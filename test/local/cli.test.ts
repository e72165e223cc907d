// The chat2svg CLI: argument errors, and one generation writing the SVG, the PNG preview and the report.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunReport } from '#contracts/schemas';
import { main, slug } from '#local/cli';
import { definitionCacheFile, REPO_ROOT } from '#local/definition';
import { rendersAsSvg, SYNTH_TIMEOUT_MS, testDefinition } from '../support/local.ts';

function captureIo() {
  const io = { out: '', err: '' };
  return {
    io,
    sink: {
      stdout: (text: string) => {
        io.out += text;
      },
      stderr: (text: string) => {
        io.err += text;
      },
    },
  };
}

describe('chat2svg arguments', () => {
  const cases: [string, string[], RegExp][] = [
    ['no command', [], /missing command/],
    ['an unknown command', ['draw', 'a fox'], /unknown command "draw"/],
    ['no prompt', ['generate'], /needs a prompt/],
    ['an empty prompt', ['generate', '   '], /prompt must not be empty/],
    ['an unknown tier', ['generate', 'a fox', '--tier', 'ultra'], /tier/],
    ['a fractional seed', ['generate', 'a fox', '--seed', '1.5'], /--seed must be a non-negative integer/],
    ['an unknown provider', ['generate', 'a fox', '--llm', 'gpt'], /--llm must be one of/],
    ['an unknown option', ['generate', 'a fox', '--colour', 'red'], /Unknown option '--colour'/],
  ];
  it.each(cases)('rejects %s with exit code 2 and one line', async (_name, argv, message) => {
    const { io, sink } = captureIo();

    const code = await main(argv, sink);

    expect(code).toBe(2);
    expect(io.err).toMatch(message);
    expect(io.err.trim().split('\n')).toHaveLength(1);
  });

  it('prints the usage for --help', async () => {
    const { io, sink } = captureIo();

    expect(await main(['--help'], sink)).toBe(0);
    expect(io.out).toContain('chat2svg generate "<prompt>"');
  });

  it('derives the default file name from the prompt', () => {
    expect(slug('A Red Fox, jumping!')).toBe('a-red-fox-jumping');
  });

  it('gives prompts without Latin letters distinct file names', () => {
    const names = ['一只红色的狐狸', '一只猫', 'кошка', '???', '!!!'].map(slug);

    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^generation-[0-9a-f]{8}$/);
  });

  it('says --seed must be non-negative for a negative seed', async () => {
    const { io, sink } = captureIo();

    expect(await main(['generate', 'a fox', '--seed', '-1'], sink)).toBe(2);
    expect(io.err).toMatch(/--seed must be a non-negative integer, got "-1"/);
  });

  it('names CHAT2SVG_LLM, not --llm, when the environment holds an unknown provider', async () => {
    const saved = process.env.CHAT2SVG_LLM;
    process.env.CHAT2SVG_LLM = 'nope';
    try {
      const { io, sink } = captureIo();

      expect(await main(['generate', 'a fox'], sink)).toBe(2);
      expect(io.err).toMatch(/^chat2svg: CHAT2SVG_LLM must be one of .*, got "nope"$/m);
    } finally {
      if (saved === undefined) delete process.env.CHAT2SVG_LLM;
      else process.env.CHAT2SVG_LLM = saved;
    }
  });
});

describe('chat2svg output paths', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chat2svg-paths-'));
  const aFile = join(dir, 'a-file');
  writeFileSync(aFile, 'x');
  const home = join(dir, 'home-never-made');
  const saved = process.env.CHAT2SVG_HOME;
  beforeAll(() => {
    process.env.CHAT2SVG_HOME = home;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.CHAT2SVG_HOME;
    else process.env.CHAT2SVG_HOME = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: [string, string[], RegExp][] = [
    ['an SVG under a read-only file system', ['--out', '/sys/x/y.svg'], /cannot write .*\/sys\/x\/y\.svg/],
    ['an SVG under a regular file', ['--out', join(aFile, 'y.svg')], /cannot write/],
    ['a report under a regular file', ['--report', join(aFile, 'r.json')], /cannot write .*r\.json/],
    ['an SVG named like its preview', ['--out', join(dir, 'x.png')], /--out must name an \.svg file/],
    [
      'a report on the SVG',
      ['--out', join(dir, 'a.svg'), '--report', join(dir, 'a.svg')],
      /--report .* is also the SVG/,
    ],
    [
      'a report on the preview',
      ['--out', join(dir, 'a.svg'), '--report', join(dir, 'a.png')],
      /--report .* is also the PNG preview/,
    ],
    [
      'an SVG that is a directory',
      ['--out', join(dir, 'd.svg'), '--report', join(dir, 'r.json')],
      /is a directory/,
    ],
  ];
  it.each(cases)('refuses %s before any work, in one line', async (_name, options, message) => {
    mkdirSync(join(dir, 'd.svg'), { recursive: true });
    const { io, sink } = captureIo();

    const code = await main(['generate', 'a fox', ...options], sink);

    expect(code).toBe(2);
    expect(io.err).toMatch(message);
    expect(io.err.trim().split('\n')).toHaveLength(1);
    expect(existsSync(home)).toBe(false);
  });
});

describe('chat2svg generate', { timeout: SYNTH_TIMEOUT_MS }, () => {
  const home = mkdtempSync(join(tmpdir(), 'chat2svg-cli-'));
  const saved = {
    home: process.env.CHAT2SVG_HOME,
    faults: process.env.CHAT2SVG_FAULTS,
    cache: process.env.XDG_CACHE_HOME,
  };
  beforeAll(async () => {
    // The shared test definition, so this file does not synthesize again.
    process.env.XDG_CACHE_HOME = join(home, 'cache');
    mkdirSync(dirname(definitionCacheFile()), { recursive: true });
    writeFileSync(definitionCacheFile(), JSON.stringify(await testDefinition()));
    process.env.CHAT2SVG_HOME = home;
    // Keeps the run independent of whether this machine has the Python optimize stage.
    process.env.CHAT2SVG_FAULTS = 'optimize:Stage.Failed,detail:Stage.Failed';
  }, SYNTH_TIMEOUT_MS);
  afterAll(() => {
    for (const [name, value] of [
      ['CHAT2SVG_HOME', saved.home],
      ['CHAT2SVG_FAULTS', saved.faults],
      ['XDG_CACHE_HOME', saved.cache],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(home, { recursive: true, force: true });
  });

  it('writes the SVG, a PNG preview beside it and the run report, with progress on stderr', async () => {
    const out = join(home, 'out', 'fox.svg');
    const { io, sink } = captureIo();

    const code = await main(['generate', 'a red fox', '--seed', '3', '--out', out], sink);

    expect(code).toBe(0);
    expect(rendersAsSvg(readFileSync(out, 'utf8'))).toBe(true);
    expect(
      readFileSync(join(home, 'out', 'fox.png'))
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    const report = RunReport.parse(JSON.parse(readFileSync(join(home, 'out', 'fox.report.json'), 'utf8')));
    expect(report.cache).toBe('miss');
    expect(report.output.bytes).toBe(readFileSync(out).length);
    expect(io.err).toMatch(/^\[template\] /m);
    expect(io.out.trim()).toBe(out);
    expect(existsSync(join(home, 'dynamodb'))).toBe(true);
  });

  it('keeps the SVG and the report and skips only the preview when rendering it runs past its budget', async () => {
    const out = join(home, 'out', 'slow.svg');
    const { io, sink } = captureIo();

    const code = await main(['generate', 'a red fox', '--seed', '3', '--out', out], sink, {
      preview: { timeoutMs: 1 },
    });

    expect(code, io.err).toBe(0);
    expect(rendersAsSvg(readFileSync(out, 'utf8'))).toBe(true);
    expect(existsSync(join(home, 'out', 'slow.report.json'))).toBe(true);
    expect(existsSync(join(home, 'out', 'slow.png'))).toBe(false);
    expect(io.err).toMatch(/^preview skipped: rendering took longer than 1 ms$/m);
  });

  it('answers the same request from the cache kept under CHAT2SVG_HOME by the previous run', async () => {
    const out = join(home, 'out', 'fox-again.svg');
    const report = join(home, 'fox-again.json');
    const { io, sink } = captureIo();

    expect(await main(['generate', 'a red fox', '--seed', '3', '--out', out, '--report', report], sink)).toBe(
      0,
    );
    expect(JSON.parse(readFileSync(report, 'utf8')).cache, io.err).toBe('hit');
  });

  it('runs through bin/chat2svg too, the bundle a user runs, and answers a repeat from the cache', () => {
    // The bundle (scripts/build-cli.mjs) leaves out what the engine never uses here: a run and a
    // cache hit through it check that nothing a run needs was left out.
    const { POWERTOOLS_LOG_LEVEL: _, POWERTOOLS_DEV: __, ...env } = process.env;
    const bundled = (name: string) => {
      const out = join(home, 'out', `${name}.svg`);
      const run = spawnSync(join(REPO_ROOT, 'bin/chat2svg'), ['generate', 'a blue kite', '--out', out], {
        cwd: home,
        // Without the test run's logging settings, as a user runs it: stdout is the result's path.
        env,
        encoding: 'utf8',
      });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe(out);
      expect(
        readFileSync(join(home, 'out', `${name}.png`))
          .subarray(1, 4)
          .toString(),
      ).toBe('PNG');
      return RunReport.parse(JSON.parse(readFileSync(join(home, 'out', `${name}.report.json`), 'utf8')));
    };

    expect(bundled('kite').cache).toBe('miss');
    expect(bundled('kite-again').cache).toBe('hit');
  });
});
