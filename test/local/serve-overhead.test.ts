import { describe, expect, it } from 'vitest';
import type { GenerationRequest } from '#contracts/schemas';
import type { StageWorkers } from '#local/runtime';
import { Admission } from '#local/serve/admission';
import type { Generation } from '#local/serve/generations';
import { OverheadEstimate } from '#local/serve/overhead';

describe('OverheadEstimate', () => {
  it('predicts nothing before a request has finished', () => {
    expect(new OverheadEstimate().predict(3)).toBe(0);
  });

  it('predicts the mean while the samples are few or all had the same company on the CPU', () => {
    const estimate = new OverheadEstimate(50, 5);
    for (const seconds of [1, 2, 3]) estimate.record({ cpuSide: seconds, seconds });
    expect(estimate.predict(10)).toBeCloseTo(2);
    const flat = new OverheadEstimate(50, 5);
    for (const seconds of [1, 2, 3, 4, 5, 6]) flat.record({ cpuSide: 2, seconds });
    expect(flat.predict(0)).toBeCloseTo(3.5);
  });

  it('fits each request on the CPU side as seconds added to the next one', () => {
    const estimate = new OverheadEstimate();
    for (let cpuSide = 0; cpuSide < 8; cpuSide += 1)
      estimate.record({ cpuSide, seconds: 0.5 + 0.25 * cpuSide });
    expect(estimate.line().base).toBeCloseTo(0.5);
    expect(estimate.line().perRequest).toBeCloseTo(0.25);
    expect(estimate.predict(12)).toBeCloseTo(3.5);
  });

  it('never predicts less for more company, nor less than nothing', () => {
    const estimate = new OverheadEstimate();
    for (let cpuSide = 0; cpuSide < 8; cpuSide += 1) estimate.record({ cpuSide, seconds: 4 - 0.5 * cpuSide });
    expect(estimate.line().perRequest).toBe(0);
    expect(estimate.predict(0)).toBeGreaterThanOrEqual(0);
    expect(estimate.predict(20)).toBe(estimate.predict(0));
  });

  it('keeps only the last window of samples and ignores impossible ones', () => {
    const estimate = new OverheadEstimate(4, 2);
    for (const seconds of [100, 100, 1, 1, 1, 1]) estimate.record({ cpuSide: 0, seconds });
    estimate.record({ cpuSide: 0, seconds: -1 });
    estimate.record({ cpuSide: 0, seconds: Number.NaN });
    expect(estimate.count).toBe(4);
    expect(estimate.predict(0)).toBeCloseTo(1);
  });
});

/** A generation that ended with this cache outcome, its stages run at medium. */
const finished = (id: string, cache: 'hit' | 'miss') =>
  ({
    id,
    status: 'SUCCEEDED',
    output: {
      cache,
      requestId: id,
      result: {
        tier: 'medium',
        stages: [
          { name: 'template', status: 'ran', reason: '', durationMs: 500 },
          { name: 'detail', status: 'ran', reason: '', durationMs: 1500 },
          { name: 'optimize', status: 'ran', reason: '', durationMs: 2000 },
        ],
      },
    },
    // Stage work 5 s: the template's 0.5 s and 4.5 s in the GPU stages (queue and service).
    timings: { totalMs: 6000, orchestrationMs: 1000 },
  }) as unknown as Generation;

describe('Admission: non-GPU time', () => {
  const idle = { queued: 0, running: 0, workers: 2 };
  const prepare = (onGpu: number) => {
    let now = 0;
    const load = { detail: { ...idle, running: onGpu }, optimize: idle };
    const admission = new Admission({
      mode: 'adaptive',
      overload: 'reject',
      defaultDeadlineSeconds: 60,
      workers: { load: () => load } as unknown as StageWorkers,
      stages: ['detail', 'optimize'],
      now: () => now,
    });
    return { admission, load, at: (ms: number) => (now = ms) };
  };
  const request = { prompt: 'a lantern', tier: 'auto' } as GenerationRequest;

  it('takes the GPU stages off a run end to end, and keeps the template and the orchestration', async () => {
    const { admission, at } = prepare(0);
    await admission.admit('a', request, { ok: true });
    at(7000);
    admission.end(finished('a', 'miss'));
    // 7 s from admission, 4.5 s of it in the GPU stages.
    expect(admission.status().overhead.predictedSeconds).toBeCloseTo(2.5);
  });

  it('learns nothing from a cache hit, and counts only requests off the GPU as CPU company', async () => {
    const { admission, at, load } = prepare(1);
    await admission.admit('a', request, { ok: true });
    await admission.admit('b', request, { ok: true });
    await admission.admit('c', request, { ok: true });
    // Three admitted, one of them running on a detail worker.
    expect(admission.status().overhead.cpuSide).toBe(2);
    load.detail = idle;
    at(3000);
    admission.end(finished('a', 'hit'));
    expect(admission.status().overhead.samples).toBe(0);
  });
});

describe('Admission: repeats', () => {
  const idle = { queued: 0, running: 0, workers: 1 };
  const admission = new Admission({
    mode: 'adaptive',
    overload: 'reject',
    defaultDeadlineSeconds: 5,
    workers: { load: () => ({ detail: idle, optimize: idle }) } as unknown as StageWorkers,
    stages: ['detail', 'optimize'],
  });
  const ask = (prompt: string) => ({ prompt, tier: 'auto' }) as GenerationRequest;

  it('takes a repeat of a request in flight or answered without charging it GPU time, whatever the load', async () => {
    await admission.admit('first', ask('a lantern'), { ok: true });
    admission.end(finished('first', 'miss'));
    for (const prompt of ['a kite', 'a drum', 'a bell'])
      await admission.admit(prompt, ask(prompt), admission.decide(ask(prompt)));
    const backlog = admission.status().backlogSeconds;

    // Three optimize runs of 2 s queue on one worker: a new request misses a 5 s deadline.
    expect(admission.decide(ask('a boat')).ok).toBe(false);
    // The same requests again: one answered (now in the cache), one in flight (it joins).
    for (const repeat of [ask('a lantern'), ask('a kite')]) {
      expect(admission.decide(repeat)).toEqual({ ok: true });
      await admission.admit(`again ${repeat.prompt}`, repeat, { ok: true });
    }
    expect(admission.status().backlogSeconds).toEqual(backlog);
  });
});
