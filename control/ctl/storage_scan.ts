/**
 * ctl.CtlSvc/StorageScan: memory and hugepages (/proc/meminfo), SCM from the configured tiers
 * (ram: tmpfs usage via statfs; dcpm: no PMem on these machines), NVMe controllers from sysfs.
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

/** Rank value of "no rank yet" (re-exported for callers of the scan). */
export const NIL_RANK = NilRank;
const GIB = 1024n ** 3n;

/** Text DAOS reports when no PMem is present. */
export const NO_PMEM = "no PMem modules/namespaces found";

/** Where the scan gets its facts (replaceable in unit tests). */
export interface StorageScanSource {
  engines: readonly EngineConfig[];
  meminfo(): Promise<SysMemInfo>;
  nvme(): Promise<NvmeCtrlr[]>;
  mount(path: string): Promise<MountEntry | undefined>;
  usage(path: string): Promise<FsUsage>;
}

/** The real host, for the engines of daos_server.yml. */
export function hostStorageSource(engines: readonly EngineConfig[]): StorageScanSource {
  return {
    engines,
    meminfo: () => readMeminfo(),
    nvme: () => readNvmeControllers(),
    mount: (p) => findMount(p),
    usage: (p) => statfs(p),
  };
}

async function ramNamespace(engine: EngineConfig, src: StorageScanSource): Promise<ScmNamespace> {
  const tier = engine.scm!;
  const mounted = await src.mount(tier.scmMount);
  const usage = mounted?.fsType === "tmpfs" ? await src.usage(tier.scmMount) : undefined;
  const configured = BigInt(tier.scmSize) * GIB;
  return create(ScmNamespaceSchema, {
    blockdev: "ramdisk",
    dev: tier.scmMount,
    numaNode: engine.pinnedNumaNode ?? 0,
    // Auto-sized (scm_size 0) ram disks have a size only once mounted.
    size: configured > 0n ? configured : BigInt(usage?.totalBytes ?? 0),
    mount: {
      path: tier.scmMount,
      class: "ram",
      totalBytes: BigInt(usage?.totalBytes ?? 0),
      availBytes: BigInt(usage?.availBytes ?? 0),
      rank: NIL_RANK,
    },
  });
}

function nvmeController(
  c: NvmeCtrlr,
  basic: boolean,
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
  });
  if (basic) return ctrlr;
  ctrlr.model = c.model;
  ctrlr.serial = c.serial;
  ctrlr.fwRev = c.fwRev;
  // A configured controller is annotated with its tier's roles; no engine runs yet: nil rank.
  for (const e of engines) {
    for (const t of e.bdevs) {
      if (t.class === "nvme" && t.bdevList.includes(c.pciAddr)) {
        ctrlr.smdDevices.push(create(SmdDeviceSchema, { rank: NIL_RANK, roleBits: t.roleBits }));
      }
    }
  }
  return ctrlr;
}

/** Answers StorageScan. Part failures are reported in that part's state, not as an RPC error. */
export async function storageScan(
  req: StorageScanReq,
  src: StorageScanSource,
): Promise<StorageScanResp> {
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
    for (const e of src.engines) {
      if (e.scm?.class === "ram") scm.namespaces.push(await ramNamespace(e, src));
    }
  } catch (err) {
    scm.state = create(ResponseStateSchema, {
      status: ResponseStatus.CTL_ERR_SCM,
      error: `scm scan failed: ${err instanceof Error ? err.message : String(err)}`,
    });
  }

  const nvme = resp.nvme!;
  try {
    const basic = req.nvme?.Basic ?? false;
    nvme.ctrlrs = (await src.nvme()).map((c) => nvmeController(c, basic, src.engines));
  } catch (err) {
    nvme.state = create(ResponseStateSchema, {
      status: ResponseStatus.CTL_ERR_NVME,
      error: `nvme scan failed: ${err instanceof Error ? err.message : String(err)}`,
    });
  }
  return resp;
}
