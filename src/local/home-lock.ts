// One run at a time per state directory (LevelDB allows one process per store). The lock is a
// directory made with mkdir, which is atomic; its holder touches it every few seconds. A lock
// whose holder is gone (dead pid, or no touch for STALE_MS, which also covers a reused pid) is
// taken over under a second mkdir lock, re-checked there, so two processes can never both take
// it. A live holder makes the caller wait in line.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_NAME = 'lock';
const STALE_MS = 15_000;
const TOUCH_MS = 3_000;
const POLL_MS = 150;

export interface HomeLockOptions {
  /** Called once when the home is busy and this process starts waiting. @default none */
  readonly onWait?: (holder: LockOwner | undefined) => void;
  /** How long to wait for a busy home. @default 600_000 */
  readonly timeoutMs?: number;
  /** After this long without a touch, a lock counts as abandoned. @default 15_000 */
  readonly staleMs?: number;
}

export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  readonly since: string;
}

export interface HomeLock {
  readonly owner: LockOwner;
  release(): void;
}

export class HomeBusyError extends Error {
  constructor(home: string, holder: LockOwner | undefined, waitedMs: number) {
    super(
      `${home} is still in use${holder ? ` by process ${holder.pid}` : ''} after ${Math.round(waitedMs / 1000)} s; ` +
        'set CHAT2SVG_HOME to use another state directory',
    );
    this.name = 'Home.Busy';
  }
}

export async function acquireHomeLock(home: string, options: HomeLockOptions = {}): Promise<HomeLock> {
  const { timeoutMs = 600_000, staleMs = STALE_MS } = options;
  const lock = join(home, LOCK_NAME);
  const started = Date.now();
  let announced = false;
  for (;;) {
    const owner = tryCreate(lock);
    if (owner) return hold(lock, owner);
    const state = inspect(lock, staleMs);
    if (state.stale && takeOver(lock, staleMs)) continue;
    if (!state.stale) {
      if (!announced) options.onWait?.(state.owner);
      announced = true;
      if (Date.now() - started > timeoutMs) throw new HomeBusyError(home, state.owner, Date.now() - started);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function tryCreate(lock: string): LockOwner | undefined {
  try {
    mkdirSync(lock);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
  const owner = { pid: process.pid, host: hostname(), token: randomUUID(), since: new Date().toISOString() };
  writeFileSync(join(lock, 'owner.json'), JSON.stringify(owner));
  return owner;
}

function hold(lock: string, owner: LockOwner): HomeLock {
  const touch = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(lock, now, now);
    } catch {
      // gone: release() below will find it so too
    }
  }, TOUCH_MS);
  touch.unref();
  let released = false;
  return {
    owner,
    release() {
      if (released) return;
      released = true;
      clearInterval(touch);
      // Only our own lock: if it was ever taken over, it is someone else's now.
      if (readOwner(lock)?.token === owner.token) rmSync(lock, { recursive: true, force: true });
    },
  };
}

function readOwner(lock: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(join(lock, 'owner.json'), 'utf8')) as LockOwner;
    return Number.isInteger(owner.pid) && typeof owner.token === 'string' ? owner : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the lock is abandoned: not a directory, holder dead on this host, or untouched too long. */
function inspect(lock: string, staleMs: number): { stale: boolean; owner?: LockOwner } {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(lock);
  } catch {
    return { stale: false }; // gone meanwhile: the next mkdir decides
  }
  if (!stat.isDirectory()) return { stale: true }; // an old pid file or junk
  const owner = readOwner(lock);
  if (Date.now() - stat.mtimeMs > staleMs) return { stale: true, owner };
  if (owner && owner.host === hostname() && !isAlive(owner.pid)) return { stale: true, owner };
  return { stale: false, owner };
}

/**
 * Replaces an abandoned lock. Only the holder of `<lock>.takeover` (made with mkdir) may remove
 * the lock, and it re-checks staleness first: of several processes that saw the same stale lock,
 * one replaces it and the others then find a fresh lock and wait.
 */
function takeOver(lock: string, staleMs: number): boolean {
  const guard = `${lock}.takeover`;
  try {
    mkdirSync(guard);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // A guard is held for microseconds; an old one belongs to a process that died holding it.
    try {
      if (Date.now() - statSync(guard).mtimeMs > staleMs) {
        const aside = `${guard}.${randomUUID()}`;
        renameSync(guard, aside);
        rmSync(aside, { recursive: true, force: true });
      }
    } catch {
      // another process cleared it first
    }
    return false;
  }
  try {
    if (!inspect(lock, staleMs).stale) return false;
    rmSync(lock, { recursive: true, force: true });
    return true;
  } finally {
    rmSync(guard, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
