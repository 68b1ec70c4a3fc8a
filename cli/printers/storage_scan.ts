/**
 * `dmg storage scan` output (dmg.md §5.8): per-host part failures turned into host errors,
 * hosts grouped by storage content (volatile fields ignored), the summary table, the verbose
 * and NVMe-health blocks, and the -j payload.
 */
import { clone, create, toJsonString } from "@bufbuild/protobuf";
import {
  type BioHealthResp,
  LedState,
  type NvmeController,
  NvmeControllerSchema,
  NvmeDevState,
  type SmdDevice,
} from "../../proto/gen/ts/ctl/smd_pb.ts";
import { type StorageScanResp, StorageScanRespSchema } from "../../proto/gen/ts/ctl/storage_pb.ts";
import { compareBytes, stripPorts } from "../../control/lib/hostlist.ts";
import { NilRank } from "../../control/lib/rankset.ts";
import type { PayloadGroup } from "../../control/lib/rpc/group.ts";
import { formatBytes, formatIBytes } from "../../control/lib/sizes.ts";
import { formatTable } from "../../control/lib/txtfmt.ts";
import type { GoJsonValue } from "../output/gojson.ts";
import { plural } from "../../control/lib/txtfmt.ts";
import { hostSetHeader } from "./host_block.ts";
import { formatNvmeHealth } from "./nvme_health.ts";
import { roleNames } from "./storage_format.ts";

/**
 * Canonical text of a host's storage for grouping: serial numbers, namespace UUIDs, free
 * hugepage/memory counters and free space are volatile; lists compare as sets.
 */
export function storageFingerprint(resp: StorageScanResp): string {
  const c = clone(StorageScanRespSchema, resp);
  if (c.memInfo) {
    c.memInfo.hugepagesFree = 0n;
    c.memInfo.memFreeKb = 0n;
    c.memInfo.memAvailableKb = 0n;
  }
  if (c.nvme) {
    c.nvme.state = undefined;
    for (const ctrlr of c.nvme.ctrlrs) {
      ctrlr.serial = "";
      ctrlr.healthStats = undefined;
    }
    c.nvme.ctrlrs.sort((a, b) => compareBytes(a.pciAddr, b.pciAddr));
  }
  if (c.scm) {
    c.scm.state = undefined;
    for (const ns of c.scm.namespaces) {
      ns.uuid = "";
      if (ns.mount) {
        ns.mount.availBytes = 0n;
        ns.mount.usableBytes = 0n;
      }
    }
    c.scm.namespaces.sort((a, b) => compareBytes(a.blockdev + a.dev, b.blockdev + b.dev));
    c.scm.modules.sort((a, b) => a.physicalid - b.physicalid);
  }
  return toJsonString(StorageScanRespSchema, c);
}

function ctrlrCapacity(c: NvmeController): bigint {
  return c.namespaces.reduce((s, ns) => s + ns.size, 0n);
}

function scmTotal(s: StorageScanResp): string {
  const ns = s.scm?.namespaces ?? [];
  if (ns.length > 0) {
    return `${formatBytes(ns.reduce((a, n) => a + n.size, 0n))} (${
      plural(ns.length, "namespace")
    })`;
  }
  const mods = s.scm?.modules ?? [];
  return `${formatIBytes(mods.reduce((a, m) => a + m.capacity, 0n))} (${
    plural(mods.length, "module")
  })`;
}

function nvmeTotal(s: StorageScanResp): string {
  const cs = s.nvme?.ctrlrs ?? [];
  const total = cs.reduce((a, c) => a + ctrlrCapacity(c), 0n);
  return `${formatBytes(total)} (${plural(cs.length, "controller")})`;
}

/** The default table: `Hosts | SCM Total | NVMe Total`, one row per group. */
export function formatScanTable(groups: readonly PayloadGroup<StorageScanResp>[]): string {
  return formatTable(
    ["Hosts", "SCM Total", "NVMe Total"],
    groups.map((g) => ({
      Hosts: stripPorts(g.hosts.toString()),
      "SCM Total": scmTotal(g.payload),
      "NVMe Total": nvmeTotal(g.payload),
    })),
  );
}

/**
 * The SCM namespace table when there are namespaces, else the module table (with UID, part
 * number and health when `moduleDetails`: dmg prints them, daos_server does not) or
 * `  No SCM modules found`.
 */
export function formatScmBlock(s: StorageScanResp, moduleDetails: boolean): string {
  const ns = [...(s.scm?.namespaces ?? [])].sort((a, b) => compareBytes(a.blockdev, b.blockdev));
  if (ns.length > 0) {
    return formatTable(
      ["SCM Namespace", "Socket", "Capacity"],
      ns.map((n) => ({
        "SCM Namespace": n.blockdev,
        Socket: String(n.numaNode),
        Capacity: formatBytes(n.size),
      })),
    );
  }
  const mods = [...(s.scm?.modules ?? [])].sort((a, b) => a.physicalid - b.physicalid);
  if (mods.length === 0) return "  No SCM modules found\n";
  const columns = ["SCM Module", "Socket", "Memory Ctrlr", "Channel", "Channel Slot", "Capacity"];
  if (moduleDetails) columns.push("UID", "Part Number", "Health");
  return formatTable(
    columns,
    mods.map((m) => ({
      "SCM Module": String(m.physicalid),
      Socket: String(m.socketid),
      "Memory Ctrlr": String(m.controllerid),
      Channel: String(m.channelid),
      "Channel Slot": String(m.channelposition),
      Capacity: formatIBytes(m.capacity),
      UID: m.uid,
      "Part Number": m.partNumber,
      Health: m.healthState,
    })),
  );
}

/** The NVMe controller table, or `  No NVMe devices found`. */
export function formatNvmeControllers(ctrlrs: readonly NvmeController[]): string {
  const cs = [...ctrlrs].sort((a, b) => compareBytes(a.pciAddr, b.pciAddr));
  if (cs.length === 0) return "  No NVMe devices found\n";
  return formatTable(
    ["NVMe PCI", "Model", "FW Revision", "Socket", "Capacity", "Role(s)", "Rank"],
    cs.map((c) => {
      const smd = c.smdDevices[0];
      return {
        "NVMe PCI": c.pciAddr,
        Model: c.model,
        "FW Revision": c.fwRev,
        Socket: String(c.socketId),
        Capacity: formatBytes(ctrlrCapacity(c)),
        "Role(s)": smd ? roleNames(smd.roleBits) : "NA",
        Rank: smd && smd.rank !== NilRank ? String(smd.rank) : "None",
      };
    }),
  );
}

/** `-v`: per group the host header, hugepage size, SCM and NVMe tables. */
export function formatScanVerbose(groups: readonly PayloadGroup<StorageScanResp>[]): string {
  let out = "";
  for (const g of groups) {
    out += hostSetHeader(g.hosts.toString());
    out += `HugePage Size: ${g.payload.memInfo?.hugepageSizeKb ?? 0} KB\n\n`;
    out += formatScmBlock(g.payload, true) + "\n";
    out += formatNvmeControllers(g.payload.nvme?.ctrlrs ?? []) + "\n";
  }
  return out;
}

/**
 * `-n`: per group the controllers with their health report and an empty line each, or
 * `  No NVMe devices detected` (no empty line after it, as DAOS).
 */
export function formatScanHealth(groups: readonly PayloadGroup<StorageScanResp>[]): string {
  let out = "";
  for (const g of groups) {
    out += hostSetHeader(g.hosts.toString());
    const cs = g.payload.nvme?.ctrlrs ?? [];
    if (cs.length === 0) {
      out += "  No NVMe devices detected\n";
      continue;
    }
    for (const c of cs) {
      out += `PCI:${c.pciAddr} Model:${c.model} FW:${c.fwRev} Socket:${c.socketId} ` +
        `Capacity:${formatBytes(ctrlrCapacity(c))}\n`;
      out += formatNvmeHealth(c.healthStats) + "\n";
    }
  }
  return out;
}

/** One controller's health as DAOS's storage.NvmeHealth marshals it (null when absent). */
export function healthJson(h: BioHealthResp | undefined): GoJsonValue {
  if (!h) return null;
  return {
    timestamp: h.timestamp,
    warn_temp_time: h.warnTempTime,
    crit_temp_time: h.critTempTime,
    ctrl_busy_time: h.ctrlBusyTime,
    power_cycles: h.powerCycles,
    power_on_hours: h.powerOnHours,
    unsafe_shutdowns: h.unsafeShutdowns,
    media_errs: h.mediaErrs,
    err_log_entries: h.errLogEntries,
    bio_read_errs: h.bioReadErrs,
    bio_write_errs: h.bioWriteErrs,
    bio_unmap_errs: h.bioUnmapErrs,
    checksum_errs: h.checksumErrs,
    temperature: h.temperature,
    temp_warn: h.tempWarn,
    avail_spare_warn: h.availSpareWarn,
    dev_reliability_warn: h.devReliabilityWarn,
    read_only_warn: h.readOnlyWarn,
    volatile_mem_warn: h.volatileMemWarn,
    program_fail_cnt_norm: h.programFailCntNorm,
    program_fail_cnt_raw: h.programFailCntRaw,
    erase_fail_cnt_norm: h.eraseFailCntNorm,
    erase_fail_cnt_raw: h.eraseFailCntRaw,
    wear_leveling_cnt_norm: h.wearLevelingCntNorm,
    wear_leveling_cnt_min: h.wearLevelingCntMin,
    wear_leveling_cnt_max: h.wearLevelingCntMax,
    wear_leveling_cnt_avg: h.wearLevelingCntAvg,
    endtoend_err_cnt_raw: h.endtoendErrCntRaw,
    crc_err_cnt_raw: h.crcErrCntRaw,
    media_wear_raw: h.mediaWearRaw,
    host_reads_raw: h.hostReadsRaw,
    workload_timer_raw: h.workloadTimerRaw,
    thermal_throttle_status: h.thermalThrottleStatus,
    thermal_throttle_event_cnt: h.thermalThrottleEventCnt,
    retry_buffer_overflow_cnt: h.retryBufferOverflowCnt,
    pll_lock_loss_cnt: h.pllLockLossCnt,
    nand_bytes_written: h.nandBytesWritten,
    host_bytes_written: h.hostBytesWritten,
    link_port_id: h.linkPortId,
    link_max_speed: h.linkMaxSpeed,
    link_max_width: h.linkMaxWidth,
    link_neg_speed: h.linkNegSpeed,
    link_neg_width: h.linkNegWidth,
    percent_used: h.percentUsed,
  };
}

/**
 * One SMD device as DAOS's storage.SmdDevice marshals it (roles as names), with `ctrlr` as
 * the caller renders it (scan: an empty controller; SMD query: the device's own or null).
 */
export function smdJson(d: SmdDevice, ctrlr: GoJsonValue): GoJsonValue {
  return {
    uuid: d.uuid,
    tgt_ids: d.tgtIds.length > 0 ? [...d.tgtIds] : null,
    rank: d.rank,
    total_bytes: d.totalBytes,
    avail_bytes: d.availBytes,
    usable_bytes: d.usableBytes,
    cluster_size: d.clusterSize,
    meta_size: 0,
    meta_wal_size: 0,
    rdb_size: 0,
    rdb_wal_size: 0,
    roles: roleNames(d.roleBits),
    has_sys_xs: false,
    ctrlr,
    ctrlr_namespace_id: d.ctrlrNamespaceId,
  };
}

/** One controller as DAOS's storage.NvmeController marshals it. */
export function ctrlrJson(c: NvmeController): GoJsonValue {
  return {
    info: "",
    model: c.model,
    serial: c.serial,
    pci_addr: c.pciAddr,
    fw_rev: c.fwRev,
    vendor_id: c.vendorId,
    pci_type: c.pciDevType,
    socket_id: c.socketId,
    health_stats: healthJson(c.healthStats),
    namespaces: c.namespaces.map((n) => ({ id: n.id, size: n.size })),
    smd_devices: c.smdDevices.length > 0
      ? c.smdDevices.map((d) => smdJson(d, ctrlrJson(create(NvmeControllerSchema, {}))))
      : null,
    dev_state: NvmeDevState[c.devState],
    led_state: LedState[c.ledState],
  };
}

/** The `storage` object of one host set in the JSON payload. */
export function storageJson(s: StorageScanResp): GoJsonValue {
  const mods = s.scm?.modules ?? [];
  const nss = s.scm?.namespaces ?? [];
  const m = s.memInfo;
  return {
    nvme_devices: (s.nvme?.ctrlrs ?? []).map(ctrlrJson),
    scm_modules: mods.length > 0
      ? mods.map((x) => ({
        ChannelID: x.channelid,
        ChannelPosition: x.channelposition,
        ControllerID: x.controllerid,
        SocketID: x.socketid,
        PhysicalID: x.physicalid,
        Capacity: x.capacity,
        UID: x.uid,
        PartNumber: x.partNumber,
        FirmwareRevision: x.firmwareRevision,
        HealthState: x.healthState,
      }))
      : null,
    scm_namespaces: nss.length > 0
      ? nss.map((n) => ({
        uuid: n.uuid,
        blockdev: n.blockdev,
        dev: n.dev,
        numa_node: n.numaNode,
        size: n.size,
        mount: n.mount
          ? {
            class: n.mount.class,
            path: n.mount.path,
            total_bytes: n.mount.totalBytes,
            avail_bytes: n.mount.availBytes,
            usable_bytes: n.mount.usableBytes,
            rank: n.mount.rank,
          }
          : null,
      }))
      : null,
    scm_mount_points: null,
    smd_info: null,
    reboot_required: false,
    mem_info: m
      ? {
        hugepages_total: m.hugepagesTotal,
        hugepages_free: m.hugepagesFree,
        hugepages_reserved: m.hugepagesReserved,
        hugepages_surplus: m.hugepagesSurplus,
        hugepage_size_kb: m.hugepageSizeKb,
        mem_total_kb: m.memTotalKb,
        mem_free_kb: m.memFreeKb,
        mem_available_kb: m.memAvailableKb,
        numa_nodes: null,
      }
      : null,
  };
}
