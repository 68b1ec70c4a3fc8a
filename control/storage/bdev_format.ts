/**
 * Bdev preparation (server.md §3.5): file = fallocated file of bdev_size GiB (4 KiB aligned,
 * mode 0660); kdev = must be an existing block device; nvme = scanned from sysfs, but format
 * needs SPDK, which is not available here.
 */
import type { BdevTier } from "../config/types.ts";
import { bdevFault, Fault, makeFault } from "../lib/fault.ts";
import { statfs } from "../sysinfo/statfs.ts";
import {
  BDEV_HEADER_BYTES,
  BDEV_MAGIC,
  BDEV_OWNER_PREFIX,
  bdevFileHazard,
  kdevHazard,
} from "./format_safety.ts";
import { runTool } from "./command.ts";

/** Result of preparing one device. */
export interface DeviceResult {
  device: string;
  roleBits: number;
  error: string;
}

const GiB = 1 << 30;

/** Size in bytes of a file bdev: bdev_size GiB rounded down to a multiple of 4096. */
export function fileBdevBytes(sizeGiB: number): number {
  return Math.floor((sizeGiB * GiB) / 4096) * 4096;
}

/** Dependencies of {@link prepareBdevFile}; injectable so tests can shrink the free space. */
export interface BdevFileEnv {
  /** Free bytes (for unprivileged users, as statfs f_bavail) of the filesystem holding `dir`. */
  availBytes(dir: string): Promise<number>;
}

const realEnv: BdevFileEnv = { availBytes: async (dir) => (await statfs(dir)).availBytes };

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

function gib(bytes: number): string {
  return `${(bytes / GiB).toFixed(2)} GiB`;
}

/** Fault 302 for AIO file `path`. */
function fileFault(path: string, sizeGiB: number, why: string, fix: string, cause?: unknown) {
  return makeFault(
    "BdevFormatFailure",
    `format of AIO file ${path} (${sizeGiB} GiB) failed: ${why}`,
    fix,
    cause,
  );
}

function noSpaceFault(path: string, sizeGiB: number, bytes: number, avail: number): Fault {
  const dir = dirOf(path);
  return fileFault(
    path,
    sizeGiB,
    `not enough space: ${bytes} bytes (${gib(bytes)}) asked for, ${avail} bytes (${
      gib(avail)
    }) available in ${dir}`,
    `free space in ${dir}, lower bdev_size or list a file on a larger filesystem`,
  );
}

/**
 * Space check of a tier's files before anything is formatted: files on one filesystem are
 * summed (what re-creating existing files gives back counted). One fault per file that does
 * not fit, in list order; [] when all fit.
 */
export async function bdevSpaceFaults(
  t: BdevTier,
  env: BdevFileEnv = realEnv,
): Promise<{ device: string; fault: Fault }[]> {
  if (t.class !== "file") return [];
  const out: { device: string; fault: Fault }[] = [];
  const left = new Map<number, number>(); // filesystem (st_dev) -> bytes still free
  for (const d of t.bdevList) {
    const dir = dirOf(d);
    const st = await Deno.stat(dir).catch(() => null);
    if (st === null) continue; // reported by the format itself, naming the directory
    const fs = st.dev;
    if (!left.has(fs)) left.set(fs, await env.availBytes(dir).catch(() => Infinity));
    const old = await Deno.lstat(d).catch(() => null);
    const free = left.get(fs)! + (old?.isFile ? (old.blocks ?? 0) * 512 : 0);
    const bytes = fileBdevBytes(t.bdevSize);
    if (bytes > free) out.push({ device: d, fault: noSpaceFault(d, t.bdevSize, bytes, free) });
    left.set(fs, free - bytes);
  }
  return out;
}

/** Writes the signature header ({@link BDEV_MAGIC}, the owner line, zero padded) at 0. */
async function writeHeader(path: string, owner: string): Promise<void> {
  const block = new Uint8Array(BDEV_HEADER_BYTES);
  block.set(
    new TextEncoder().encode(
      BDEV_MAGIC + (owner === "" ? "" : `${BDEV_OWNER_PREFIX}${owner}\n`),
    ).subarray(0, BDEV_HEADER_BYTES),
  );
  using f = await Deno.open(path, { write: true });
  let done = 0;
  while (done < block.length) done += await f.write(block.subarray(done));
  await f.syncData();
}

/**
 * Creates (or re-creates) one AIO file of bdev_size GiB with our signature header. Refuses,
 * before touching anything, what {@link bdevFileHazard} refuses and a size above the free
 * space; a failed fallocate (ENOSPC included) is an error, and the half-made file is removed.
 */
export async function prepareBdevFile(
  path: string,
  sizeGiB: number,
  force = false,
  env: BdevFileEnv = realEnv,
  owner = "",
): Promise<void> {
  const bytes = fileBdevBytes(sizeGiB);
  const bad = await bdevFileHazard(path, force, owner);
  if (bad) throw bad;
  const before = await Deno.lstat(path).catch(() => null);
  // Space: what is free plus what re-creating our (or a forced) file gives back.
  const dir = dirOf(path);
  let avail: number;
  try {
    avail = await env.availBytes(dir);
  } catch (e) {
    throw fileFault(
      path,
      sizeGiB,
      `cannot read the free space of ${dir}: ${(e as Error).message}`,
      "create the directory of the file first",
      e,
    );
  }
  const reclaim = before?.isFile ? (before.blocks ?? 0) * 512 : 0;
  if (bytes > avail + reclaim) throw noSpaceFault(path, sizeGiB, bytes, avail + reclaim);
  let touched = false;
  try {
    const f = await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o660 });
    touched = true;
    f.close();
    try {
      await runTool(
        "fallocate",
        ["-l", String(bytes), path],
        (d) => bdevFault("BdevFormatFailure", d),
      );
    } catch (e) {
      // Only a filesystem without fallocate gets a sparse file (its space was checked above);
      // ENOSPC and every other failure is an error.
      if (!/not supported/i.test((e as Error).message)) throw e;
      await Deno.truncate(path, bytes);
    }
    await writeHeader(path, owner);
    await Deno.chmod(path, 0o660);
  } catch (e) {
    // Remove only what this call created or emptied: a regular file (never a directory or a
    // device), and never a file we could not even open (its contents are intact).
    const st = await Deno.lstat(path).catch(() => null);
    if (touched && st?.isFile) await Deno.remove(path).catch(() => {});
    throw fileFault(
      path,
      sizeGiB,
      e instanceof Fault ? e.description : (e as Error).message,
      "check the directory exists and has enough free space for bdev_size",
      e,
    );
  }
}

/** Checks a kdev path is an existing block device. */
export async function checkKdev(path: string): Promise<void> {
  const st = await Deno.stat(path).catch(() => null);
  if (!st) {
    throw bdevFault(
      "BdevNotFound",
      `kdev ${path} not found`,
      "create the block device (e.g. losetup) or fix bdev_list",
    );
  }
  if (!st.isBlockDevice) {
    throw bdevFault(
      "BdevFormatFailure",
      `kdev ${path} is not a block device`,
      "list block devices (/dev/...) in bdev_list for class kdev, or use class file",
    );
  }
}

/** The fault for formatting real NVMe without SPDK. */
export function nvmeNeedsSpdkFault(addr: string): Fault {
  return bdevFault(
    "BdevFormatFailure",
    `format of NVMe SSD ${addr} needs SPDK, which is not available on this server`,
    "use class file or kdev bdev tiers on this machine",
  );
}

/**
 * Formats every device of a tier; per-device results (never throws). `force` = --force,
 * `owner` = the engine's resolved scm_mount, recorded in (and checked against) file headers.
 */
export async function formatBdevTier(
  t: BdevTier,
  force = false,
  owner = "",
): Promise<DeviceResult[]> {
  const out: DeviceResult[] = [];
  for (const d of t.bdevList) {
    let error = "";
    try {
      if (t.class === "file") await prepareBdevFile(d, t.bdevSize, force, realEnv, owner);
      else if (t.class === "kdev") {
        await checkKdev(d);
        // Re-checked right before the device is handed over (the layout may have changed).
        const bad = await kdevHazard(d, force);
        if (bad) throw bad;
      } else throw nvmeNeedsSpdkFault(d);
    } catch (e) {
      error = e instanceof Fault ? e.description : (e as Error).message;
    }
    out.push({ device: d, roleBits: t.roleBits, error });
  }
  return out;
}
