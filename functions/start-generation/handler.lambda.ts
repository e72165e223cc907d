// Lambda entry: the handler built once per cold start from this function's environment.
import { configFromEnv, makeHandler } from './handler.ts';

export const handler = makeHandler(configFromEnv());
