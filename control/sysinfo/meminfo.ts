/**
 * System memory and hugepage counters from /proc/meminfo (values in KiB, pages as counts): the
 * one meminfo parser, for StorageScan, the RAM-disk sizing (storage/ramdisk_size.ts), the
 * `--hardware` config check and the engines' hugepage size.
 */

/** The /proc/meminfo fields the control plane reads. */
export interface SysMemInfo {
  hugepagesTotal: number;
  hugepagesFree: number;
  hugepagesReserved: number;
  hugepagesSurplus: number;
  hugepageSizeKb: number;
  memTotalKb: number;
  memFreeKb: number;
  memAvailableKb: number;
}

const FIELDS: Record<string, keyof SysMemInfo> = {
  HugePages_Total: "hugepagesTotal",
  HugePages_Free: "hugepagesFree",
  HugePages_Rsvd: "hugepagesReserved",
  HugePages_Surp: "hugepagesSurplus",
  Hugepagesize: "hugepageSizeKb",
  MemTotal: "memTotalKb",
  MemFree: "memFreeKb",
  MemAvailable: "memAvailableKb",
};

/**
 * Parses the text of /proc/meminfo. Lines look like `MemTotal:  16314424 kB`. Throws when
 * MemTotal is missing (the file is not a meminfo file).
 */
export function parseMeminfo(text: string): SysMemInfo {
  const out: SysMemInfo = {
    hugepagesTotal: 0,
    hugepagesFree: 0,
    hugepagesReserved: 0,
    hugepagesSurplus: 0,
    hugepageSizeKb: 0,
    memTotalKb: 0,
    memFreeKb: 0,
    memAvailableKb: 0,
  };
  let sawTotal = false;
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z_()]+):\s+(\d+)/.exec(line);
    if (!m) continue;
    const key = FIELDS[m[1]];
    if (!key) continue;
    out[key] = Number(m[2]);
    if (key === "memTotalKb") sawTotal = true;
  }
  if (!sawTotal) throw new Error("meminfo: no MemTotal line found");
  return out;
}

/** Reads and parses /proc/meminfo (or `path`). */
export async function readMeminfo(path = "/proc/meminfo"): Promise<SysMemInfo> {
  return parseMeminfo(await Deno.readTextFile(path));
}
