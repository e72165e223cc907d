// The default config matrix of docs/architecture.md §7, one place for every consumer.
import type { DetailConfig, OptimizeConfig, StageName, TemplateConfig, Tier } from './schemas.ts';

export interface TierConfig {
  template: TemplateConfig;
  detail: DetailConfig;
  optimize: OptimizeConfig;
}

export const TIERS: Record<Tier, TierConfig> = {
  high: {
    template: { useLargerModel: true, rectifyRounds: 2 },
    detail: { numInferenceSteps: 30, strength: 1.0, guidanceScale: 7.0, samPointsPerSide: 64 },
    optimize: {
      iterations: 1000,
      learningRate: 0.01,
      optForSize: false,
      optForQuality: true,
      resolution: 512,
      sizeBudget: 3,
      addPaths: 8,
    },
  },
  medium: {
    template: { useLargerModel: false, rectifyRounds: 1 },
    detail: { numInferenceSteps: 25, strength: 0.9, guidanceScale: 6.5, samPointsPerSide: 32 },
    optimize: {
      iterations: 700,
      learningRate: 0.008,
      optForSize: true,
      optForQuality: true,
      sizeBudget: 1.5,
    },
  },
  low: {
    template: { useLargerModel: false, rectifyRounds: 1 },
    detail: { numInferenceSteps: 20, strength: 0.85, guidanceScale: 6.0, samPointsPerSide: 24 },
    optimize: { iterations: 500, learningRate: 0.005, optForSize: true, optForQuality: false },
  },
};

/** Cheapest last: the order 'auto' steps down in. */
export const TIER_ORDER: readonly Tier[] = ['high', 'medium', 'low'];

/** The optimize worker's canvas when the config names none (stage-images/optimize, OptimizeConfig). */
const DEFAULT_RESOLUTION = 256;

function pixels(config: OptimizeConfig): number {
  return (config.resolution ?? DEFAULT_RESOLUTION) ** 2;
}

/**
 * Relative work of a stage at a tier (the medium tier = 1), used to scale a duration measured
 * at one tier to another: detail scales with inference steps, optimize with iterations × canvas pixels.
 */
export function workFactor(stage: StageName, tier: Tier): number {
  const medium = TIERS.medium;
  const config = TIERS[tier];
  switch (stage) {
    case 'template':
      return config.template.useLargerModel ? 2 : 1;
    case 'detail':
      return config.detail.numInferenceSteps / medium.detail.numInferenceSteps;
    case 'optimize':
      // Rasterizer work grows with the canvas area.
      return (
        (config.optimize.iterations * pixels(config.optimize)) /
        (medium.optimize.iterations * pixels(medium.optimize))
      );
  }
}
