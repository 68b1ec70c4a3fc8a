/**
 * Text of the local storage scans (`daos_server storage|scm|nvme scan`): the reference's
 * pretty.PrintNvmeControllers / PrintScmModules / PrintScmNamespaces tables plus a memory
 * block, and the -j payloads (the HostStorage fields dmg uses for the same data).
 */
import type { NvmeController } from "../../proto/gen/ts/ctl/smd_pb.ts";
import type { StorageScanResp } from "../../proto/gen/ts/ctl/storage_pb.ts";
import { storageJson } from "../../cli/printers/storage_scan.ts";
import type { GoJsonValue } from "../../cli/output/gojson.ts";
import { compareBytes } from "../lib/hostlist.ts";
import { NilRank } from "../lib/rankset.ts";
import { formatBytes, formatIBytes } from "../lib/sizes.ts";
import { formatTable } from "../lib/txtfmt.ts";

function ctrlrCapacity(c: NvmeController): bigint {
  return c.namespaces.reduce((s, ns) => s + ns.size, 0n);
}

function roleNames(bits: number): string {
  const names = ([[1, "data"], [2, "meta"], [4, "wal"]] as const)
    .filter(([b]) => (bits & b) !== 0).map(([, n]) => n);
  return names.length > 0 ? names.join(",") : "NA";
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

/** The SCM namespace table when there are namespaces, else the module table or `No SCM modules found`. */
export function formatScm(resp: StorageScanResp): string {
  const ns = [...(resp.scm?.namespaces ?? [])].sort((a, b) => compareBytes(a.blockdev, b.blockdev));
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
  const mods = [...(resp.scm?.modules ?? [])].sort((a, b) => a.physicalid - b.physicalid);
  if (mods.length === 0) return "  No SCM modules found\n";
  return formatTable(
    ["SCM Module", "Socket", "Memory Ctrlr", "Channel", "Channel Slot", "Capacity"],
    mods.map((m) => ({
      "SCM Module": String(m.physicalid),
      Socket: String(m.socketid),
      "Memory Ctrlr": String(m.controllerid),
      Channel: String(m.channelid),
      "Channel Slot": String(m.channelposition),
      Capacity: formatIBytes(m.capacity),
    })),
  );
}

/** System memory and hugepages (/proc/meminfo) as the scan found them. */
export function formatMemory(resp: StorageScanResp): string {
  const m = resp.memInfo;
  if (!m) return "";
  return `HugePage Size: ${m.hugepageSizeKb} KB\n` +
    `Hugepages: ${m.hugepagesTotal} total, ${m.hugepagesFree} free, ` +
    `${m.hugepagesReserved} reserved, ${m.hugepagesSurplus} surplus\n` +
    `Memory: ${formatIBytes(m.memTotalKb * 1024n)} total, ` +
    `${formatIBytes(m.memAvailableKb * 1024n)} available\n`;
}

/** `daos_server storage scan` text after the "Scanning…" line. */
export function formatStorageScan(resp: StorageScanResp): string {
  return "\n" + formatNvmeControllers(resp.nvme?.ctrlrs ?? []) + "\n" + formatScm(resp) + "\n" +
    formatMemory(resp);
}

/** -j payloads: the whole HostStorage, or only its SCM or NVMe part. */
export function storageScanJson(resp: StorageScanResp, part: "all" | "scm" | "nvme"): GoJsonValue {
  const all = storageJson(resp) as Record<string, GoJsonValue>;
  if (part === "scm") return { scm_modules: all.scm_modules, scm_namespaces: all.scm_namespaces };
  if (part === "nvme") return { nvme_devices: all.nvme_devices };
  return all;
}
