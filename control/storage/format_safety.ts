/**
 * What format may destroy (issue 15 item 3). Format unmounts, removes or truncates only what
 * carries daos_server's own signature, unless --force; system paths never, not even with it.
 *
 * Signatures ("ours"):
 * - SCM: a tmpfs mounted with source {@link SCM_TMPFS_SOURCE}, or a tmpfs holding a valid
 *   superblock (mounts made before the source name was introduced).
 * - File bdevs: the header {@link BDEV_MAGIC} at offset 0, written by format after fallocate
 *   (no xattrs: tmpfs/overlay support for user xattrs varies, and Deno cannot set them). The
 *   engine here never writes bdev contents, so the header survives; an empty file has nothing
 *   to lose and counts as ours.
 *
 * Every check here runs before any destructive step; the destructive code re-checks right
 * before acting (defence in depth, the layout may change in between).
 */
import type { EngineConfig, ServerConfig } from "../config/types.ts";
import { storageAreas, type StorageOverlap, storageOverlaps } from "../config/storage_overlap.ts";
import { type Fault, makeFault } from "../lib/fault.ts";
import { normalizePath, systemPathReason } from "../lib/system_paths.ts";
import { allMounts, type MountEntry, SCM_TMPFS_SOURCE } from "./mounts.ts";
import { signatures } from "./block_signatures.ts";
import { readSuperblock } from "./superblock.ts";
import { entryPathOf, realPathOf } from "./real_path.ts";

export { entryPathOf, realPathOf };

/** Magic at offset 0 of every file bdev daos_server created. */
export const BDEV_MAGIC = "DAOS_AIO_BDEV v1\n";
/** Size of the header block holding {@link BDEV_MAGIC} (zero padded). */
export const BDEV_HEADER_BYTES = 4096;

/** A hazard: the device/path concerned and the fault (description + resolution). */
export interface FormatHazard {
  /** "scm" for scm_mount, "bdev" for a bdev_list entry. */
  kind: "scm" | "bdev";
  path: string;
  fault: Fault;
}

const FORCE_FIX = "or retry with --force if its contents may be destroyed";

/** The device (`major:minor`) of the root filesystem, "" when unknown. */
export function rootDev(mounts: MountEntry[]): string {
  return mounts.find((m) => m.mountPoint === "/")?.dev ?? "";
}

/** A system path (lexically or after symlinks), or null. Refused even with --force. */
export async function systemPathFault(key: string, path: string): Promise<Fault | null> {
  const real = await realPathOf(path);
  const why = systemPathReason(path) ??
    (real !== normalizePath(path) ? systemPathReason(real) : null);
  if (why === null) return null;
  return makeFault(
    "StoragePathAccessDenied",
    `${key} ${path}: refusing to format a system path (${why}${
      real !== normalizePath(path) ? `, resolved as ${real}` : ""
    })`,
    key !== "bdev_list"
      ? `set ${key} to a dedicated directory such as ${
        key === "scm_mount" ? "/mnt/daos0" : "/var/daos/config"
      }`
      : "list files in a dedicated directory such as /var/daos (block devices belong in a " +
        "class kdev tier)",
  );
}

/** True when the tmpfs mounted at `m` is daos_server's (see the module comment). */
export async function isOurTmpfs(m: MountEntry): Promise<boolean> {
  if (m.fsType !== "tmpfs") return false;
  if (m.source === SCM_TMPFS_SOURCE) return true;
  return await readSuperblock(m.mountPoint).then((sb) => sb !== null, () => false);
}

function kindOf(st: Deno.FileInfo): string {
  if (st.isSymlink) return "a symbolic link";
  if (st.isBlockDevice) return "a block device";
  if (st.isCharDevice) return "a character device";
  if (st.isFifo) return "a FIFO";
  if (st.isSocket) return "a socket";
  return "a special file";
}

/**
 * The hazard of formatting `path` as an SCM tmpfs mount point, or null when it is safe: absent,
 * an empty directory, or our tmpfs; with `force` also a foreign mount, a non-empty directory
 * (mounted over, not removed), a regular file or a symlink (removed). Never a system path, a
 * mount of the root filesystem or a device.
 */
export async function scmMountHazard(path: string, force: boolean): Promise<Fault | null> {
  const key = "scm_mount";
  const sys = await systemPathFault(key, path);
  if (sys) return sys;
  const mounts = await allMounts();
  // Where the mount table names it: a symlinked parent (/var/daos -> /data/daos) resolved.
  const want = await entryPathOf(path);
  const here = mounts.filter((m) => m.mountPoint === want);
  const root = rootDev(mounts);
  // Stacked mounts: format unmounts from the top, so every layer must be acceptable.
  for (const m of here.reverse()) {
    if (root !== "" && m.dev === root) {
      return makeFault(
        "StorageFilesystemAlreadyMounted",
        `${key} ${path} is a mount point of the root filesystem (${m.source}, ${m.fsType}); ` +
          "format never unmounts it",
        "set scm_mount to a dedicated directory that is not a mount point",
      );
    }
    if (await isOurTmpfs(m)) continue;
    if (!force) {
      return makeFault(
        "StorageFilesystemAlreadyMounted",
        `${key} ${path} is a mount point of ${m.fsType} "${m.source}" not created by ` +
          "daos_server; format would unmount it",
        `unmount it or set scm_mount to another directory, ${FORCE_FIX}`,
      );
    }
  }
  if (here.length > 0) return null;
  const st = await Deno.lstat(path).catch(() => null);
  if (st === null) return null;
  if (st.isDirectory) {
    let entries = 0;
    for await (const _ of Deno.readDir(path)) entries++;
    if (entries === 0 || force) return null;
    return makeFault(
      "StoragePathAccessDenied",
      `${key} ${path} is a directory holding ${entries} entries; the tmpfs would hide them`,
      `empty or move the directory, or set scm_mount to an empty one, ${FORCE_FIX}`,
    );
  }
  if (st.isFile || st.isSymlink) {
    if (force) return null;
    return makeFault(
      "StoragePathAccessDenied",
      `${key} ${path} is ${
        st.isFile ? `a regular file (${st.size} bytes)` : "a symbolic link"
      }; format would replace it by a directory`,
      `remove or move it, or set scm_mount to a directory, ${FORCE_FIX}`,
    );
  }
  return makeFault(
    "StoragePathAccessDenied",
    `${key} ${path} is ${kindOf(st)}; format never replaces it`,
    "set scm_mount to a dedicated directory such as /mnt/daos0",
  );
}

/** True when the file at `path` starts with {@link BDEV_MAGIC}. */
export async function hasBdevMagic(path: string): Promise<boolean> {
  return (await readBdevHeader(path)) !== null;
}

/** Header line naming the engine a file bdev was made for (its resolved scm_mount). */
export const BDEV_OWNER_PREFIX = "owner=";

/**
 * The header of a file bdev: null when it does not start with {@link BDEV_MAGIC}, else the
 * owner written after it ("" for files made before owners were recorded).
 */
export async function readBdevHeader(path: string): Promise<{ owner: string } | null> {
  const want = new TextEncoder().encode(BDEV_MAGIC);
  let f: Deno.FsFile | null = null;
  try {
    f = await Deno.open(path, { read: true });
    const buf = new Uint8Array(BDEV_HEADER_BYTES);
    let got = 0;
    while (got < buf.length) {
      const n = await f.read(buf.subarray(got));
      if (n === null) break;
      got += n;
    }
    if (got < want.length || !want.every((b, i) => buf[i] === b)) return null;
    const rest = new TextDecoder().decode(buf.subarray(want.length, got));
    const line = rest.slice(0, rest.indexOf("\n") < 0 ? 0 : rest.indexOf("\n"));
    return {
      owner: line.startsWith(BDEV_OWNER_PREFIX) ? line.slice(BDEV_OWNER_PREFIX.length) : "",
    };
  } catch {
    return null;
  } finally {
    f?.close();
  }
}

/** The owner recorded in the bdev files of engine `e`: its scm_mount, resolved. */
export async function bdevOwnerOf(e: EngineConfig): Promise<string> {
  return e.scm ? await realPathOf(e.scm.scmMount) : "";
}

/**
 * The hazard of (re)creating the AIO file `path`, or null when it is safe: absent, empty or
 * ours; with `force` also a foreign regular file (truncated). Never a system path, a mount
 * point, a directory, a device or a symlink.
 */
export async function bdevFileHazard(
  path: string,
  force: boolean,
  owner = "",
): Promise<Fault | null> {
  const key = "bdev_list";
  const sys = await systemPathFault(key, path);
  if (sys) return sys;
  const want = await entryPathOf(path);
  if ((await allMounts()).some((m) => m.mountPoint === want)) {
    return makeFault(
      "StorageFilesystemAlreadyMounted",
      `${key} ${path} is a mount point; format never writes through it`,
      "unmount it or list another file in bdev_list",
    );
  }
  const st = await Deno.lstat(path).catch(() => null);
  if (st === null) return null;
  if (st.isFile) {
    // Truncating one name of a hard-linked file truncates all of them (a link to /etc/shadow
    // lies outside every path check); our files have one name.
    if ((st.nlink ?? 1) > 1 && st.size > 0) {
      return makeFault(
        "StoragePathAccessDenied",
        `${key} ${path} is a file with ${st.nlink} names (hard links); format would truncate ` +
          "the data under every name",
        "list a new file path in bdev_list (format creates it)",
      );
    }
    if (st.size === 0 || force) return null;
    const header = await readBdevHeader(path);
    // Another engine's file (another daos_server on this host, or a config slip): ours by
    // magic, not by owner.
    if (header !== null && header.owner !== "" && owner !== "" && header.owner !== owner) {
      return makeFault(
        "StorageAlreadyFormatted",
        `${key} ${path} is the AIO file of the engine with scm_mount ${header.owner}; ` +
          "format would truncate it",
        `list a file of this engine in bdev_list, ${FORCE_FIX}`,
      );
    }
    if (header !== null) return null;
    return makeFault(
      "StorageAlreadyFormatted",
      `${key} ${path} is a file holding ${st.size} bytes not written by daos_server; ` +
        "format would truncate it",
      `move the file away or list another path in bdev_list, ${FORCE_FIX}`,
    );
  }
  if (st.isDirectory) {
    return makeFault(
      "StoragePathAccessDenied",
      `${key} ${path} is a directory; class file needs a file path`,
      "list a file path (it is created by format) in bdev_list",
    );
  }
  return makeFault(
    "StoragePathAccessDenied",
    `${key} ${path} is ${kindOf(st)}; class file formats regular files only`,
    st.isBlockDevice
      ? "use class kdev for block devices"
      : "list a regular file path (it is created by format) in bdev_list",
  );
}

/** `major:minor` of block device `name` and of its partitions, from sysfs. */
async function blockDevs(name: string): Promise<{ name: string; dev: string }[]> {
  const base = `/sys/class/block/${name}`;
  const read = (p: string) => Deno.readTextFile(p).then((t) => t.trim(), () => "");
  const out = [{ name, dev: await read(`${base}/dev`) }];
  try {
    for await (const e of Deno.readDir(base)) {
      if (e.name.startsWith(name) && (await read(`${base}/${e.name}/partition`)) !== "") {
        out.push({ name: e.name, dev: await read(`${base}/${e.name}/dev`) });
      }
    }
  } catch { /* no sysfs entry: only the device itself */ }
  return out.filter((d) => d.dev !== "");
}

/**
 * The hazard of handing block device `path` (class kdev) to an engine, which owns all of it:
 * mounted (itself or a partition), used as swap or held by another device (LVM, md, dm) —
 * refused even with --force; holding a filesystem or partition table — refused without it.
 * Null for what is not a block device (the format reports that, naming the device).
 */
export async function kdevHazard(path: string, force: boolean): Promise<Fault | null> {
  const key = "bdev_list";
  const st = await Deno.stat(path).catch(() => null);
  if (!st?.isBlockDevice) return null;
  const name = (await realPathOf(path)).split("/").pop() ?? "";
  const devs = await blockDevs(name);
  const mounts = await allMounts();
  for (const d of devs) {
    const m = mounts.find((x) => x.dev === d.dev);
    if (m) {
      return makeFault(
        "StorageDeviceAlreadyMounted",
        `${key} ${path} (class kdev)${d.name !== name ? ` has partition ${d.name}` : ""} ` +
          `mounted at ${m.mountPoint}; an engine would overwrite a filesystem in use`,
        `unmount it and wipe it (wipefs -a ${path}), or list another device in bdev_list`,
      );
    }
  }
  const swaps = await Deno.readTextFile("/proc/swaps").catch(() => "");
  const holders = [];
  for (const d of devs) {
    try {
      for await (const h of Deno.readDir(`/sys/class/block/${d.name}/holders`)) {
        holders.push(h.name);
      }
    } catch { /* no holders directory: none */ }
    if (swaps.split("\n").some((l) => l.split(/\s+/)[0].endsWith(`/${d.name}`))) {
      holders.push("swap");
    }
  }
  if (holders.length > 0) {
    return makeFault(
      "StorageDeviceAlreadyMounted",
      `${key} ${path} (class kdev) is in use by ${holders.join(", ")}; an engine would ` +
        "overwrite it",
      "release it (swapoff, lvremove, mdadm --stop) or list another device in bdev_list",
    );
  }
  if (force) return null;
  const sig = await signatures(path).catch(() => ({ type: "", ptType: "" }));
  const what = sig.ptType !== ""
    ? `a ${sig.ptType} partition table`
    : sig.type !== ""
    ? `a ${sig.type} filesystem`
    : "";
  if (what === "") return null;
  return makeFault(
    "StorageAlreadyFormatted",
    `${key} ${path} (class kdev) holds ${what} not written by daos_server; an engine would ` +
      "overwrite it",
    `wipe it yourself (wipefs -a ${path}) or list another device in bdev_list, ${FORCE_FIX}`,
  );
}

/**
 * Every hazard of formatting engine `e` (its scm_mount, and file bdevs when `bdevs`), checked
 * before anything is touched.
 */
export async function engineFormatHazards(
  e: EngineConfig,
  force: boolean,
  bdevs = true,
): Promise<FormatHazard[]> {
  const out: FormatHazard[] = [];
  if (e.scm?.class === "ram") {
    const f = await scmMountHazard(e.scm.scmMount, force);
    if (f) out.push({ kind: "scm", path: e.scm.scmMount, fault: f });
  }
  if (!bdevs) return out;
  const owner = await bdevOwnerOf(e);
  for (const t of e.bdevs) {
    if (t.class !== "file" && t.class !== "kdev") continue;
    for (const d of t.bdevList) {
      const f = t.class === "file"
        ? await bdevFileHazard(d, force, owner)
        : await kdevHazard(d, force);
      if (f) out.push({ kind: "bdev", path: d, fault: f });
    }
  }
  return out;
}

/**
 * Overlaps among the storage areas of `cfg` (scm_mounts, file bdevs, control metadata) with
 * symlinks resolved: a path reached through a link into another engine's area. Refused even
 * with --force: it is a configuration error, formatting one area destroys the other.
 */
export async function resolvedStorageOverlaps(cfg: ServerConfig): Promise<StorageOverlap[]> {
  const areas = storageAreas(cfg);
  const real = new Map<string, string>();
  for (const x of areas) real.set(x.path, await realPathOf(x.path));
  return storageOverlaps(areas, (p) => real.get(p) ?? normalizePath(p));
}
