// Local state that heals: one run at a time per home (queued, never refused), abandoned locks of
// any shape taken over atomically, damaged stores named in one line and repaired by doctor.
import { spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '#local/cli';
import { REPO_ROOT } from '#local/definition';
import { startEmulators } from '#local/emulators';
import { acquireHomeLock } from '#local/home-lock';

const dir = mkdtempSync(join(tmpdir(), 'chat2svg-home-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let homes = 0;
const newHome = () => {
  const home = join(dir, `h${homes++}`);
  mkdirSync(home, { recursive: true });
  return home;
};
const longAgo = new Date(Date.now() - 3_600_000);

function holdHome(
  home: string,
  log: string,
  holdMs: number,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      join(REPO_ROOT, 'node_modules/.bin/tsx'),
      [
        '--tsconfig',
        join(REPO_ROOT, 'tsconfig.json'),
        join(REPO_ROOT, 'test/support/hold-home.ts'),
        home,
        log,
        String(holdMs),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

function captureIo() {
  const io = { out: '', err: '' };
  const sink = {
    stdout: (text: string) => {
      io.out += text;
    },
    stderr: (text: string) => {
      io.err += text;
    },
  };
  return { io, sink };
}

describe('the home lock', { timeout: 120_000 }, () => {
  it('queues concurrent runs on one home, one at a time, even when they race for a stale lock', async () => {
    const home = newHome();
    writeFileSync(join(home, 'lock'), '999999'); // left by a process that is gone
    const log = join(home, 'holders.log');

    const runs = await Promise.all([0, 1, 2].map(() => holdHome(home, log, 2500)));

    expect(
      runs.map((run) => run.code),
      runs.map((run) => run.stderr).join('\n'),
    ).toEqual([0, 0, 0]);
    const events = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' '));
    expect(events).toHaveLength(6);
    for (let i = 0; i < events.length; i += 2) {
      expect(events[i][1]).toBe('start');
      expect(events[i + 1]).toEqual([events[i][0], 'end', expect.any(String)]);
    }
    expect(runs.some((run) => /^waiting for .*: in use by process \d+/m.test(run.stderr))).toBe(true);
  });

  it.each([
    ['a directory', (lock: string) => mkdirSync(lock)],
    ['garbage', (lock: string) => writeFileSync(lock, '\u0000not a pid')],
    [
      'the pid of a live process that is not chat2svg (reused)',
      (lock: string) => writeFileSync(lock, String(process.ppid)),
    ],
    [
      'a live pid that stopped touching it',
      (lock: string) => {
        mkdirSync(lock);
        writeFileSync(
          join(lock, 'owner.json'),
          JSON.stringify({ pid: process.ppid, host: hostname(), token: 'x' }),
        );
      },
    ],
  ])('takes over a lock left as %s', async (_name, plant) => {
    const home = newHome();
    const lock = join(home, 'lock');
    plant(lock);
    utimesSync(lock, longAgo, longAgo);

    const emulators = await startEmulators({ home });
    await emulators.stop();

    expect(readdirSync(home)).not.toContain('lock');
  });

  it('makes a second holder wait, says so once, and lets it in when the first releases', async () => {
    const home = newHome();
    const first = await acquireHomeLock(home);
    const waits: unknown[] = [];

    const second = acquireHomeLock(home, { onWait: (holder) => waits.push(holder) });
    await new Promise((resolve) => setTimeout(resolve, 500));
    first.release();
    (await second).release();

    expect(waits).toEqual([expect.objectContaining({ pid: process.pid })]);
  });
});

describe('damaged local state', { timeout: 120_000 }, () => {
  it.each([
    ['a garbage CURRENT', (store: string) => writeFileSync(join(store, 'CURRENT'), 'garbage\n')],
    [
      'a missing MANIFEST',
      (store: string) => {
        for (const file of readdirSync(store)) if (file.startsWith('MANIFEST')) rmSync(join(store, file));
      },
    ],
  ])('names %s in one line and chat2svg doctor repairs it', async (_name, damage) => {
    const home = newHome();
    await (await startEmulators({ home })).stop();
    damage(join(home, 'dynamodb'));

    await expect(startEmulators({ home })).rejects.toThrow(
      /dynamodb cannot be opened .*run "chat2svg doctor"/,
    );
    const saved = process.env.CHAT2SVG_HOME;
    process.env.CHAT2SVG_HOME = home;
    const { io, sink } = captureIo();
    try {
      expect(await main(['doctor'], sink), io.err).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.CHAT2SVG_HOME;
      else process.env.CHAT2SVG_HOME = saved;
    }
    expect(io.out).toMatch(/dynamodb: repaired/);
    await (await startEmulators({ home })).stop();
  });

  it('rebuilds the home from empty with doctor --reset-home, keeping files it does not own', async () => {
    const home = newHome();
    await (await startEmulators({ home })).stop();
    writeFileSync(join(home, 'events.jsonl'), '{}\n');
    writeFileSync(join(home, 'notes.txt'), 'mine');
    const saved = process.env.CHAT2SVG_HOME;
    process.env.CHAT2SVG_HOME = home;
    const { io, sink } = captureIo();
    try {
      expect(await main(['doctor', '--reset-home'], sink), io.err).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.CHAT2SVG_HOME;
      else process.env.CHAT2SVG_HOME = saved;
    }
    expect(readdirSync(home).sort()).toEqual(['notes.txt']);
  });
});
