/**
 * What the CtlSvc and MgmtSvc handlers of one daos_server share, created once at start-up
 * (server/daos_server.ts): the config as loaded, the host's fault domain, the format gate and
 * lock, the engine harness (once started), the MS (on replicas), the transport pool and the log.
 * Every handler family (control/handlers/*.ts) is built from it; tests build one with fakes.
 */
import type { ServerConfig } from "../config/types.ts";
import { hostNetworkSource, type NetworkScanSource } from "../ctl/network_scan.ts";
import { hostStorageSource, type ScanEngine, type StorageScanSource } from "../ctl/storage_scan.ts";
import type { EngineHarness } from "../harness/harness.ts";
import type { EngineInstance } from "../harness/instance.ts";
import { FaultCode, makeFault } from "../lib/fault.ts";
import type { TransportPool } from "../lib/rpc/transport.ts";
import type { ManagementService } from "../mgmt/management_service.ts";
import type { Logger } from "../server/logging.ts";
import { FormatGate } from "../storage/format_state.ts";

/**
 * Serialises StorageFormat requests of one server: a second request waits for the first.
 * One per server (not per process): two servers in one process format independently.
 */
export class FormatLock {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `f` after every earlier `run` of this lock has settled. */
  run<T>(f: () => Promise<T>): Promise<T> {
    const p = this.#tail.then(f, f);
    this.#tail = p.catch(() => {});
    return p;
  }
}

/** Where the scans get their facts (the host by default; fakes in tests). */
export interface ScanSources {
  network: NetworkScanSource;
  storage: StorageScanSource;
}

/** The shared state of one daos_server's handlers. */
export interface ServerContext {
  /** daos_server.yml as loaded and validated once (mgmt_svc_db typed as well). */
  readonly config: ServerConfig;
  readonly hostname: string;
  /** fault_path, fault_cb's output or /<hostname>, resolved once at start-up. */
  readonly faultDomain: string;
  /** Engines wait here until their storage is formatted. */
  readonly formatGate: FormatGate;
  /** Serialises StorageFormat on this server. */
  readonly formatLock: FormatLock;
  /** The MS of this server when it is a replica; null on other servers. */
  readonly ms: ManagementService | null;
  /** This server's client connections to other servers (null in tests without any). */
  readonly pool: TransportPool | null;
  readonly log: Logger;
  readonly scan: ScanSources;
  /** The engine harness once the engine plane runs, else null. */
  harness(): EngineHarness | null;
}

/** What {@link createServerContext} needs; everything but the config has a default. */
export interface ServerContextInit {
  config: ServerConfig;
  hostname?: string;
  faultDomain?: string;
  formatGate?: FormatGate;
  ms?: ManagementService | null;
  pool?: TransportPool | null;
  log?: Logger;
  harness?: () => EngineHarness | null;
  scan?: Partial<ScanSources>;
}

/** A logger that drops everything (tests, contexts without a log). */
export const silentLogger: Logger = {
  trace() {},
  debug() {},
  info() {},
  notice() {},
  error() {},
  close() {},
};

/** An engine instance as the storage scan uses it. */
export function scanEngine(i: EngineInstance): ScanEngine {
  return {
    index: i.index,
    isStarted: () => i.isStarted(),
    isReady: () => i.isReady(),
    rank: () => i.rank(),
    // Stop waiting as soon as the engine is ready or gone.
    awaitReady: (ms) => i.waitFor((x) => x.isReady() || !x.isStarted(), ms).then(() => i.isReady()),
    callMgmt: (method, body, ms) => i.callMgmt(method, body, ms),
  };
}

/**
 * Builds the context of one server. The scans default to this host: the network scan filters
 * by engine 0's provider (else the top-level one); the storage scan sees the running engines
 * (NVMe over dRPC, SCM usage per ready rank) through `harness`.
 */
export function createServerContext(init: ServerContextInit): ServerContext {
  const cfg = init.config;
  const hostname = init.hostname ?? Deno.hostname();
  const harness = init.harness ?? (() => null);
  const provider = cfg.engines[0]?.fabric.provider || cfg.fabric.provider;
  return {
    config: cfg,
    hostname,
    faultDomain: init.faultDomain ?? `/${hostname}`,
    formatGate: init.formatGate ?? new FormatGate(),
    formatLock: new FormatLock(),
    ms: init.ms ?? null,
    pool: init.pool ?? null,
    log: init.log ?? silentLogger,
    scan: {
      network: init.scan?.network ?? hostNetworkSource(provider),
      storage: init.scan?.storage ?? hostStorageSource(cfg.engines, {
        instances: () => harness()?.instances.map(scanEngine) ?? [],
        disableHugepages: cfg.disableHugepages,
      }),
    },
    harness,
  };
}

/** The harness of `ctx`, or fault 610 when the engines have not been set up yet. */
export function startedHarness(ctx: Pick<ServerContext, "harness">): EngineHarness {
  const h = ctx.harness();
  if (h === null || !h.isStarted()) {
    throw makeFault(
      FaultCode.ServerHarnessNotStarted,
      "DAOS I/O Engine harness not started",
      "retry the operation after the server has started its engines",
    );
  }
  return h;
}
