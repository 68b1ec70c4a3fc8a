/**
 * Starts daos_server's telemetry exporter (server.md §8) once every local engine has been ready
 * once, and keeps its engine sources in step with the harness: an instance is a source while it
 * is ready (with its rank), and stops being one when it exits.
 */
import type { ServerConfig } from "../config/types.ts";
import type { EngineHarness } from "../harness/harness.ts";
import { errorText } from "../lib/fault.ts";
import type { ControlPlaneMetrics } from "./cp_metrics.ts";
import type { Logger } from "./logging.ts";
import { engineTreeReader, serveTelemetry, TelemetryExporter } from "./telemetry_exporter.ts";
import type { TelemetryServer } from "./telemetry_exporter.ts";

/** Where engine instance trees live: DAOS_TM_DIR of its env_vars, else socket_dir. */
export function telemetryDir(cfg: ServerConfig): string {
  for (const kv of cfg.engines[0]?.envVars ?? []) {
    if (kv.startsWith("DAOS_TM_DIR=")) return kv.slice("DAOS_TM_DIR=".length);
  }
  return cfg.socketDir;
}

/** Re-reads which instances are sources: the ready ones, with their rank. */
export function syncSources(exporter: TelemetryExporter, harness: EngineHarness): void {
  for (const inst of harness.instances) {
    const rank = inst.rank();
    if (inst.isReady() && rank !== null) exporter.addSource(inst.index, rank);
    else exporter.removeSource(inst.index);
  }
}

/**
 * Waits (in the background of the caller) for every local engine to be ready once, then serves
 * the exporter on bindHost:telemetry_port. Resolves null when stopped first or when the port
 * cannot be bound (logged: telemetry is not worth stopping the server for).
 */
export async function startTelemetryWhenReady(
  cfg: ServerConfig,
  bindHost: string,
  harness: EngineHarness,
  cp: ControlPlaneMetrics,
  log: Logger,
  opts: { signal: AbortSignal },
): Promise<TelemetryServer | null> {
  const seen = new Set<number>();
  while (!opts.signal.aborted && seen.size < harness.instances.length) {
    for (const i of harness.instances) if (i.isReady()) seen.add(i.index);
    if (seen.size >= harness.instances.length) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  if (opts.signal.aborted) return null;
  const read = engineTreeReader(cfg.name, telemetryDir(cfg));
  // Sources follow the harness at each scrape (ready → added, exited → removed).
  const exporter: TelemetryExporter = new TelemetryExporter(
    read,
    () => cp.render(),
    (m) => log.debug(m),
    () => syncSources(exporter, harness),
  );
  try {
    const srv = await serveTelemetry(exporter, bindHost, cfg.telemetryPort);
    log.info(`telemetry exporter listening on ${srv.address} (/metrics)`);
    return srv;
  } catch (e) {
    log.error(errorText(e));
    return null;
  }
}
