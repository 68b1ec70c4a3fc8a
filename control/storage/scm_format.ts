/**
 * SCM formatting (server.md §3.4): ram = tmpfs at scm_mount, re-created on reformat and
 * unmounted on erase; dcpm cannot be formatted here (no PMem, fault 211).
 */
import type { EngineConfig, ScmTier } from "../config/types.ts";
import { Fault } from "../lib/fault.ts";
import { type KernelConfig, kernelHas } from "./kernel_config.ts";
import { findMount, mountTmpfs, unmountIfMounted } from "./mounts.ts";

/** Fault 211: no PMem on this machine. */
export function noPmemFault(): Fault {
  return new Fault({
    domain: "scm",
    code: 211,
    description: "No PMem modules exist on storage server",
    resolution: "Install PMem modules and retry command, or use class ram for the SCM tier",
  });
}

/** tmpfs mount options for a ram tier (mpol only with CONFIG_NUMA; huge only if enabled). */
export function tmpfsOptions(
  scm: ScmTier,
  sizeGiB: number,
  numaNode: number,
  kcfg: KernelConfig,
): string[] {
  if (sizeGiB <= 0) {
    throw new Fault({
      domain: "scm",
      code: 201,
      description: `invalid ram-disk size ${sizeGiB} GiB for ${scm.scmMount}`,
      resolution: "set scm_size (GiB) in the server config",
    });
  }
  const opts: string[] = [];
  if (kernelHas(kcfg, "CONFIG_NUMA")) opts.push(`mpol=prefer:${numaNode}`);
  opts.push(`size=${sizeGiB}g`);
  if (scm.scmHugepagesDisabled === false) {
    if (!kernelHas(kcfg, "CONFIG_TRANSPARENT_HUGEPAGE")) {
      throw new Fault({
        domain: "scm",
        code: 218,
        description: "huge pages are not supported by this kernel (CONFIG_TRANSPARENT_HUGEPAGE)",
        resolution: "remove scm_hugepages_disabled: false from the server config",
      });
    }
    opts.push("huge=always");
  }
  return opts;
}

async function makeMountPoint(path: string): Promise<void> {
  if (path === "/" || !path.startsWith("/")) {
    throw new Fault({
      domain: "scm",
      code: 203,
      description: `refusing to use "${path}" as an SCM mount point`,
      resolution: "set scm_mount to a dedicated absolute directory such as /mnt/daos0",
    });
  }
  try {
    // Remove an empty leftover mount point, then re-create every component 0775.
    await Deno.remove(path).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    await Deno.mkdir(path, { recursive: true, mode: 0o775 });
  } catch (e) {
    throw new Fault({
      domain: "scm",
      code: 207,
      description: `cannot prepare SCM mount point ${path}: ${(e as Error).message}`,
      resolution:
        "make sure the mount point is an empty directory (or absent) and writable by root",
    });
  }
}

/** Formats one engine's SCM tier: unmount, re-create the mount point, mount the tmpfs. */
export async function formatScm(
  e: EngineConfig,
  sizeGiB: number,
  kcfg: KernelConfig,
): Promise<void> {
  const scm = e.scm;
  if (!scm) throw new Fault({ domain: "scm", code: 216, description: "missing SCM storage tier" });
  if (scm.class === "dcpm") throw noPmemFault();
  const opts = tmpfsOptions(scm, sizeGiB, e.pinnedNumaNode ?? 0, kcfg);
  await unmountIfMounted(scm.scmMount);
  await makeMountPoint(scm.scmMount);
  await mountTmpfs(scm.scmMount, opts);
  await Deno.chmod(scm.scmMount, 0o775);
  const m = await findMount(scm.scmMount);
  if (m?.fsType !== "tmpfs") {
    throw new Fault({
      domain: "scm",
      code: 200,
      description: `tmpfs not mounted at ${scm.scmMount}`,
    });
  }
}

/** Unmounts an engine's ram tier (erase / reset-format); the directory is left in place. */
export async function eraseScm(e: EngineConfig): Promise<void> {
  if (e.scm?.class === "ram") await unmountIfMounted(e.scm.scmMount);
}
