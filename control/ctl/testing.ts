/** Test doubles for the scans: a fixed /proc/meminfo and a storage source without a host. */
import type { EngineConfig } from "../config/types.ts";
import type { SysMemInfo } from "../sysinfo/meminfo.ts";
import type { StorageScanSource } from "./storage_scan.ts";

/** A small host's memory: 4 hugepages of 2 MiB (3 free), 1000 kB of RAM; `over` replaces. */
export function fakeMeminfo(over: Partial<SysMemInfo> = {}): SysMemInfo {
  return {
    hugepagesTotal: 4,
    hugepagesFree: 3,
    hugepagesReserved: 0,
    hugepagesSurplus: 0,
    hugepageSizeKb: 2048,
    memTotalKb: 1000,
    memFreeKb: 500,
    memAvailableKb: 600,
    ...over,
  };
}

/**
 * A storage scan source for `engines`: {@link fakeMeminfo}, no NVMe, nothing mounted;
 * `over` replaces any part.
 */
export function fakeStorageSource(
  engines: EngineConfig[],
  over: Partial<StorageScanSource> = {},
): StorageScanSource {
  return {
    engines,
    meminfo: () => Promise.resolve(fakeMeminfo()),
    nvme: () => Promise.resolve([]),
    mount: () => Promise.resolve(undefined),
    usage: () => Promise.reject(new Error("not mounted")),
    ...over,
  };
}
