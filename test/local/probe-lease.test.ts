// A probe killed mid-run does not hold its breaker past the stage's own timeout: a real
// `bin/chat2svg generate` child process takes the optimize probe and is then killed, with kill -9
// (the lease runs out at the stage's own timeout) or Ctrl-C (the run aborts and gives it back).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { fromItem } from '#breaker/store';
import { DETAIL_TYPES } from '#contracts/events';
import { definitionCacheDir, REPO_ROOT } from '#local/definition';
import { createLocalRuntime, detectCapabilities, type LocalRuntime } from '#local/runtime';
import { FAKE_STAGES_DIR, SYNTH_TIMEOUT_MS, testDefinition } from '../support/local.ts';

/** The optimize stage's own timeout for these runs (CHAT2SVG_STAGE_TIMEOUTS / stageTimeouts context). */
const OPTIMIZE_TIMEOUT_S = 8;
const CONTEXT = { stageTimeouts: `optimize=${OPTIMIZE_TIMEOUT_S}` };

async function openRuntime(home: string): Promise<LocalRuntime> {
  return createLocalRuntime({
    home,
    definition: await testDefinition(CONTEXT),
    capabilities: ['optimize'],
    stagesDir: FAKE_STAGES_DIR,
  });
}

const breakersTable = (local: LocalRuntime) =>
  local.definition.tables.find((t) => t.KeySchema[0].AttributeName === 'stage')?.name as string;

async function optimizeBreaker(local: LocalRuntime) {
  const { Item } = await local.emulators.dynamodb.send(
    new GetItemCommand({
      TableName: breakersTable(local),
      Key: { stage: { S: 'optimize' } },
      ConsistentRead: true,
    }),
  );
  return Item ? fromItem(Item) : undefined;
}

/** A home whose optimize breaker is OPEN with its cooldown over: the next run takes the probe. */
async function homeReadyToProbe(): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), 'chat2svg-probe-'));
  // The child reads the synthesized definition from a cache directory of its own (XDG_CACHE_HOME
  // below) instead of synthesizing again, and leaves the user's cached definition alone.
  const cached = join(home, 'xdg', 'chat2svg', basename(definitionCacheDir()), 'definition.json');
  mkdirSync(dirname(cached), { recursive: true });
  writeFileSync(cached, JSON.stringify(await testDefinition(CONTEXT)));
  const local = await openRuntime(home);
  await local.emulators.dynamodb.send(
    new PutItemCommand({
      TableName: breakersTable(local),
      Item: {
        stage: { S: 'optimize' },
        state: { S: 'OPEN' },
        version: { N: '1' },
        openUntil: { S: new Date(Date.now() - 1_000).toISOString() },
        updatedAt: { S: new Date(Date.now() - 31_000).toISOString() },
      },
    }),
  );
  await local.stop();
  return home;
}

/** `bin/chat2svg generate`, its optimize worker sleeping; resolves once the worker runs (probe held). */
async function cliHoldingTheProbe(
  home: string,
): Promise<{ child: ChildProcess; workerPid: number; exited: Promise<number | null>; stderr: () => string }> {
  const calls = join(home, 'worker-calls.txt');
  const child = spawn(
    join(REPO_ROOT, 'bin/chat2svg'),
    ['generate', 'a red fox', '--out', join(home, 'out.svg')],
    {
      cwd: home,
      env: {
        ...process.env,
        CHAT2SVG_HOME: home,
        XDG_CACHE_HOME: join(home, 'xdg'),
        CHAT2SVG_STAGES_DIR: FAKE_STAGES_DIR,
        CHAT2SVG_STAGE_TIMEOUTS: CONTEXT.stageTimeouts,
        FAKE_STAGE_SLEEP_MS: '120000',
        FAKE_STAGE_CALLS: calls,
      },
      // Its own process group, as a shell job is: kill -9 and Ctrl-C reach the whole CLI.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (stderr.includes('[optimize] running')) resolve();
    });
    exited.then(() => reject(new Error(`chat2svg exited before optimize ran:\n${stderr}`)));
  });
  // The worker logs its call as it starts; give it a moment to get there.
  for (let i = 0; i < 100; i++) {
    try {
      const line = readFileSync(calls, 'utf8').trim().split('\n').at(-1) ?? '';
      const pid = Number(line.split(' ')[2]);
      if (pid > 0) return { child, workerPid: pid, exited, stderr: () => stderr };
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the optimize worker never started:\n${stderr}`);
}

/** Waits until the process has died (a killed process may take a moment to go). */
async function gone(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`process ${pid} is still alive`);
}

function killQuietly(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

describe.runIf(detectCapabilities().stages.includes('optimize'))(
  'a probe killed mid-run',
  { timeout: SYNTH_TIMEOUT_MS },
  () => {
    it('kill -9: the lease lasts the stage’s own timeout, then the next run probes and closes the breaker', async () => {
      const home = await homeReadyToProbe();
      const { child, workerPid, exited } = await cliHoldingTheProbe(home);

      killQuietly(-(child.pid as number), 'SIGKILL');
      await exited;
      // kill -9 gives the runtime no chance to end its worker (its own process group).
      killQuietly(workerPid, 'SIGKILL');
      await gone((JSON.parse(readFileSync(join(home, 'lock', 'owner.json'), 'utf8')) as { pid: number }).pid);

      const local = await openRuntime(home);
      try {
        const held = await optimizeBreaker(local);
        expect(held).toMatchObject({
          state: 'HALF_OPEN',
          probeOwner: expect.stringContaining(':execution:'),
        });
        const leaseMs = Date.parse(held?.probeExpires ?? '') - Date.parse(held?.updatedAt ?? '');
        expect(leaseMs).toBe(OPTIMIZE_TIMEOUT_S * 1_000);

        await new Promise((resolve) =>
          setTimeout(resolve, Date.parse(held?.probeExpires ?? '') - Date.now() + 50),
        );
        const probe = await local.generate({ prompt: 'a red fox, once more' });
        expect(probe.statesEntered).toContain('optimize.TakeProbe');
        expect(probe.report.stages.find((s) => s.name === 'optimize')?.status).toBe('ran');
        expect((await optimizeBreaker(local))?.state).toBe('CLOSED');
      } finally {
        await local.stop();
      }
    });

    it('Ctrl-C: the run aborts, gives the lease back at once and says so in a Generation Failed event', async () => {
      const home = await homeReadyToProbe();
      const { child, workerPid, exited, stderr } = await cliHoldingTheProbe(home);

      killQuietly(-(child.pid as number), 'SIGINT');
      expect(await exited).toBe(130);
      expect(() => process.kill(workerPid, 0)).toThrow();

      const local = await openRuntime(home);
      try {
        const released = await optimizeBreaker(local);
        expect(released).toMatchObject({ state: 'HALF_OPEN' });
        expect(released?.probeOwner, stderr()).toBeUndefined();
        const failed = readFileSync(local.emulators.eventsFile, 'utf8')
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line))
          .filter((event) => event.DetailType === DETAIL_TYPES.failed);
        expect(failed.map((event) => JSON.parse(event.Detail))).toEqual([
          expect.objectContaining({ status: 'ABORTED', releasedProbes: ['optimize'] }),
        ]);

        const probe = await local.generate({ prompt: 'a red fox, again' });
        expect(probe.statesEntered).toContain('optimize.TakeProbe');
        expect(probe.report.stages.find((s) => s.name === 'optimize')?.status).toBe('ran');
        expect((await optimizeBreaker(local))?.state).toBe('CLOSED');
      } finally {
        await local.stop();
      }
    });
  },
);
