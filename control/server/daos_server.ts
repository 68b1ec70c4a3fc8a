/**
 * One daos_server process assembled from its config (server.md §1.11, §2.2–2.3, §4): the MS
 * object (replica or not), the control listener with CtlSvc (scans, format, *Ranks) and MgmtSvc,
 * the engine plane with Join and events going to the MS leader, the MS database started on
 * replicas once engine 0's storage is ready, and a clean stop.
 */
import { create } from "@bufbuild/protobuf";
import { createContextValues } from "@connectrpc/connect";
import { SystemEraseRespSchema } from "../../proto/gen/ts/mgmt/system_pb.ts";
import type { ServerConfig } from "../config/types.ts";
import { ACTIVE_CONFIG_NAME, saveActiveConfig } from "../config/active_config.ts";
import { hostFaultDomain } from "../config/fault_domain.ts";
import type { CtlHandlers } from "../ctl/service.ts";
import { hostStorageSource, type ScanEngine, storageScan } from "../ctl/storage_scan.ts";
import {
  harnessFormatInstances,
  stoppedInstances,
  storageFormatHandlers,
} from "../ctl/storage_format.ts";
import { ctlRanksHandlers } from "../harness/ctl_ranks.ts";
import type { EngineInstance } from "../harness/instance.ts";
import { type EnginePlane, startEnginePlane } from "../harness/engine_plane.ts";
import { RasType } from "../harness/events.ts";
import { engineStorage, eraseHostMetadata } from "../harness/storage_adapter.ts";
import { errorText, FaultCode, makeFault } from "../lib/fault.ts";
import { mgmtDbDir, parseMgmtSvcDbConfig } from "../mgmt/db_config.ts";
import { type ManagementService, startManagementService } from "../mgmt/management_service.ts";
import { mgmtServiceImpl, peerHostKey } from "../mgmt/service.ts";
import { engineMemArgs } from "../storage/hugepages.ts";
import { FormatGate, needsFormat } from "../storage/format_state.ts";
import { readMeminfo } from "../sysinfo/meminfo.ts";
import { MaxPerm } from "../lib/rpc/security_certs.ts";
import { loadTransportSecurity } from "../lib/rpc/transport.ts";
import { resolveControlHost } from "./control_address.ts";
import { type ControlServer, startControlServer } from "./control_server.ts";
import { ctlFanout, serverTransportPool } from "./ctl_fanout.ts";
import type { Logger } from "./logging.ts";
import { MsClient } from "./ms_client.ts";
import { replicaRole } from "./ms_replicas.ts";

/** A running daos_server. */
export interface DaosServer {
  /** Control address "IP:port" bound. */
  readonly address: string;
  /** This server's MS replica address, or null. */
  readonly replicaAddr: string | null;
  readonly ms: ManagementService;
  /** The engine plane (null only while starting). */
  plane(): EnginePlane | null;
  /** Stops engines, the MS (etcd member) and the listener; removes the sockets. Idempotent. */
  stop(): Promise<void>;
}

/** The raw `mgmt_svc_db` mapping again, for the MS's own parser (named keys + open keys). */
function mgmtDbRaw(cfg: ServerConfig): Record<string, unknown> {
  const d = cfg.mgmtSvcDb;
  const raw: Record<string, unknown> = { ...d.extra };
  if (d.endpoints.length > 0) raw.endpoints = d.endpoints;
  if (d.clientPort !== null) raw.client_port = d.clientPort;
  if (d.peerPort !== null) raw.peer_port = d.peerPort;
  if (d.dataDir !== "") raw.data_dir = d.dataDir;
  return raw;
}

/** An engine instance as the storage scan uses it. */
function scanEngine(i: EngineInstance): ScanEngine {
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

/** Resolves once engine 0's storage is ready (format done), or when `signal` aborts. */
async function engine0Ready(cfg: ServerConfig, gate: FormatGate, signal: AbortSignal) {
  const e0 = cfg.engines[0];
  for (let i = 0; !signal.aborted && i < 10_000_000; i++) {
    if ((await needsFormat(e0)) === null) return;
    // Re-check now and then: the gate only wakes waiters present when format finishes.
    const tick = new AbortController();
    const t = setTimeout(() => tick.abort(), 1000);
    const stop = () => tick.abort();
    signal.addEventListener("abort", stop, { once: true });
    await gate.awaitFormat(0, tick.signal).catch(() => {});
    clearTimeout(t);
    signal.removeEventListener("abort", stop);
  }
}

/** Start-up options beyond the config (tests and benches). */
export interface DaosServerOptions {
  /** Engine program instead of bin/daos_engine (e.g. a light stand-in for scale runs). */
  enginePath?: string;
}

/** Assembles and starts daos_server for `cfg`. Throws a clear error when start-up fails. */
export async function startDaosServer(
  cfg: ServerConfig,
  log: Logger,
  opts: DaosServerOptions = {},
): Promise<DaosServer> {
  const bindHost = await resolveControlHost(cfg);
  const role = await replicaRole(cfg, bindHost);
  // Our own address as others reach it: the replica address when we are one.
  const selfAddr = role.self ?? `${bindHost}:${cfg.port}`;
  const hostname = Deno.hostname();
  // fault_path, or fault_cb's output (run once; its faults stop the start), or /<hostname>.
  const faultDomain = await hostFaultDomain(cfg, hostname);
  // Certificates loaded once, for the listener and for our calls to other servers.
  const security = await loadTransportSecurity(cfg.transportConfig, MaxPerm.userOnlyKey);
  const pool = serverTransportPool(security);
  const gate = new FormatGate();
  const stopping = new AbortController();

  const dbConfig = parseMgmtSvcDbConfig(mgmtDbRaw(cfg));
  const e0 = cfg.engines[0];
  let dataDir = "";
  const dbPlace = dbConfig.dataDir !== "" || cfg.controlMetadata.path !== "" || !!e0?.scm;
  if (role.self !== null && dbConfig.endpoints.length === 0 && dbPlace) {
    dataDir = mgmtDbDir(dbConfig, {
      controlMetadataPath: cfg.controlMetadata.path || undefined,
      engine0ScmMount: e0?.scm?.scmMount,
    });
  }
  const ms = startManagementService({
    config: {
      system: cfg.name,
      replicas: role.replicas,
      provider: cfg.fabric.provider,
      db: dbConfig,
      dataDir,
      controlPort: cfg.port,
    },
    selfAddr,
    isReplica: role.self !== null,
    fanout: ctlFanout(pool),
    log: (m) => log.info(`MS: ${m}`),
  });
  log.info(
    role.self !== null
      ? `MS replica ${role.self}${role.bootstrap ? " (bootstrap)" : ""}`
      : `not an MS replica (replicas: ${role.replicas.join(", ")})`,
  );

  let plane: EnginePlane | null = null;
  const ranks = (): ReturnType<typeof ctlRanksHandlers> => {
    if (plane === null) {
      throw makeFault(
        FaultCode.ServerHarnessNotStarted,
        "DAOS I/O Engine harness not started",
        "retry the operation after the server has started its engines",
      );
    }
    return ctlRanksHandlers(plane.harness, cfg.name);
  };
  // Storage scan sees the running engines (NVMe over dRPC, SCM usage per ready rank).
  const scanSource = hostStorageSource(cfg.engines, {
    instances: () => plane?.harness.instances.map(scanEngine) ?? [],
    disableHugepages: cfg.disableHugepages,
  });
  const ctl: CtlHandlers = {
    storageScan: (req, ctx) => storageScan(req, scanSource, { timeoutMs: ctx.timeoutMs() }),
    ...storageFormatHandlers(
      cfg,
      gate,
      () => plane ? harnessFormatInstances(cfg, plane.harness.instances) : stoppedInstances(cfg),
    ),
    prepShutdownRanks: (req, ctx) => ranks().prepShutdownRanks(req, ctx),
    stopRanks: (req, ctx) => ranks().stopRanks(req, ctx),
    startRanks: (req, ctx) => ranks().startRanks(req, ctx),
    resetFormatRanks: (req, ctx) => ranks().resetFormatRanks(req, ctx),
    pingRanks: (req, ctx) => ranks().pingRanks(req, ctx),
    groupUpdate: (req, ctx) => ranks().groupUpdate(req, ctx),
    // The leader's erase order to this peer replica: drop the local MS database.
    systemErasePeer: async (req) => {
      ms.checkSystem(req.sys);
      await ms.eraseAsPeer();
      return create(SystemEraseRespSchema, {});
    },
  };

  const server: ControlServer = await startControlServer(cfg, log, {
    security,
    ctl,
    // Non-replicas keep the placeholder: NotReplica naming the replicas as configured.
    mgmt: role.self !== null ? mgmtServiceImpl(ms) : undefined,
    contextValues: (ip) => createContextValues().set(peerHostKey, ip),
  });
  const msClient = new MsClient({ pool, replicas: role.replicas, system: cfg.name, log });
  let dbStart: Promise<void> = Promise.resolve();
  try {
    // The socket dir is ours now (claimed by the control server).
    if (!(await saveActiveConfig(cfg))) log.notice("could not save the active config");
    const pageSizeKb = (await readMeminfo()).hugepageSizeKb || 2048;
    plane = await startEnginePlane(cfg, {
      join: (req, onRetry) => msClient.join(req, onRetry),
      notifyEvent: (ev) => {
        if (ev.type === RasType.STATE_CHANGE) msClient.forwardEvent(ev);
      },
      onClusterEvent: (req) => {
        if (req.event?.type === RasType.STATE_CHANGE) msClient.forwardEvent(req.event);
        return 0;
      },
      log,
      hostname,
      controlAddr: `${bindHost}:${cfg.port}`,
      faultDomain,
      bootstrapReplica: role.bootstrap,
      storageFor: (e) => engineStorage(e, gate),
      eraseHostStorage: () => eraseHostMetadata(cfg.controlMetadata),
      launchExtras: (e) => engineMemArgs(e, pageSizeKb),
      enginePath: opts.enginePath,
    });
    if (role.self !== null) {
      if (dbConfig.endpoints.length === 0 && dataDir === "") {
        log.error("MS replica without engines or mgmt_svc_db.data_dir: MS database not started");
      } else {
        dbStart = (async () => {
          // Again after each system erase that dropped the local database (bounded count).
          for (let round = 0; round < 1_000_000 && !stopping.signal.aborted; round++) {
            if (e0 !== undefined) await engine0Ready(cfg, gate, stopping.signal);
            if (stopping.signal.aborted) return;
            log.info("starting the MS database");
            await ms.startDb();
            const stopped = new Promise<void>((r) =>
              stopping.signal.addEventListener("abort", () => r(), { once: true })
            );
            await Promise.race([ms.whenErased(), stopped]);
          }
        })().catch((e) => log.error(`MS database start failed: ${errorText(e)}`));
      }
    }
  } catch (e) {
    msClient.close();
    await plane?.close().catch(() => {});
    await server.close();
    pool.close();
    throw e;
  }

  let stopped: Promise<void> | undefined;
  return {
    address: server.address,
    replicaAddr: role.self,
    ms,
    plane: () => plane,
    stop: () => {
      stopped ??= (async () => {
        stopping.abort();
        msClient.close();
        await plane?.close().catch((e) => log.error(`engine shutdown: ${errorText(e)}`));
        await dbStart;
        await ms.stop().catch((e) => log.error(`MS stop: ${errorText(e)}`));
        pool.close();
        await server.close();
        // Nothing of ours stays in socket_dir after a clean stop.
        await Deno.remove(`${cfg.socketDir.replace(/\/+$/, "")}/${ACTIVE_CONFIG_NAME}`)
          .catch(() => {});
      })();
      return stopped;
    },
  };
}
