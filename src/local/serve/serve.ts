// Starts what `chat2svg serve` runs: the local runtime with warm stage workers, and the HTTP server.
import type { ContainerStageName } from '#contracts/schemas';
import type { LocalDefinition } from '../definition.ts';
import { createLocalRuntime, type LocalRuntime } from '../runtime.ts';
import type { WorkerMode } from '../workers.ts';
import { playgroundRoutes } from './playground.ts';
import { type Route, type RunningServer, startServer } from './server.ts';

export interface ServeCommand {
  readonly kind: 'serve';
  readonly port: number;
  readonly host: string;
  readonly workers: number;
  readonly workerMode: WorkerMode;
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
}

export interface ServeHandle extends RunningServer {
  readonly runtime: LocalRuntime;
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
    workers: options.workers ?? { mode: 'pool' },
  });
  try {
    const server = await startServer({
      runtime,
      port: options.port,
      host: options.host,
      routes: [...playgroundRoutes(), ...(options.routes ?? [])],
    });
    log(`serve: listening on ${server.url} (${runtime.workers.mode} workers; loading models)`);
    await runtime.workers.ready();
    const loaded = runtime.workers.workers().filter((worker) => worker.ready).length;
    log(`serve: ${loaded} warm worker(s) ready`);
    return {
      ...server,
      runtime,
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
