// The non-GPU seconds of a request through `chat2svg serve` (orchestration, template, sanitize,
// finalize: everything but the GPU stages' queue and service), measured per finished request and
// predicted for the next one from how many admitted requests are on the CPU side right now, since
// they share the same cores. The allocator gets the prediction as `Load.overheadSeconds`.

export interface OverheadSample {
  /** Admitted requests outside the GPU stages (not queued on a worker, not running) at admission. */
  readonly cpuSide: number;
  /** The request's end-to-end seconds less the seconds it spent in GPU stages (queue + service). */
  readonly seconds: number;
}

/**
 * A rolling least-squares line `seconds = base + perRequest × cpuSide` over the last `window`
 * samples: `base` is a request's own non-GPU time, `perRequest` what each request beside it on
 * the CPU adds. Both are kept non-negative; with fewer than `minSamples`, or no spread in
 * `cpuSide`, the mean alone.
 */
export class OverheadEstimate {
  private readonly samples: OverheadSample[] = [];

  constructor(
    private readonly window = 50,
    private readonly minSamples = 5,
  ) {}

  record(sample: OverheadSample): void {
    if (!Number.isFinite(sample.seconds) || sample.seconds < 0) return;
    this.samples.push(sample);
    if (this.samples.length > this.window) this.samples.shift();
  }

  get count(): number {
    return this.samples.length;
  }

  /** The fitted line (seconds at 0 on the CPU side, seconds added per request there). */
  line(): { base: number; perRequest: number } {
    const n = this.samples.length;
    if (!n) return { base: 0, perRequest: 0 };
    const meanX = this.samples.reduce((sum, s) => sum + s.cpuSide, 0) / n;
    const meanY = this.samples.reduce((sum, s) => sum + s.seconds, 0) / n;
    let sxx = 0;
    let sxy = 0;
    for (const s of this.samples) {
      sxx += (s.cpuSide - meanX) ** 2;
      sxy += (s.cpuSide - meanX) * (s.seconds - meanY);
    }
    if (n < this.minSamples || sxx < 1e-9) return { base: meanY, perRequest: 0 };
    const perRequest = Math.max(0, sxy / sxx);
    return { base: Math.max(0, meanY - perRequest * meanX), perRequest };
  }

  /** Predicted non-GPU seconds of a request admitted with `cpuSide` others on the CPU side. */
  predict(cpuSide: number): number {
    const { base, perRequest } = this.line();
    return base + perRequest * Math.max(0, cpuSide);
  }
}
