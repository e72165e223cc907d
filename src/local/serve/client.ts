// `chat2svg generate --server URL`: the request goes to a running `chat2svg serve` (or any API with
// its routes); progress is printed as the server reports it, and the result comes back as the
// in-process run's does.
import { readPayload } from '#commons/payload';
import type { GenerationRequest } from '#contracts/schemas';
import {
  ExecutionFailedError,
  ExecutionOutput,
  type GenerateResult,
  reportOf,
  type StageProgress,
} from '../result.ts';

const POLL_MS = 100;

interface Described {
  status: string;
  error?: string;
  cause?: string;
  output?: unknown;
  progress?: StageProgress[];
}

export async function generateOnServer(
  server: string,
  request: GenerationRequest,
  progress: (line: string) => void,
): Promise<GenerateResult> {
  const started = performance.now();
  const base = server.replace(/\/+$/, '');
  const posted = await fetch(`${base}/v1/generations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });
  const accepted = (await posted.json()) as { id?: string; message?: string };
  if (posted.status === 400) throw new ExecutionFailedError('Request.Invalid', String(accepted.message));
  if (posted.status !== 202 || !accepted.id) {
    const retry = posted.headers.get('retry-after');
    throw new Error(
      `${base} answered ${posted.status}: ${accepted.message ?? ''}${retry ? ` (retry after ${retry} s)` : ''}`,
    );
  }
  let printed = 0;
  for (;;) {
    const described = (await (await fetch(`${base}/v1/generations/${accepted.id}`)).json()) as Described;
    for (const event of (described.progress ?? []).slice(printed)) {
      const why = event.reason && event.status !== 'ran' ? `: ${event.reason}` : '';
      progress(
        `[${event.stage}] ${event.status}${event.status === 'ran' ? ` ${Math.round(event.durationMs)} ms` : ''}${why}`,
      );
    }
    printed = described.progress?.length ?? printed;
    if (described.status === 'FAILED')
      throw new ExecutionFailedError(
        described.error || 'States.Runtime',
        described.cause ?? 'generation failed',
      );
    if (described.status === 'SUCCEEDED') {
      const output = ExecutionOutput.parse(described.output);
      const svg = output.result.svg as { inline?: string };
      const text =
        svg.inline !== undefined
          ? (await readPayload(output.result.svg)).toString('utf8')
          : await (await fetch(`${base}/v1/generations/${accepted.id}/svg`)).text();
      const stageMs = output.result.stages.reduce((sum, stage) => sum + stage.durationMs, 0);
      return {
        report: reportOf(output, performance.now() - started, stageMs),
        svg: text,
        output,
        statesEntered: [],
      };
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
