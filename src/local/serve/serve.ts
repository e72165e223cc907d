// Starts what `chat2svg serve` runs: the local runtime with warm stage workers, admission control,
// and the HTTP server.
import { breakerSettingsFromEnv } from '#breaker/settings';
import { getBreakers } from '#breaker/store';
import { windowStats } from '#breaker/transition';
import type { ContainerStageName } from '#contracts/schemas';
import { admissionPolicyFromEnv } from '#functions/start-generation/admission';
import type { LocalDefinition } from '../definition.ts';
import { createLocalRuntime, type LocalRuntime } from '../runtime.ts';
import type { WorkerMode } from '../workers.ts';
import { Admission, type AdmissionMode } from './admission.ts';
import { playgroundRoutes } from './playground.ts';
import { type Route, type RunningServer, startServer } from './server.ts';

export interface ServeCommand {
  readonly kind: 'serve';
  readonly port: number;
  readonly host: string;
  readonly workers: number;
  readonly workerMode: WorkerMode;
  readonly admission: AdmissionMode;
  readonly verbose: boolean;
}

export interface StartServeOptions {
  readonly port?: number;
  readonly host?: string;
  /** State directory. @default $CHAT2SVG_HOME or ./.chat2svg */
  readonly home?: string;
  readonly ephemeral?: boolean;
  /** An already resolved definition. @default loadDefinition({ home }) */
  readonly definition?: LocalDefinition;
  readonly capabilities?: readonly ContainerStageName[];
  readonly stagesDir?: string;
  readonly workers?: { readonly mode: WorkerMode; readonly perStage?: number };
  readonly env?: Record<string, string>;
  readonly routes?: readonly Route[];
  readonly log?: (line: string) => void;
  /** Handlers' log level. @default the runtime's */
  readonly logLevel?: string;
  /** Load-adaptive tiers and admission control, or none (the assessment alone). @default 'adaptive' */
  readonly admission?: AdmissionMode;
  /** Over the environment's ADMISSION_OVERLOAD. @default the synthesized setting */
  readonly overload?: 'reject' | 'low';
}

export interface ServeHandle extends RunningServer {
  readonly runtime: LocalRuntime;
  readonly admission: Admission;
  stop(): Promise<void>;
}

export async function startServe(options: StartServeOptions = {}): Promise<ServeHandle> {
  const log = options.log ?? (() => {});
  const runtime = await createLocalRuntime({
    home: options.home,
    ephemeral: options.ephemeral,
    definition: options.definition,
    capabilities: options.capabilities,
    stagesDir: options.stagesDir,
    env: options.env,
    logLevel: options.logLevel,
    workers: options.workers ?? { mode: 'pool' },
  });
  try {
    // The environment's admission settings and tables, as the synthesized assessment has them.
    const assess = runtime.definition.functions.find(
      (fn) => fn.entry === 'functions/assess-resources/handler.ts',
    );
    const env = assess?.environment ?? {};
    const policy = admissionPolicyFromEnv(env);
    const admission = new Admission({
      mode: options.admission ?? 'adaptive',
      overload: options.overload ?? policy.overload,
      defaultDeadlineSeconds: policy.defaultDeadlineSeconds,
      workers: runtime.workers,
      stages: runtime.capabilities,
      store: env.SIGNALS_TABLE ? { ddb: runtime.emulators.dynamodb, table: env.SIGNALS_TABLE } : undefined,
    });
    const breakersTable = env.BREAKERS_TABLE;
    // The window the record-outcome function counts in, as it was synthesized.
    const recorder = runtime.definition.functions.find((fn) => fn.environment.BREAKER_WINDOW_SECONDS);
    const settings = recorder ? breakerSettingsFromEnv(recorder.environment) : undefined;
    const breakerStatus = async () => {
      if (!breakersTable) return {};
      const now = new Date();
      const stored = await getBreakers(runtime.emulators.dynamodb, breakersTable);
      return Object.fromEntries(
        Object.entries(stored).map(([stage, { state, openUntil, window }]) => {
          const counted = settings ? windowStats(window, now, settings) : { calls: 0, failures: 0 };
          return [stage, { state, openUntil, calls: counted.calls, failures: counted.failures }];
        }),
      );
    };
    const server = await startServer({
      runtime,
      port: options.port,
      host: options.host,
      routes: [...playgroundRoutes(), ...(options.routes ?? [])],
      admit: admission,
      observer: admission,
      status: async () => ({
        breakers: await breakerStatus(),
        admission: admission.status(),
      }),
    });
    log(`serve: listening on ${server.url} (${runtime.workers.mode} workers; loading models)`);
    await Promise.all([runtime.workers.ready(), runtime.preload()]);
    const loaded = runtime.workers.workers().filter((worker) => worker.ready).length;
    log(`serve: ${loaded} warm worker(s) ready`);
    return {
      ...server,
      runtime,
      admission,
      stop: async () => {
        await server.close();
        await server.generations.settled();
        await runtime.stop();
      },
    };
  } catch (error) {
    await runtime.stop();
    throw error;
  }
}
