/**
 * ctl.CtlSvc/StorageScan (server.md §3.7): memory and hugepages (/proc/meminfo), SCM from the
 * configured tiers (ram: tmpfs usage via statfs; dcpm: no PMem on these machines), NVMe from
 * sysfs while no engine runs and from the engines over dRPC (SMD list, BIO health) once any
 * runs.
 */
import { create } from "@bufbuild/protobuf";
import { ResponseStateSchema, ResponseStatus } from "../../proto/gen/ts/ctl/common_pb.ts";
import {
  type NvmeController,
  NvmeControllerSchema,
  NvmeDevState,
  SmdDeviceSchema,
} from "../../proto/gen/ts/ctl/smd_pb.ts";
import {
  MemInfoSchema,
  type ScanNvmeReq,
  ScanNvmeReqSchema,
  type ScmNamespace,
  ScmNamespaceSchema,
  type StorageScanReq,
  type StorageScanResp,
  StorageScanRespSchema,
} from "../../proto/gen/ts/ctl/storage_pb.ts";
import type { EngineConfig } from "../config/types.ts";
import { NilRank } from "../lib/rankset.ts";
import { readMeminfo, type SysMemInfo } from "../sysinfo/meminfo.ts";
import { type NvmeCtrlr, readNvmeControllers } from "../sysinfo/nvme.ts";
import { findMount, type FsUsage, type MountEntry, statfs } from "../sysinfo/statfs.ts";
import { errorText } from "../lib/fault.ts";
import { adjustNvmeUsable, type ScanEngine, scanEngineNvme } from "./nvme_engine_scan.ts";

export type { ScanEngine } from "./nvme_engine_scan.ts";

const GIB = 1024n ** 3n;
const MIB = 1024n ** 2n;
/** RDB size when DAOS_MD_CAP is not set (DAOS DefaultDaosMdCapSize). */
export const DEFAULT_RDB_BYTES = 128n * MIB;
/** Control-plane metadata kept on the SCM mount (DAOS mdDaosScmBytes). */
export const CONTROL_MD_BYTES = 16n * MIB;
/** File-system overhead reserved on an SCM mount (DAOS mdFsScmBytes). */
export const SCM_FS_BYTES = MIB;
/** How long a scan waits for a started engine to become ready (unless the call's deadline is sooner). */
export const ENGINE_READY_WAIT_MS = 5_000;

/** Text DAOS reports when no PMem is present. */
export const NO_PMEM = "no PMem modules/namespaces found";

/** Where the scan gets its facts (replaceable in unit tests). */
export interface StorageScanSource {
  engines: readonly EngineConfig[];
  meminfo(): Promise<SysMemInfo>;
  nvme(): Promise<NvmeCtrlr[]>;
  mount(path: string): Promise<MountEntry | undefined>;
  usage(path: string): Promise<FsUsage>;
  /** The local engine instances, index = engines[] position (none: no harness yet). */
  instances?(): readonly ScanEngine[];
  /** `disable_hugepages`: the NVMe scan is skipped (§3.7). */
  disableHugepages?: boolean;
}

/** Options of one scan. */
export interface StorageScanOptions {
  /** Time left of the caller's deadline (ms); bounds the waits and dRPC calls. */
  timeoutMs?: number;
}

/** The real host, for the engines of daos_server.yml (and their instances, when running). */
export function hostStorageSource(
  engines: readonly EngineConfig[],
  extra: Pick<StorageScanSource, "instances" | "disableHugepages"> = {},
): StorageScanSource {
  return {
    engines,
    meminfo: () => readMeminfo(),
    nvme: () => readNvmeControllers(),
    mount: (p) => findMount(p),
    usage: (p) => statfs(p),
    ...extra,
  };
}

/** RDB bytes of an engine: DAOS_MD_CAP (MiB) from its env_vars, or the default. */
export function rdbBytes(engine: EngineConfig): bigint {
  for (const kv of engine.envVars) {
    const m = /^DAOS_MD_CAP=(.*)$/.exec(kv);
    if (!m) continue;
    if (!/^\d+$/.test(m[1])) {
      throw new Error(
        `engine ${engine.index}: invalid DAOS_MD_CAP "${m[1]}": use a plain number of MiB`,
      );
    }
    return BigInt(m[1]) * MIB;
  }
  return DEFAULT_RDB_BYTES;
}

/**
 * Usable SCM bytes (DAOS adjustScmSize): avail − RDB − control metadata (when kept on this
 * mount) − file-system overhead, never below zero.
 */
export function scmUsableBytes(engine: EngineConfig, availBytes: bigint): bigint {
  const mount = engine.scm?.scmMount ?? "";
  let usable = availBytes - rdbBytes(engine);
  const mdOnSsd = engine.bdevs.some((t) => (t.roleBits & 2) !== 0);
  const cmd = engine.controlMetadataPath;
  // Without MD-on-SSD the control metadata lives on the SCM mount; with it, only when the
  // control_metadata path is under this mount.
  if (!mdOnSsd || (cmd !== "" && (cmd === mount || cmd.startsWith(mount.replace(/\/*$/, "/"))))) {
    usable -= CONTROL_MD_BYTES;
  } else if (cmd === "") {
    return 0n;
  }
  usable -= SCM_FS_BYTES;
  return usable > 0n ? usable : 0n;
}

/**
 * The synthetic namespace of a ram tier. With `usage` (query usage), only a ready engine's
 * mount is measured, carrying its rank and usable bytes; a non-ready one reports rank Nil and
 * zero sizes (§3.7).
 */
async function ramNamespace(
  engine: EngineConfig,
  src: StorageScanSource,
  inst: ScanEngine | undefined,
  usage: boolean,
): Promise<ScmNamespace> {
  const tier = engine.scm!;
  const ready = inst?.isReady() ?? false;
  const measure = !usage || ready;
  const mounted = measure ? await src.mount(tier.scmMount) : undefined;
  const fs = mounted?.fsType === "tmpfs" ? await src.usage(tier.scmMount) : undefined;
  const configured = BigInt(tier.scmSize) * GIB;
  const avail = BigInt(fs?.availBytes ?? 0);
  return create(ScmNamespaceSchema, {
    blockdev: "ramdisk",
    dev: tier.scmMount,
    numaNode: engine.pinnedNumaNode ?? 0,
    // Auto-sized (scm_size 0) ram disks have a size only once mounted.
    size: configured > 0n ? configured : BigInt(fs?.totalBytes ?? 0),
    mount: {
      path: tier.scmMount,
      class: "ram",
      totalBytes: BigInt(fs?.totalBytes ?? 0),
      availBytes: avail,
      usableBytes: usage && fs ? scmUsableBytes(engine, avail) : 0n,
      rank: ready ? (inst?.rank() ?? NilRank) : NilRank,
    },
  });
}

function nvmeController(
  c: NvmeCtrlr,
  engines: readonly EngineConfig[],
): NvmeController {
  const ctrlr = create(NvmeControllerSchema, {
    pciAddr: c.pciAddr,
    socketId: c.socketId,
    namespaces: c.namespaces.map((ns) => ({
      id: ns.id,
      size: BigInt(ns.sizeBytes),
      ctrlrPciAddr: c.pciAddr,
    })),
    devState: NvmeDevState.NORMAL,
    model: c.model,
    serial: c.serial,
    fwRev: c.fwRev,
  });
  // A configured controller is annotated with its tier's roles; no engine runs yet: nil rank.
  for (const e of engines) {
    for (const t of e.bdevs) {
      if (t.class === "nvme" && t.bdevList.includes(c.pciAddr)) {
        ctrlr.smdDevices.push(create(SmdDeviceSchema, { rank: NilRank, roleBits: t.roleBits }));
      }
    }
  }
  return ctrlr;
}

/** `Basic` strips SMD records, serial, model and firmware; health only with `Health`. */
function trimControllers(req: ScanNvmeReq, ctrlrs: NvmeController[]): NvmeController[] {
  for (const c of ctrlrs) {
    if (!req.Health) c.healthStats = undefined;
    if (req.Basic) {
      c.smdDevices = [];
      c.serial = "";
      c.model = "";
      c.fwRev = "";
    }
  }
  return ctrlrs;
}

function hasBdevs(e: EngineConfig): boolean {
  return e.bdevs.some((t) => t.bdevList.length > 0);
}

/**
 * Controllers of one engine: over dRPC when it runs, else its configured real NVMe from sysfs.
 * A started engine answers dRPC once it has reported its socket (NotifyReady), even before it
 * joined; while it has not, the scan waits (bounded) for it to become ready and asks again.
 * Throws with the reason when neither works.
 */
async function engineControllers(
  cfg: EngineConfig,
  inst: ScanEngine,
  req: ScanNvmeReq,
  sysfs: readonly NvmeCtrlr[],
  deadline: number,
): Promise<NvmeController[]> {
  if (!inst.isStarted()) {
    if (req.Meta) throw new Error("meta smd usage info unavailable as engine stopped");
    const mine = new Set(cfg.bdevs.filter((t) => t.class === "nvme").flatMap((t) => t.bdevList));
    return sysfs.filter((c) => mine.has(c.pciAddr)).map((c) => nvmeController(c, [cfg]));
  }
  const byAddr = new Map(sysfs.map((c) => [c.pciAddr, c]));
  const ask = () => scanEngineNvme(inst, cfg, req, byAddr, Math.max(1, deadline - Date.now()));
  try {
    return await ask();
  } catch (first) {
    if (inst.isReady()) throw first;
    const wait = Math.min(ENGINE_READY_WAIT_MS, Math.max(0, deadline - Date.now()));
    if (!(await inst.awaitReady(wait))) {
      throw new Error(`waiting for engine ${inst.index} to be ready to receive drpcs`);
    }
    return await ask();
  }
}

/**
 * The NVMe part (§3.7, DAOS bdevScan): sysfs when no bdevs are configured or no engine has
 * started (then `Meta` is an error), else every engine with bdevs answers for its devices.
 * With several engines a failing one is reported in the state while the others' devices are
 * kept; with one, its failure fails the part.
 */
async function scanNvme(
  req: ScanNvmeReq,
  src: StorageScanSource,
  deadline: number,
): Promise<{ ctrlrs: NvmeController[]; error?: string }> {
  if (src.disableHugepages) return { ctrlrs: [] };
  const sysfs = await src.nvme();
  const instances = src.instances?.() ?? [];
  const configured = src.engines.some(hasBdevs);
  if (!configured || !instances.some((i) => i.isStarted())) {
    if (configured && req.Meta) {
      throw new Error("meta smd usage info unavailable as engines stopped");
    }
    return { ctrlrs: trimControllers(req, sysfs.map((c) => nvmeController(c, src.engines))) };
  }
  const withBdevs = instances.filter((i) => {
    const cfg = src.engines[i.index];
    return cfg !== undefined && hasBdevs(cfg);
  });
  // Engines are asked concurrently: one slow to start must not hold the others' answers.
  const answers = await Promise.allSettled(
    withBdevs.map((inst) => engineControllers(src.engines[inst.index], inst, req, sysfs, deadline)),
  );
  const ctrlrs: NvmeController[] = [];
  let firstError: string | undefined;
  for (const [i, a] of answers.entries()) {
    if (a.status === "fulfilled") {
      ctrlrs.push(...a.value);
      continue;
    }
    const msg = `instance ${withBdevs[i].index}: ${errorText(a.reason)}`;
    if (withBdevs.length === 1) throw new Error(msg);
    firstError ??= msg;
  }
  if (req.Meta) adjustNvmeUsable(ctrlrs);
  return { ctrlrs: trimControllers(req, ctrlrs), error: firstError };
}

/** Answers StorageScan. Part failures are reported in that part's state, not as an RPC error. */
export async function storageScan(
  req: StorageScanReq,
  src: StorageScanSource,
  opts: StorageScanOptions = {},
): Promise<StorageScanResp> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  const resp = create(StorageScanRespSchema, {
    nvme: { state: { status: ResponseStatus.CTL_SUCCESS } },
    scm: { state: { status: ResponseStatus.CTL_SUCCESS } },
  });

  const mem = await src.meminfo();
  resp.memInfo = create(MemInfoSchema, {
    hugepagesTotal: BigInt(mem.hugepagesTotal),
    hugepagesFree: BigInt(mem.hugepagesFree),
    hugepagesReserved: BigInt(mem.hugepagesReserved),
    hugepagesSurplus: BigInt(mem.hugepagesSurplus),
    hugepageSizeKb: mem.hugepageSizeKb,
    memTotalKb: BigInt(mem.memTotalKb),
    memFreeKb: BigInt(mem.memFreeKb),
    memAvailableKb: BigInt(mem.memAvailableKb),
  });

  const instances = src.instances?.() ?? [];
  const scm = resp.scm!;
  try {
    const dcpm = src.engines.filter((e) => e.scm?.class === "dcpm");
    if (dcpm.length > 0) {
      // PMem cannot exist on these machines; a configured dcpm tier is a scan failure.
      scm.state = create(ResponseStateSchema, {
        status: ResponseStatus.CTL_ERR_SCM,
        error: NO_PMEM,
        info: `configured: ${dcpm.flatMap((e) => e.scm!.scmList).join(", ")}`,
      });
    }
    for (const [i, e] of src.engines.entries()) {
      if (e.scm?.class === "ram") {
        const inst = instances.find((x) => x.index === i);
        scm.namespaces.push(await ramNamespace(e, src, inst, req.scm?.usage ?? false));
      }
    }
  } catch (err) {
    scm.state = create(ResponseStateSchema, {
      status: ResponseStatus.CTL_ERR_SCM,
      error: `scm scan failed: ${errorText(err)}`,
    });
  }

  const nvme = resp.nvme!;
  try {
    const r = await scanNvme(req.nvme ?? create(ScanNvmeReqSchema, {}), src, deadline);
    nvme.ctrlrs = r.ctrlrs;
    if (r.error !== undefined) {
      nvme.state = create(ResponseStateSchema, {
        status: ResponseStatus.CTL_ERR_NVME,
        error: r.error,
      });
    }
  } catch (err) {
    nvme.state = create(ResponseStateSchema, {
      status: ResponseStatus.CTL_ERR_NVME,
      error: `nvme scan failed: ${errorText(err)}`,
    });
  }
  return resp;
}
