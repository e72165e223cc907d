// `chat2svg doctor [--reset-home]`: checks the local state under the home and repairs what would
// fail a run — an abandoned lock, a LevelDB store that does not open, paths of the wrong kind, a
// damaged definition cache. --reset-home removes all of it (only what chat2svg owns) instead.
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { definitionCacheFile, hashSources, readCachedDefinition } from './definition.ts';
import { openStore } from './emulators.ts';
import { acquireHomeLock, LOCK_NAME } from './home-lock.ts';

/** What chat2svg keeps under a home; nothing else there is touched. */
const OWNED = ['dynamodb', 's3', 'events.jsonl', 'definition.json'] as const;

export async function doctor(home: string, options: { reset?: boolean } = {}): Promise<string[]> {
  const lines: string[] = [];
  mkdirSync(home, { recursive: true });
  const hadLock = existsSync(join(home, LOCK_NAME));
  // Never waits: a doctor must not pull the state from under a live run.
  const lock = await acquireHomeLock(home, { timeoutMs: 0 });
  try {
    lines.push(`lock: ${hadLock ? 'repaired (an abandoned lock was taken over)' : 'ok'}`);
    if (options.reset) {
      for (const name of OWNED) {
        if (!existsSync(join(home, name))) continue;
        rmSync(join(home, name), { recursive: true, force: true });
        lines.push(`${name}: removed`);
      }
      rmSync(definitionCacheFile(), { force: true });
      lines.push('definition cache: removed');
      return lines;
    }
    lines.push(await checkDirectory(home, 'dynamodb', (path) => openStore(path)));
    lines.push(await checkDirectory(home, 's3'));
    const events = join(home, 'events.jsonl');
    lines.push(
      existsSync(events) && statSync(events).isDirectory()
        ? `events.jsonl: repaired (a directory, moved to ${moveAside(events)})`
        : 'events.jsonl: ok',
    );
    const cache = definitionCacheFile();
    if (existsSync(cache) && !readCachedDefinition(cache, hashSources())) {
      rmSync(cache, { force: true });
      lines.push('definition cache: repaired (stale or damaged, removed; the next run rebuilds it)');
    } else lines.push('definition cache: ok');
    return lines;
  } finally {
    lock.release();
  }
}

async function checkDirectory(
  home: string,
  name: string,
  opens?: (path: string) => Promise<Error | undefined>,
): Promise<string> {
  const path = join(home, name);
  if (!existsSync(path)) return `${name}: ok (empty)`;
  let problem: string | undefined;
  if (!statSync(path).isDirectory()) problem = 'not a directory';
  else problem = (await opens?.(path))?.message.split('\n')[0];
  if (problem === undefined) return `${name}: ok`;
  const aside = moveAside(path);
  mkdirSync(path);
  return `${name}: repaired (${problem.slice(0, 120)}; moved to ${aside}, started empty)`;
}

/** Keeps damaged state for a look later, out of the run's way. */
function moveAside(path: string): string {
  const aside = `${path}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(path, aside);
  return aside;
}
