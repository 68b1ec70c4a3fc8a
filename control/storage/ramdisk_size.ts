/**
 * RAM-disk sizing rules (server.md §1.8) over the /proc/meminfo figures of sysinfo/meminfo.ts
 * (the one meminfo parser).
 */
import type { ServerConfig } from "../config/types.ts";
import { scmFault } from "../lib/fault.ts";
import type { SysMemInfo } from "../sysinfo/meminfo.ts";

const GiB = 1 << 30;
/** Minimum RAM-disk size (§1.7). */
export const MIN_RAMDISK_GIB = 4;

/**
 * Auto RAM-disk size in GiB per engine: (MemTotal − hugepage memory − system_ram_reserved −
 * Σ engine reserve) / engines, engine reserve = max(targets × 128 MiB, 1 GiB). Below 4 GiB →
 * fault 214 ScmRamdiskLowMem.
 */
export function autoRamdiskGiB(cfg: ServerConfig, mem: SysMemInfo): number {
  const n = cfg.engines.length;
  const total = mem.memTotalKb * 1024;
  const huge = mem.hugepagesTotal * mem.hugepageSizeKb * 1024;
  const reserve = cfg.engines.reduce((s, e) => s + Math.max(e.targets * 128 * (1 << 20), GiB), 0);
  const avail = total - huge - cfg.systemRamReserved * GiB - reserve;
  const per = Math.floor(avail / Math.max(n, 1) / GiB);
  if (per < MIN_RAMDISK_GIB) {
    throw scmFault(
      "ScmRamdiskLowMem",
      `Total memory (RAM) insufficient for creating ram-disk: ${
        (total / GiB).toFixed(1)
      } GiB total, ${cfg.systemRamReserved} GiB reserved for the system, ${n} engine(s) need at least ${MIN_RAMDISK_GIB} GiB each`,
      "set scm_size explicitly or lower system_ram_reserved in the server config",
    );
  }
  return per;
}

/** The RAM-disk size in GiB for an engine's ram tier (configured or auto). */
export function ramdiskGiB(cfg: ServerConfig, scmSize: number, mem: SysMemInfo): number {
  return scmSize > 0 ? scmSize : autoRamdiskGiB(cfg, mem);
}
