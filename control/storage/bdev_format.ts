/**
 * Bdev preparation (server.md §3.5): file = fallocated file of bdev_size GiB (4 KiB aligned,
 * mode 0660); kdev = must be an existing block device; nvme = scanned from sysfs, but format
 * needs SPDK, which is not available here.
 */
import type { BdevTier } from "../config/types.ts";
import { Fault } from "../lib/fault.ts";
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

/** Creates (or truncates) and fallocates one AIO file; on failure the file is removed. */
export async function prepareBdevFile(path: string, sizeGiB: number): Promise<void> {
  const bytes = fileBdevBytes(sizeGiB);
  try {
    const f = await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o660 });
    f.close();
    try {
      await runTool("fallocate", ["-l", String(bytes), path], {
        domain: "bdev",
        code: 302,
        resolution: "",
      });
    } catch {
      await Deno.truncate(path, bytes); // filesystems without fallocate: sparse file
    }
    await Deno.chmod(path, 0o660);
  } catch (e) {
    // Remove only a regular file (ours); never a directory or device someone put there.
    const st = await Deno.lstat(path).catch(() => null);
    if (st?.isFile) await Deno.remove(path).catch(() => {});
    throw new Fault({
      domain: "bdev",
      code: 302,
      description: `format of AIO file ${path} (${sizeGiB} GiB) failed: ${(e as Error).message}`,
      resolution: "check the directory exists and has enough free space for bdev_size",
    });
  }
}

/** Checks a kdev path is an existing block device. */
export async function checkKdev(path: string): Promise<void> {
  const st = await Deno.stat(path).catch(() => null);
  if (!st) {
    throw new Fault({
      domain: "bdev",
      code: 304,
      description: `kdev ${path} not found`,
      resolution: "create the block device (e.g. losetup) or fix bdev_list",
    });
  }
  if (!st.isBlockDevice) {
    throw new Fault({
      domain: "bdev",
      code: 302,
      description: `kdev ${path} is not a block device`,
      resolution: "list block devices (/dev/...) in bdev_list for class kdev, or use class file",
    });
  }
}

/** The fault for formatting real NVMe without SPDK. */
export function nvmeNeedsSpdkFault(addr: string): Fault {
  return new Fault({
    domain: "bdev",
    code: 302,
    description: `format of NVMe SSD ${addr} needs SPDK, which is not available on this server`,
    resolution: "use class file or kdev bdev tiers on this machine",
  });
}

/** Formats every device of a tier; per-device results (never throws). */
export async function formatBdevTier(t: BdevTier): Promise<DeviceResult[]> {
  const out: DeviceResult[] = [];
  for (const d of t.bdevList) {
    let error = "";
    try {
      if (t.class === "file") await prepareBdevFile(d, t.bdevSize);
      else if (t.class === "kdev") await checkKdev(d);
      else throw nvmeNeedsSpdkFault(d);
    } catch (e) {
      error = e instanceof Fault ? e.description : (e as Error).message;
    }
    out.push({ device: d, roleBits: t.roleBits, error });
  }
  return out;
}

/** An NVMe controller seen in sysfs. */
export interface SysfsNvme {
  pciAddr: string;
  vendorId: string;
  deviceId: string;
  numaNode: number;
}

/** Lists NVMe controllers (PCI class 0x0108xx) under `root` (default /sys/bus/pci/devices). */
export async function scanNvmeSysfs(root = "/sys/bus/pci/devices"): Promise<SysfsNvme[]> {
  const out: SysfsNvme[] = [];
  const read = (p: string) => Deno.readTextFile(p).then((s) => s.trim(), () => "");
  try {
    for await (const d of Deno.readDir(root)) {
      const cls = await read(`${root}/${d.name}/class`);
      if (!cls.startsWith("0x0108")) continue;
      const numa = Number(await read(`${root}/${d.name}/numa_node`));
      out.push({
        pciAddr: d.name,
        vendorId: await read(`${root}/${d.name}/vendor`),
        deviceId: await read(`${root}/${d.name}/device`),
        numaNode: Number.isInteger(numa) && numa >= 0 ? numa : 0,
      });
    }
  } catch (e) {
    // No PCI bus in sysfs (containers) means no NVMe; any other failure (e.g. permissions)
    // must surface, or devices would be reported missing instead of the real cause.
    if (e instanceof Deno.errors.NotFound) return [];
    throw new Error(
      `scanning NVMe controllers in ${root} failed: ${e instanceof Error ? e.message : e}`,
    );
  }
  return out.sort((a, b) => a.pciAddr.localeCompare(b.pciAddr));
}
