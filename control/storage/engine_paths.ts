/** Where an engine's control files live (server.md §1.7 "Derived per-engine files", §2.1). */
import type { EngineConfig } from "../config/types.ts";

/** Directory holding the engine's superblock (and daos_nvme.conf). */
export function engineMetadataDir(e: EngineConfig): string {
  if (e.controlMetadataPath !== "") {
    return `${e.controlMetadataPath.replace(/\/+$/, "")}/daos_control/engine${e.index}`;
  }
  return e.scm?.scmMount ?? "/mnt/daos";
}

/** Path of daos_nvme.conf, or null when the engine has no bdev tiers. */
export function nvmeConfPath(e: EngineConfig): string | null {
  if (e.bdevs.length === 0) return null;
  return `${engineMetadataDir(e)}/daos_nvme.conf`;
}
