/**
 * SCM formatting (server.md §3.4): ram = tmpfs at scm_mount, re-created on reformat and
 * unmounted on erase; dcpm cannot be formatted here (no PMem, fault 211).
 */
import type { EngineConfig, ScmTier } from "../config/types.ts";
import { type Fault, makeFault, scmFault } from "../lib/fault.ts";
import { isOurTmpfs, scmMountHazard } from "./format_safety.ts";
import { type KernelConfig, kernelHas } from "./kernel_config.ts";
import { findMount, mountTmpfs, unmountOnce } from "./mounts.ts";

/** Fault 211: no PMem on this machine. */
export function noPmemFault(): Fault {
  return scmFault(
    "ScmNoPMem",
    "No PMem modules exist on storage server",
    "Install PMem modules and retry command, or use class ram for the SCM tier",
  );
}

/** tmpfs mount options for a ram tier (mpol only with CONFIG_NUMA; huge only if enabled). */
export function tmpfsOptions(
  scm: ScmTier,
  sizeGiB: number,
  numaNode: number,
  kcfg: KernelConfig,
): string[] {
  if (sizeGiB <= 0) {
    throw scmFault(
      "ScmFormatInvalidSize",
      `invalid ram-disk size ${sizeGiB} GiB for ${scm.scmMount}`,
      "set scm_size (GiB) in the server config",
    );
  }
  const opts: string[] = [];
  if (kernelHas(kcfg, "CONFIG_NUMA")) opts.push(`mpol=prefer:${numaNode}`);
  opts.push(`size=${sizeGiB}g`);
  if (scm.scmHugepagesDisabled === false) {
    if (!kernelHas(kcfg, "CONFIG_TRANSPARENT_HUGEPAGE")) {
      throw scmFault(
        "ScmHugepagesNotSupported",
        "huge pages are not supported by this kernel (CONFIG_TRANSPARENT_HUGEPAGE)",
        "remove scm_hugepages_disabled: false from the server config",
      );
    }
    opts.push("huge=always");
  }
  return opts;
}

/**
 * Makes `path` a directory to mount on. Only reached after {@link scmMountHazard} allowed it:
 * an existing directory is kept as it is (never removed: it may hold data under --force), a
 * regular file or symlink (only with --force) is replaced.
 */
async function makeMountPoint(path: string): Promise<void> {
  try {
    const st = await Deno.lstat(path).catch(() => null);
    if (st?.isDirectory) return;
    if (st !== null) await Deno.remove(path);
    await Deno.mkdir(path, { recursive: true, mode: 0o775 });
  } catch (e) {
    throw makeFault(
      "ScmPathAccessDenied",
      `cannot prepare SCM mount point ${path}: ${(e as Error).message}`,
      "make sure the mount point is an empty directory (or absent) and writable by root",
    );
  }
}

/**
 * Unmounts what is mounted at `path`, top first, re-checking before each unmount that the
 * layer may go (ours, or --force and not the root filesystem).
 */
async function unmountForFormat(path: string, force: boolean): Promise<void> {
  for (let i = 0; i < 8 && (await findMount(path)) !== null; i++) {
    const bad = await scmMountHazard(path, force);
    if (bad) throw bad;
    await unmountOnce(path);
  }
}

/**
 * Formats one engine's SCM tier: checks the mount point may be formatted, unmounts, prepares
 * the mount point and mounts our tmpfs. `force` (--force) allows replacing what is not ours.
 */
export async function formatScm(
  e: EngineConfig,
  sizeGiB: number,
  kcfg: KernelConfig,
  force = false,
): Promise<void> {
  const scm = e.scm;
  if (!scm) throw scmFault("ScmConfigTierMissing", "missing SCM storage tier");
  if (scm.class === "dcpm") throw noPmemFault();
  const opts = tmpfsOptions(scm, sizeGiB, e.pinnedNumaNode ?? 0, kcfg);
  // Before any destructive step: nothing not ours is touched without --force, system paths never.
  const bad = await scmMountHazard(scm.scmMount, force);
  if (bad) throw bad;
  await unmountForFormat(scm.scmMount, force);
  await makeMountPoint(scm.scmMount);
  await mountTmpfs(scm.scmMount, opts);
  await Deno.chmod(scm.scmMount, 0o775);
  const m = await findMount(scm.scmMount);
  if (m?.fsType !== "tmpfs") {
    throw scmFault("ScmUnknown", `tmpfs not mounted at ${scm.scmMount}`);
  }
}

/** Unmounts an engine's ram tier (erase / reset-format); the directory is left in place. */
export async function eraseScm(e: EngineConfig): Promise<void> {
  if (e.scm?.class !== "ram") return;
  const path = e.scm.scmMount;
  // Only our tmpfs layers: a mount someone else put at scm_mount is not erase's to remove.
  for (let i = 0; i < 8; i++) {
    const m = await findMount(path);
    if (m === null || !(await isOurTmpfs(m))) return;
    await unmountOnce(path);
  }
}
