/** Builds the engine harness from the loaded daos_server.yml. */
import type { EngineConfig, ServerConfig } from "../config/types.ts";
import { engineArgs, engineEnv, type LaunchContext } from "./engine_launch.ts";
import { EngineHarness } from "./harness.ts";
import type { ClusterEventReq } from "../../proto/gen/ts/shared/event_pb.ts";
import type { HarnessLog, InstanceStorage, JoinFn, NotifyEventFn } from "./types.ts";

/** bin/daos_engine of this checkout. */
export const DEFAULT_ENGINE_PATH = new URL("../../bin/daos_engine", import.meta.url).pathname;

/** What daos_server supplies besides the config. */
export interface HarnessDeps {
  join: JoinFn;
  notifyEvent: NotifyEventFn;
  log: HarnessLog;
  hostname: string;
  /** Control address sent in Join and reported in rank results, e.g. "127.0.0.1:10001". */
  controlAddr: string;
  /** Host fault domain (fault_path / fault_cb result). */
  faultDomain: string;
  /** True when this server is the first mgmt_svc_replicas entry. */
  bootstrapReplica: boolean;
  storageFor(engine: EngineConfig): InstanceStorage;
  /** Per-engine -r/-H values (hugepage sizing is computed elsewhere). */
  launchExtras?(engine: EngineConfig): Partial<LaunchContext>;
  onClusterEvent?: (req: ClusterEventReq) => Promise<number> | number;
  onReady?: (index: number, rank: number) => void;
  /** Erase of the host-wide storage at reset format (see HarnessOptions). */
  eraseHostStorage?: () => Promise<void>;
  enginePath?: string;
  hostEnv?: Record<string, string>;
}

/**
 * One instance per engines[] entry, with arguments and environment derived from the config.
 * Throws (naming the engine) when an engine's environment is invalid.
 */
export function buildHarness(cfg: ServerConfig, deps: HarnessDeps): EngineHarness {
  const hostEnv = deps.hostEnv ?? Deno.env.toObject();
  return new EngineHarness({
    log: deps.log,
    controlAddr: deps.controlAddr,
    onClusterEvent: deps.onClusterEvent,
    eraseHostStorage: deps.eraseHostStorage,
    autoRestart: {
      disabled: cfg.disableEngineAutoRestart,
      minDelaySec: cfg.engineAutoRestartMinDelay,
    },
    instances: cfg.engines.map((e) => {
      const extras = deps.launchExtras?.(e) ?? {};
      return {
        index: e.index,
        enginePath: deps.enginePath ?? DEFAULT_ENGINE_PATH,
        args: (checkMode: boolean) =>
          engineArgs(e, { ...extras, socketDir: cfg.socketDir, checkMode }),
        env: withTelemetryDir(engineEnv(e, hostEnv), cfg.socketDir),
        storage: deps.storageFor(e),
        join: deps.join,
        notifyEvent: deps.notifyEvent,
        log: deps.log,
        systemName: cfg.name,
        controlAddr: deps.controlAddr,
        faultDomain: deps.faultDomain,
        hostname: deps.hostname,
        bootstrapReplica: deps.bootstrapReplica,
        onReady: deps.onReady,
        socketDir: cfg.socketDir,
      };
    }),
  });
}

/**
 * The engines' telemetry trees go to this server's socket_dir (unless env_vars names a
 * DAOS_TM_DIR): two daos_servers on one host (test clusters, the demo) would otherwise share
 * /dev/shm/daos_tm_<system>_<idx>, and only the first engine would get a tree.
 */
function withTelemetryDir(env: Record<string, string>, socketDir: string): Record<string, string> {
  if (env.DAOS_TM_DIR === undefined && socketDir !== "") env.DAOS_TM_DIR = socketDir;
  return env;
}
