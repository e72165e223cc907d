// Lambda entry: the handler built once per cold start from this function's environment.
import { configFromEnv, makeHandler } from './prepare-stage-input.ts';

export const handler = makeHandler(configFromEnv());
