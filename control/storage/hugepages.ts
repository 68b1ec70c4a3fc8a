/**
 * Hugepage sizing (server.md §1.8): parsed, validated and reported only (no SPDK here), and
 * the per-engine `-r` / `-H` engine arguments derived from it.
 */
import type { EngineConfig, ServerConfig } from "../config/types.ts";

const GiB_KB = 1024 * 1024;

function mdOnSsd(e: EngineConfig): boolean {
  return e.bdevs.some((b) => b.roleBits !== 0);
}

/** Targets that need hugepage memory for one engine (0 without bdevs). */
export function engineHugeTargets(e: EngineConfig): number {
  if (e.bdevs.length === 0) return 0;
  // +1 for the extra sys xstream of MD-on-SSD, +1 for a single-target non-MD engine.
  return e.targets + (mdOnSsd(e) ? 1 : e.targets === 1 ? 1 : 0);
}

/** Minimum hugepages for one engine: 1 GiB per target ÷ page size. */
export function engineMinHugepages(e: EngineConfig, pageSizeKb: number): number {
  return Math.ceil((engineHugeTargets(e) * GiB_KB) / pageSizeKb);
}

/** Minimum hugepages for the host (at least 128 when no engine has bdevs, discovery). */
export function minHugepages(cfg: ServerConfig, pageSizeKb: number): number {
  const n = cfg.engines.reduce((s, e) => s + engineMinHugepages(e, pageSizeKb), 0);
  return n === 0 ? 128 : n;
}

/** The hugepage count to use: nr_hugepages, or the minimum when 0; notice when too low. */
export function hugepagePlan(
  cfg: ServerConfig,
  pageSizeKb: number,
): { count: number; notice: string } {
  const min = minHugepages(cfg, pageSizeKb);
  if (cfg.nrHugepages === 0) return { count: min, notice: "" };
  const notice = cfg.nrHugepages < min
    ? `nr_hugepages ${cfg.nrHugepages} is lower than the recommended minimum ${min}`
    : "";
  return { count: cfg.nrHugepages, notice };
}

/** `-r` (MiB) and `-H` (MiB) for an engine: only engines with bdevs get non-zero values. */
export function engineMemArgs(
  e: EngineConfig,
  pageSizeKb: number,
): { memSizeMiB: number; hugepageSizeMiB: number } {
  if (e.bdevs.length === 0) return { memSizeMiB: 0, hugepageSizeMiB: 0 };
  const pageMiB = pageSizeKb / 1024;
  return { memSizeMiB: engineMinHugepages(e, pageSizeKb) * pageMiB, hugepageSizeMiB: pageMiB };
}
