/**
 * NVMe scan through a running engine (server.md §3.7): the engine's SMD device list (dRPC 211)
 * turned into NvmeController entries, with BIO health (210) when asked for and full device
 * usage with `Meta`. File and kdev (AIO) bdevs become controllers named by their path.
 */
import { clone, create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  BioHealthReqSchema,
  type BioHealthResp,
  BioHealthRespSchema,
  type NvmeController,
  NvmeController_NamespaceSchema,
  NvmeControllerSchema,
  NvmeDevState,
  type SmdDevice,
  SmdDeviceSchema,
  SmdDevReqSchema,
  SmdDevRespSchema,
} from "../../proto/gen/ts/ctl/smd_pb.ts";
import type { ScanNvmeReq } from "../../proto/gen/ts/ctl/storage_pb.ts";
import type { EngineConfig } from "../config/types.ts";
import { MgmtMethod } from "../drpc/ids.ts";
import { DaosStatusError } from "../lib/fault.ts";
import { NilRank } from "../lib/rankset.ts";
import type { NvmeCtrlr } from "../sysinfo/nvme.ts";

/** One local engine instance as the scan sees it (the harness's EngineInstance fits). */
export interface ScanEngine {
  readonly index: number;
  isStarted(): boolean;
  isReady(): boolean;
  rank(): number | null;
  /** Resolves true once the engine is ready, false when it is not within timeoutMs. */
  awaitReady(timeoutMs: number): Promise<boolean>;
  /** Calls a method of the engine's mgmt module; returns the response body. */
  callMgmt(method: number, body: Uint8Array, timeoutMs?: number): Promise<Uint8Array>;
}

/** Model shown for emulated (AIO) controllers, by bdev class. */
export const AIO_MODEL: Record<string, string> = { file: "AIO file", kdev: "AIO kdev" };

/** Role bits of the tier of `engine` that lists `device` (a path or PCI address), or 0. */
export function deviceRoleBits(engine: EngineConfig | undefined, device: string): number {
  for (const t of engine?.bdevs ?? []) {
    if (t.bdevList.includes(device)) return t.roleBits;
  }
  return 0;
}

/** States in which a controller can answer a health query (DAOS CanSupplyHealthStats). */
function canSupplyHealth(state: NvmeDevState): boolean {
  return state === NvmeDevState.NORMAL || state === NvmeDevState.NEW;
}

async function smdList(engine: ScanEngine, timeoutMs: number): Promise<SmdDevice[]> {
  const body = await engine.callMgmt(
    MgmtMethod.SMD_LIST_DEVS,
    toBinary(SmdDevReqSchema, create(SmdDevReqSchema, {})),
    timeoutMs,
  );
  const resp = fromBinary(SmdDevRespSchema, body);
  if (resp.status !== 0) throw new DaosStatusError(resp.status);
  return resp.devices;
}

async function bioHealth(
  engine: ScanEngine,
  devUuid: string,
  req: ScanNvmeReq,
  timeoutMs: number,
): Promise<BioHealthResp> {
  const body = await engine.callMgmt(
    MgmtMethod.BIO_HEALTH_QUERY,
    toBinary(
      BioHealthReqSchema,
      create(BioHealthReqSchema, {
        devUuid,
        metaSize: req.Meta ? req.MetaSize : 0n,
        rdbSize: req.Meta ? req.RdbSize : 0n,
      }),
    ),
    timeoutMs,
  );
  const resp = fromBinary(BioHealthRespSchema, body);
  if (resp.status !== 0) {
    throw new Error(
      `health query of device ${devUuid}: ${new DaosStatusError(resp.status).message}`,
    );
  }
  return resp;
}

/** The controller an SMD device belongs to, without devices or health. */
function baseController(
  sd: SmdDevice,
  addr: string,
  sysfs: ReadonlyMap<string, NvmeCtrlr>,
): NvmeController {
  const c = sd.ctrlr ? clone(NvmeControllerSchema, sd.ctrlr) : create(NvmeControllerSchema, {});
  c.smdDevices = [];
  c.healthStats = undefined;
  c.pciAddr = addr;
  if (sd.bdevClass === "file" || sd.bdevClass === "kdev") {
    // Emulated NVMe: one namespace the size of the backing file or block device.
    c.model ||= AIO_MODEL[sd.bdevClass];
    if (c.namespaces.length === 0) {
      c.namespaces = [
        create(NvmeController_NamespaceSchema, { id: 1, size: sd.totalBytes, ctrlrPciAddr: addr }),
      ];
    }
  } else {
    // Real NVMe: the engine knows the address; model, serial and sizes come from sysfs.
    const s = sysfs.get(addr);
    if (s) {
      c.model ||= s.model;
      c.serial ||= s.serial;
      c.fwRev ||= s.fwRev;
      c.socketId ||= s.socketId;
      if (c.namespaces.length === 0) {
        c.namespaces = s.namespaces.map((ns) =>
          create(NvmeController_NamespaceSchema, {
            id: ns.id,
            size: BigInt(ns.sizeBytes),
            ctrlrPciAddr: addr,
          })
        );
      }
    }
  }
  return c;
}

/**
 * Scans one running engine's devices over dRPC. Controllers are keyed by PCI address (real
 * NVMe) or backing path (AIO). Without `Meta` each controller carries minimal SMD records
 * (roles, namespace id, rank) so homogeneous hosts fold together; with `Meta` the full
 * records (sizes from health when fetched). Health is attached when `Health` is set.
 */
export async function scanEngineNvme(
  engine: ScanEngine,
  cfg: EngineConfig | undefined,
  req: ScanNvmeReq,
  sysfs: ReadonlyMap<string, NvmeCtrlr>,
  timeoutMs: number,
): Promise<NvmeController[]> {
  const devices = await smdList(engine, timeoutMs);
  const rank = engine.rank() ?? NilRank;
  const seen = new Map<string, NvmeController>();
  for (const [i, sd] of devices.entries()) {
    const addr = sd.ctrlr?.pciAddr || sd.bdevPath || `FFFF:00:${i.toString(16).toUpperCase()}.F`;
    let c = seen.get(addr);
    if (!c) {
      c = baseController(sd, addr, sysfs);
      seen.set(addr, c);
    }
    // The engine does not know its tiers' roles; the config does.
    const roleBits = sd.roleBits || deviceRoleBits(cfg, sd.bdevPath || addr);
    if (c.devState !== NvmeDevState.NORMAL && c.devState !== NvmeDevState.NEW) {
      continue; // a device in a bad state is listed, without usage or health
    }
    let health: BioHealthResp | undefined;
    if (req.Health && c.healthStats === undefined && canSupplyHealth(c.devState)) {
      health = await bioHealth(engine, sd.uuid, req, timeoutMs);
      c.healthStats = health;
    }
    if (req.Meta) {
      const full = clone(SmdDeviceSchema, sd);
      full.ctrlr = undefined;
      full.rank = rank;
      full.roleBits = roleBits;
      if (health) {
        full.totalBytes = health.totalBytes;
        full.availBytes = health.availBytes;
      }
      c.smdDevices.push(full);
    } else {
      c.smdDevices.push(
        create(SmdDeviceSchema, { roleBits, ctrlrNamespaceId: sd.ctrlrNamespaceId, rank }),
      );
    }
  }
  return [...seen.keys()].sort().map((k) => seen.get(k)!);
}

/**
 * Usable bytes of the SMD devices in `ctrlrs` (DAOS adjustNvmeSize, without the MD-on-SSD
 * metadata blobs): devices without the data role hold no pool data; devices not NORMAL or
 * without cluster/target info offer nothing; otherwise every device of a rank offers as many
 * clusters per target as its least-provisioned device, so the rank's targets stay balanced.
 */
export function adjustNvmeUsable(ctrlrs: readonly NvmeController[]): void {
  const perRank = new Map<number, { clustersPerTgt: bigint; devs: SmdDevice[] }>();
  for (const c of ctrlrs) {
    for (const d of c.smdDevices) {
      const tgts = BigInt(new Set(d.tgtIds).size);
      if (d.roleBits !== 0 && (d.roleBits & 1) === 0) {
        d.usableBytes = 0n;
        continue;
      }
      if (c.devState !== NvmeDevState.NORMAL || d.clusterSize === 0n || tgts === 0n) {
        d.availBytes = 0n;
        d.usableBytes = 0n;
        continue;
      }
      d.availBytes = (d.availBytes / d.clusterSize) * d.clusterSize;
      const perTgt = d.availBytes / d.clusterSize / tgts;
      const r = perRank.get(d.rank) ?? { clustersPerTgt: perTgt, devs: [] };
      if (perTgt < r.clustersPerTgt) r.clustersPerTgt = perTgt;
      r.devs.push(d);
      perRank.set(d.rank, r);
    }
  }
  for (const { clustersPerTgt, devs } of perRank.values()) {
    for (const d of devs) {
      d.usableBytes = BigInt(new Set(d.tgtIds).size) * clustersPerTgt * d.clusterSize;
    }
  }
}
