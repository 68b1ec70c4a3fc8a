/**
 * What the control-metadata format may destroy (issue 15 item 3, for control_metadata): it
 * unmounts `path` and runs mkfs.ext4 on `device`. Ours = the device carries no signature, or an
 * ext4 whose root holds nothing but lost+found and daos_control. Everything else needs --force;
 * a device in use elsewhere, a mount of the root filesystem and system paths never.
 */
import type { ControlMetadataPlace } from "./control_metadata.ts";
import { controlMetadataFault, type Fault, makeFault } from "../lib/fault.ts";
import { runTool } from "./command.ts";
import { entryPathOf, realPathOf, rootDev, systemPathFault } from "./format_safety.ts";
import { allMounts } from "./mounts.ts";
import { sbin, signatures } from "./block_signatures.ts";

const FORCE_FIX = "or retry with --force if its contents may be destroyed";

/** Names in the root directory of an (unmounted or mounted) ext4, read-only via debugfs. */
async function ext4RootNames(device: string): Promise<string[]> {
  const text = await runTool(
    sbin("debugfs"),
    ["-R", "ls -p /", device],
    (d) => controlMetadataFault("ControlMetadataUnknown", d),
  );
  // `ls -p` lines: /inode/mode/uid/gid/name/size/
  return text.split("\n").map((l) => l.split("/")[5]).filter((n): n is string =>
    n !== undefined && n !== "" && n !== "." && n !== ".."
  );
}

/**
 * The hazard of formatting control metadata `cm` (null when safe). With `force` only what can
 * never be formatted is refused.
 */
export async function controlMetadataHazard(
  cm: ControlMetadataPlace,
  force: boolean,
): Promise<Fault | null> {
  // Without a device only <path>/daos_control (ours by name) is replaced; nothing is mounted.
  if (cm.path === "" || cm.device === "") return null;
  const sys = await systemPathFault("control_metadata.path", cm.path);
  if (sys) return sys;
  const st = await Deno.stat(cm.device).catch(() => null);
  if (!st?.isBlockDevice) return null; // the format reports it, naming the device
  const mounts = await allMounts();
  const path = await entryPathOf(cm.path);
  const dev = await realPathOf(cm.device);
  const root = rootDev(mounts);
  for (const m of mounts) {
    const isDev = m.source.startsWith("/") && await realPathOf(m.source) === dev;
    if (isDev && m.mountPoint !== path) {
      return makeFault(
        "StorageDeviceAlreadyMounted",
        `control_metadata.device ${cm.device} is mounted at ${m.mountPoint}; format never ` +
          "reformats a device in use",
        "unmount it or set control_metadata.device to an unused device",
      );
    }
    if (m.mountPoint !== path || isDev) continue;
    if (root !== "" && m.dev === root) {
      return makeFault(
        "StorageFilesystemAlreadyMounted",
        `control_metadata.path ${cm.path} is a mount point of the root filesystem; format ` +
          "never unmounts it",
        "set control_metadata.path to a dedicated directory that is not a mount point",
      );
    }
    if (!force) {
      return makeFault(
        "StorageFilesystemAlreadyMounted",
        `control_metadata.path ${cm.path} is a mount point of ${m.fsType} "${m.source}", not ` +
          `of ${cm.device}; format would unmount it`,
        `unmount it or set control_metadata.path to another directory, ${FORCE_FIX}`,
      );
    }
  }
  if (force) return null;
  const sig = await signatures(cm.device);
  if (sig.ptType !== "") {
    return makeFault(
      "StorageAlreadyFormatted",
      `control_metadata.device ${cm.device} holds a ${sig.ptType} partition table; mkfs ` +
        "would destroy its partitions",
      `use one partition (e.g. ${cm.device}p1) as the device, ${FORCE_FIX}`,
    );
  }
  if (sig.type === "") return null;
  if (sig.type !== "ext4") {
    return makeFault(
      "StorageAlreadyFormatted",
      `control_metadata.device ${cm.device} holds a ${sig.type} filesystem not made by ` +
        "daos_server; mkfs would destroy it",
      `wipe it yourself (wipefs) or use another device, ${FORCE_FIX}`,
    );
  }
  const names = await ext4RootNames(cm.device).catch(() => null);
  const foreign = names?.filter((n) => n !== "lost+found" && n !== "daos_control") ?? ["?"];
  if (foreign.length === 0) return null;
  return makeFault(
    "StorageAlreadyFormatted",
    `control_metadata.device ${cm.device} holds an ext4 filesystem with data not written by ` +
      `daos_server (${names === null ? "its root could not be read" : foreign.join(", ")})`,
    `move the data away or use another device, ${FORCE_FIX}`,
  );
}
