/**
 * The engine side of daos_server in one piece: the daos_server.sock dRPC server (srv and mgmt
 * modules) and the harness built from the config. daos_server starts it after its control
 * listener and closes it on shutdown.
 */
import type { ServerConfig } from "../config/types.ts";
import { DrpcServer } from "../drpc/server.ts";
import { registerServerModules, serverDrpcOptions } from "../drpc/srv_module.ts";
import { buildHarness, type HarnessDeps } from "./from_config.ts";
import type { EngineHarness } from "./harness.ts";

/** A running engine plane. */
export interface EnginePlane {
  harness: EngineHarness;
  drpc: DrpcServer;
  /** SIGKILLs the engines, stops the dRPC server, removes its socket. */
  close(): Promise<void>;
}

/** Removes daos_engine*.sock files left by engines of an earlier server (§1.10). */
export async function removeStaleEngineSockets(socketDir: string): Promise<string[]> {
  const removed: string[] = [];
  for await (const e of Deno.readDir(socketDir)) {
    if (!/^daos_engine.*\.sock$/.test(e.name)) continue;
    const path = `${socketDir}/${e.name}`;
    await Deno.remove(path).then(() => removed.push(path), () => {});
  }
  return removed;
}

/**
 * Starts the dRPC server, then the harness (engines start once formatted). Call it only after
 * this process has claimed socket_dir (control/server/instance_lock.ts): it deletes leftover
 * engine sockets there.
 */
export async function startEnginePlane(cfg: ServerConfig, deps: HarnessDeps): Promise<EnginePlane> {
  for (const p of await removeStaleEngineSockets(cfg.socketDir)) {
    deps.log.debug(`removed stale engine socket ${p}`);
  }
  const harness = buildHarness(cfg, deps);
  const drpc = new DrpcServer(serverDrpcOptions(cfg.socketDir, deps.log));
  registerServerModules(drpc, harness.srvModuleDeps());
  await drpc.start();
  try {
    await harness.start();
  } catch (e) {
    await drpc.close();
    throw e;
  }
  return {
    harness,
    drpc,
    close: async () => {
      await harness.shutdown();
      await drpc.close();
    },
  };
}
