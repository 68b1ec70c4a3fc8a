/**
 * Text of the local storage scans (`daos_server storage|scm|nvme scan`): the reference's
 * pretty.PrintNvmeControllers / PrintScmModules / PrintScmNamespaces tables plus a memory
 * block, and the -j payloads (the HostStorage fields dmg uses for the same data).
 */
import type { StorageScanResp } from "../../proto/gen/ts/ctl/storage_pb.ts";
import {
  formatNvmeControllers,
  formatScmBlock,
  storageJson,
} from "../../cli/printers/storage_scan.ts";
import type { GoJsonValue } from "../../cli/output/gojson.ts";
import { formatIBytes } from "../lib/sizes.ts";

export { formatNvmeControllers };

/** The SCM table daos_server prints: dmg's without the module UID/part/health columns. */
export function formatScm(resp: StorageScanResp): string {
  return formatScmBlock(resp, false);
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
