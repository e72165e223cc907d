// The PNG preview beside a CLI result, rendered by resvg in a child process under a pixel budget
// (the picture is fitted into a box before any pixel is allocated) and a time budget (the child
// is killed past it). A preview that does not fit either is skipped; the run itself stands.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

export interface PreviewBudget {
  /** @default 512 */
  readonly maxWidth?: number;
  /** @default 2048 */
  readonly maxHeight?: number;
  /** @default 10_000 */
  readonly timeoutMs?: number;
}

export type Preview = { readonly png: Buffer } | { readonly skipped: string };

const RESVG = createRequire(import.meta.url).resolve('@resvg/resvg-js');

// Plain CommonJS so the child starts without a TypeScript loader. It reads the size from a
// parse-only pass, then renders at the one scale that fits the box.
const CHILD = `
const { Resvg } = require(process.argv[1]);
const [maxWidth, maxHeight] = [Number(process.argv[2]), Number(process.argv[3])];
const chunks = [];
process.stdin.on('data', (chunk) => chunks.push(chunk)).on('end', () => {
  const svg = Buffer.concat(chunks).toString('utf8');
  const { width, height } = new Resvg(svg);
  const scale = Math.min(maxWidth / width, maxHeight / height);
  if (!(Math.floor(width * scale) >= 1 && Math.floor(height * scale) >= 1)) {
    process.stderr.write('the picture is too thin for a ' + maxWidth + 'x' + maxHeight + ' preview');
    process.exit(3);
  }
  const image = new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, background: 'white' }).render();
  process.stdout.write(image.asPng());
});
`;

export function renderPreview(svg: string, budget: PreviewBudget = {}): Promise<Preview> {
  return startPreview(budget).render(svg);
}

export interface PendingPreview {
  /** Renders this SVG; the time budget counts from here. */
  render(svg: string): Promise<Preview>;
  /** Ends the renderer unused. */
  cancel(): void;
}

/**
 * Starts the renderer before there is anything to render, so its start-up (a Node process loading
 * resvg) overlaps the run instead of following it.
 */
export function startPreview(budget: PreviewBudget = {}): PendingPreview {
  const { maxWidth = 512, maxHeight = 2048, timeoutMs = 10_000 } = budget;
  const child = spawn(process.execPath, ['-e', CHILD, RESVG, String(maxWidth), String(maxHeight)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stdout: Buffer[] = [];
  let stderr = '';
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4096);
  });
  child.stdin.on('error', () => {}); // a child that dies early closes stdin; its exit says why
  const ended = new Promise<Preview>((resolve) => {
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ skipped: `the renderer did not start: ${error.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ png: Buffer.concat(stdout) });
      else if (timedOut) resolve({ skipped: `rendering took longer than ${timeoutMs} ms` });
      else {
        const reason =
          stderr
            .trim()
            .split('\n')
            .find((line) => /error|too thin/i.test(line)) ?? `exit ${code ?? signal}`;
        resolve({ skipped: `the renderer failed: ${reason.slice(0, 200)}` });
      }
    });
  });
  return {
    render(svg) {
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.stdin.end(svg);
      return ended;
    },
    cancel() {
      child.kill('SIGKILL');
    },
  };
}
