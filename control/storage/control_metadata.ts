/**
 * The MD-on-SSD control metadata store (server.md §1.5, §3.2, §3.3): `control_metadata.path`,
 * optionally on its own block device (`control_metadata.device`) that daos_server formats ext4
 * and mounts at the path. Layout: `<path>/daos_control/engine<N>/`.
 *
 * The device stays mounted once formatted or found ext4 (the superblocks and daos_nvme.conf
 * live on it while engines run); erase unmounts it.
 */
import type { ControlMetadataConfig } from "../config/types.ts";

/** The parts of control_metadata used here. */
export type ControlMetadataPlace = Pick<ControlMetadataConfig, "path" | "device">;
import { controlMetadataFault, type Fault } from "../lib/fault.ts";
import { runTool } from "./command.ts";
import { blkidProbe, sbin } from "./block_signatures.ts";
import { findMount, unmountIfMounted } from "./mounts.ts";

const CM_RESOLUTION = "check control_metadata.device and control_metadata.path, and that " +
  "daos_server runs as root";

function cmFault(description: string, resolution = CM_RESOLUTION): Fault {
  return controlMetadataFault("ControlMetadataUnknown", description, resolution);
}

function clean(path: string): string {
  return path.replace(/\/+$/, "") || "/";
}

/** `<path>/daos_control`, the root of the per-engine metadata directories. */
export function controlRoot(path: string): string {
  return `${clean(path)}/daos_control`;
}

/** Filesystem type and label found on a block device by probing it; type "" when none. */
export async function probeDevice(device: string): Promise<{ type: string; label: string }> {
  const out = await blkidProbe(device).catch((e: Error) => {
    throw cmFault(`running blkid on ${device} failed: ${e.message}`);
  });
  // blkid exits 2 when the device carries no recognizable signature.
  if (out.code === 2) return { type: "", label: "" };
  if (!out.success) throw cmFault(`blkid -p ${device}: ${out.stderr || `exit code ${out.code}`}`);
  return { type: out.values.get("TYPE") ?? "", label: out.values.get("LABEL") ?? "" };
}

async function checkDevice(device: string): Promise<void> {
  const st = await Deno.stat(device).catch(() => null);
  if (st === null) {
    throw cmFault(
      `control_metadata.device ${device} does not exist`,
      "set control_metadata.device to an existing block device, or remove it",
    );
  }
  if (!st.isBlockDevice) {
    throw cmFault(
      `control_metadata.device ${device} is not a block device`,
      "set control_metadata.device to a block device (e.g. /dev/nvme0n1p1), or remove it " +
        "to keep the metadata in a directory",
    );
  }
}

function checkPath(path: string): void {
  if (!path.startsWith("/") || clean(path) === "/") {
    throw cmFault(
      `refusing to use "${path}" as the control metadata mount point`,
      "set control_metadata.path to a dedicated absolute directory such as /var/daos/config",
    );
  }
}

/** Mounts an ext4 device at `path` unless it already is; false when the device is not ext4. */
export async function mountControlMetadata(cm: ControlMetadataPlace): Promise<boolean> {
  if (cm.device === "" || cm.path === "") return true;
  const m = await findMount(cm.path);
  if (m !== null && m.fsType === "ext4") return true;
  await checkDevice(cm.device);
  if ((await probeDevice(cm.device)).type !== "ext4") return false;
  checkPath(cm.path);
  await Deno.mkdir(cm.path, { recursive: true, mode: 0o775 });
  await runTool("mount", ["-t", "ext4", "-o", "noatime", cm.device, clean(cm.path)], cmFault);
  return true;
}

/**
 * True when the control metadata must be formatted: the device carries no ext4, or
 * `<path>/daos_control` is missing (the device is mounted for the check and stays mounted).
 */
export async function controlMetadataNeedsFormat(cm: ControlMetadataPlace): Promise<boolean> {
  if (cm.path === "") return false;
  if (cm.device !== "" && !(await mountControlMetadata(cm))) return true;
  return !(await Deno.stat(controlRoot(cm.path)).then((s) => s.isDirectory, () => false));
}

/**
 * Formats the control metadata: with a device, unmount, `mkfs.ext4 -q` (keeping an existing
 * label) and mount it at the path; then re-create `daos_control/engine<N>` (0775).
 */
export async function formatControlMetadata(
  cm: ControlMetadataPlace,
  engineIndexes: readonly number[],
): Promise<void> {
  checkPath(cm.path);
  if (cm.device !== "") {
    await checkDevice(cm.device);
    const { label } = await probeDevice(cm.device);
    await unmountIfMounted(cm.path);
    await Deno.mkdir(cm.path, { recursive: true, mode: 0o775 });
    // -F: a device with an old filesystem would otherwise make mkfs ask for confirmation.
    const args = ["-q", "-F", ...(label !== "" ? ["-L", label] : []), cm.device];
    await runTool(
      sbin("mkfs.ext4"),
      args,
      (d) => cmFault(d, "check that the device is not in use and that e2fsprogs is installed"),
    );
    if (!(await mountControlMetadata(cm))) {
      throw cmFault(`${cm.device} carries no ext4 filesystem after mkfs.ext4`);
    }
  }
  const root = controlRoot(cm.path);
  await Deno.remove(root, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  for (const i of engineIndexes) {
    await Deno.mkdir(`${root}/engine${i}`, { recursive: true, mode: 0o775 });
  }
}

/** Erase: unmounts the control metadata device (the directory is left in place). */
export async function eraseControlMetadata(cm: ControlMetadataPlace): Promise<void> {
  if (cm.device !== "" && cm.path !== "") await unmountIfMounted(cm.path);
}
