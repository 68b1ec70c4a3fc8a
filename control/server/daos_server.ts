/**
 * One daos_server process assembled from its config (server.md §1.11, §2.2–2.3, §4): the MS
 * object (replica or not), one ServerContext and the control listener serving the CtlSvc and
 * MgmtSvc built from it (control/handlers), the engine plane with Join and events going to the
 * MS leader, the MS database started on replicas once engine 0's storage is ready, and a clean
 * stop.
 */
import { DrpcPoolEngine } from "../mgmt/pool/engine_drpc.ts";
import { createContextValues } from "@connectrpc/connect";
import type { ServerConfig } from "../config/types.ts";
import { ACTIVE_CONFIG_NAME, saveActiveConfig } from "../config/active_config.ts";
import { hostFaultDomain } from "../config/fault_domain.ts";
import { ctlService } from "../handlers/ctl_svc.ts";
import { auditInterceptor } from "../handlers/audit.ts";
import { peerHostKey } from "../handlers/mgmt_join.ts";
import { mgmtService } from "../handlers/mgmt_svc.ts";
import { createServerContext, type ServerContext } from "../handlers/server_context.ts";
import { formatInstances } from "../handlers/ctl_storage.ts";
import { formatHostStorage } from "../storage/format.ts";
import { type EnginePlane, startEnginePlane } from "../harness/engine_plane.ts";
import { RasType } from "../harness/events.ts";
import { engineStorage, eraseHostMetadata } from "../harness/storage_adapter.ts";
import { errorText } from "../lib/fault.ts";
import { mgmtDbDir } from "../mgmt/db_config.ts";
import { type ManagementService, startManagementService } from "../mgmt/management_service.ts";
import { auditEvent, describeAudit } from "../mgmt/ops/audit.ts";
import type { RASEvent } from "../../proto/gen/ts/shared/event_pb.ts";
import { engineMemArgs } from "../storage/hugepages.ts";
import { type FormatGate, needsFormat } from "../storage/format_state.ts";
import { readMeminfo } from "../sysinfo/meminfo.ts";
import { MaxPerm } from "../lib/rpc/security_certs.ts";
import { loadTransportSecurity } from "../lib/rpc/transport.ts";
import { resolveControlHost } from "./control_address.ts";
import { type ControlServer, startControlServer } from "./control_server.ts";
import { ctlFanout, serverTransportPool } from "./ctl_fanout.ts";
import type { Logger } from "./logging.ts";
import { MsClient } from "./ms_client.ts";
import { ControlPlaneMetrics } from "./cp_metrics.ts";
import { startTelemetryWhenReady } from "./telemetry_start.ts";
import { type ReplicaRole, replicaRole } from "./ms_replicas.ts";

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

/**
 * The local MS database directory of a replica ("" when there is none to start: not a
 * replica, an external etcd, or no storage and no mgmt_svc_db.data_dir to keep it on).
 */
function msDataDir(cfg: ServerConfig, role: ReplicaRole): string {
  const db = cfg.mgmtSvcDb;
  const e0 = cfg.engines[0];
  const place = db.dataDir !== "" || cfg.controlMetadata.path !== "" || !!e0?.scm;
  if (role.self === null || db.endpoints.length > 0 || !place) return "";
  return mgmtDbDir(db, {
    controlMetadataPath: cfg.controlMetadata.path || undefined,
    engine0ScmMount: e0?.scm?.scmMount,
  });
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
  /**
   * `start --auto-format`: once the engines run, format this host's storage that needs it, as
   * `dmg storage format` would (the reference calls its own StorageFormat handler).
   */
  autoFormat?: boolean;
}

/**
 * --auto-format: formats the engines whose storage needs it through the StorageFormat flow
 * (format lock, gate). Per-device failures are logged, not fatal, as the reference's
 * StorageFormat reports them in its results: the engines stay waiting for `dmg storage format`.
 */
async function autoFormat(ctx: ServerContext, log: Logger): Promise<void> {
  const pending: number[] = [];
  for (const e of ctx.config.engines) if ((await needsFormat(e)) !== null) pending.push(e.index);
  if (pending.length === 0) {
    log.info("--auto-format: storage already formatted, nothing to do");
    return;
  }
  log.notice(
    `--auto-format flag set on server start so formatting storage now (engines ${
      pending.join(", ")
    })`,
  );
  const out = await ctx.formatLock.run(() =>
    formatHostStorage(ctx.config, formatInstances(ctx), { reformat: false, replace: false }, {
      hostname: ctx.hostname,
      gate: ctx.formatGate,
    })
  );
  for (const r of [...out.scm, ...out.bdevs]) {
    const where = "mountPoint" in r ? r.mountPoint : r.device;
    if (r.status !== "CTL_SUCCESS") {
      log.error(`--auto-format: engine ${r.instanceIdx} ${where}: ${r.error || r.status}`);
    }
  }
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
  const stopping = new AbortController();

  const dataDir = msDataDir(cfg, role);
  let plane: EnginePlane | null = null;
  // Read at scrape time only (after start-up), so `ms` below is set by then.
  const cpMetrics = new ControlPlaneMetrics({
    isLeader: () => role.self !== null ? ms.election?.view().isLeader === true : null,
    mapVersion: () => plane?.harness.groupMap.latestVersion() ?? null,
  });
  const ms = startManagementService({
    config: {
      system: cfg.name,
      replicas: role.replicas,
      provider: cfg.fabric.provider,
      db: cfg.mgmtSvcDb,
      dataDir,
      controlPort: cfg.port,
    },
    selfAddr,
    isReplica: role.self !== null,
    fanout: cpMetrics.instrumentFanout(ctlFanout(pool)),
    metrics: cpMetrics.msHooks(),
    log: (m) => log.info(`MS: ${m}`),
    // Pool dRPC through this server's first ready engine (none → DataPlaneNotStarted).
    poolEngine: new DrpcPoolEngine(() => plane?.harness.instances ?? []),
    // The SCM minimum is per target: the engine with the most targets is the binding one.
    targetsPerRank: Math.max(1, ...cfg.engines.map((e) => e.targets)),
  });
  log.info(
    role.self !== null
      ? `MS replica ${role.self}${role.bootstrap ? " (bootstrap)" : ""}`
      : `not an MS replica (replicas: ${role.replicas.join(", ")})`,
  );

  // One context for every handler; the harness joins it once the engine plane runs.
  const ctx = createServerContext({
    config: cfg,
    hostname,
    faultDomain,
    ms: role.self !== null ? ms : null,
    pool,
    log,
    harness: () => plane?.harness ?? null,
  });
  // Set once the MS client exists; audit records of calls served before are logged only.
  let forwardAudit: ((ev: RASEvent) => void) | null = null;
  const server: ControlServer = await startControlServer(cfg, log, {
    security,
    ctl: ctlService(ctx),
    // Non-replicas answer NotReplica naming the replicas as configured.
    mgmt: mgmtService(ctx),
    contextValues: (ip) => createContextValues().set(peerHostKey, ip),
    interceptors: (sec) => [
      cpMetrics.interceptor(),
      auditInterceptor({
        secure: !sec.allowInsecure,
        server: selfAddr,
        sink: (r) => {
          // Always in this server's control log; in the MS's audit log by the leader, to which
          // other servers forward it (best effort, like RAS events: the call never waits).
          log.notice(describeAudit(r));
          const forward = () => forwardAudit?.(auditEvent(r, hostname));
          if (role.self !== null && ms.election?.view().isLeader === true) {
            ms.recordAudit(r).catch((e) => {
              log.error(`audit record not stored locally (${errorText(e)}): forwarding it`);
              forward();
            });
          } else forward();
        },
      }),
    ],
  });
  const msClient = new MsClient({ pool, replicas: role.replicas, system: cfg.name, log });
  forwardAudit = (ev) => msClient.forwardEvent(ev);
  let dbStart: Promise<void> = Promise.resolve();
  let telemetry: Promise<{ close(): Promise<void> } | null> = Promise.resolve(null);
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
      hostname: ctx.hostname,
      controlAddr: `${bindHost}:${cfg.port}`,
      faultDomain: ctx.faultDomain,
      bootstrapReplica: role.bootstrap,
      storageFor: (e) => engineStorage(e, ctx.formatGate),
      eraseHostStorage: () => eraseHostMetadata(cfg.controlMetadata),
      launchExtras: (e) => engineMemArgs(e, pageSizeKb),
      enginePath: opts.enginePath,
    });
    if (opts.autoFormat) await autoFormat(ctx, log);
    if (cfg.telemetryPort > 0) {
      telemetry = startTelemetryWhenReady(cfg, bindHost, plane.harness, cpMetrics, log, {
        signal: stopping.signal,
      });
    }
    if (role.self !== null) {
      if (cfg.mgmtSvcDb.endpoints.length === 0 && dataDir === "") {
        log.error("MS replica without engines or mgmt_svc_db.data_dir: MS database not started");
      } else {
        dbStart = (async () => {
          // Again after each system erase that dropped the local database (bounded count).
          for (let round = 0; round < 1_000_000 && !stopping.signal.aborted; round++) {
            if (cfg.engines.length > 0) await engine0Ready(cfg, ctx.formatGate, stopping.signal);
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
        await (await telemetry)?.close();
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
