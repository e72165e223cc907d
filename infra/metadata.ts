// Resource metadata the local runtime (src/local/definition.ts) reads back from the synthesized
// template. Kept free of aws-cdk-lib so that reading a cached definition does not load the CDK.

/** Maps a synthesized Lambda function back to its handler module, e.g. `functions/assess.ts`. */
export const ENTRY_METADATA_KEY = 'chat2svg:entry';

/** Maps a synthesized ECS task definition to the container stage it runs. */
export const STAGE_METADATA_KEY = 'chat2svg:stage';

/**
 * Marks a Lambda function as stage work, `<stage>.run` (the stage's Run step: counted, and where
 * faults are injected locally) or `<stage>.degrade` (its degrade step); the rest is orchestration.
 */
export const ROLE_METADATA_KEY = 'chat2svg:role';
export type StageStep = 'run' | 'degrade';
