/**
 * NVMe controllers from sysfs (/sys/class/nvme). No SPDK here: this is what the kernel driver
 * exposes. A host without NVMe has no /sys/class/nvme: that is an empty list, not an error.
 */
import { listDir, readAttr, readIntAttr } from "./sysfs.ts";

/** One namespace of a controller. */
export interface NvmeNamespace {
  id: number;
  sizeBytes: number;
}

/** One NVMe controller. */
export interface NvmeCtrlr {
  pciAddr: string;
  model: string;
  serial: string;
  fwRev: string;
  socketId: number;
  namespaces: NvmeNamespace[];
}

/** Reads every controller under `root` (default /sys), sorted by PCI address. */
export async function readNvmeControllers(root = "/sys"): Promise<NvmeCtrlr[]> {
  const out: NvmeCtrlr[] = [];
  for (const name of await listDir(`${root}/class/nvme`)) {
    const dir = `${root}/class/nvme/${name}`;
    const pciAddr = (await readAttr(`${dir}/address`)) ?? "";
    const numa = await readIntAttr(`${dir}/device/numa_node`);
    const namespaces: NvmeNamespace[] = [];
    for (const ns of await listDir(dir)) {
      const m = new RegExp(`^${name}n(\\d+)$`).exec(ns);
      if (!m) continue;
      // sysfs "size" is in 512-byte sectors regardless of the LBA format.
      const sectors = (await readIntAttr(`${dir}/${ns}/size`)) ?? 0;
      namespaces.push({ id: Number(m[1]), sizeBytes: sectors * 512 });
    }
    namespaces.sort((a, b) => a.id - b.id);
    out.push({
      pciAddr,
      model: (await readAttr(`${dir}/model`)) ?? "",
      serial: (await readAttr(`${dir}/serial`)) ?? "",
      fwRev: (await readAttr(`${dir}/firmware_rev`)) ?? "",
      socketId: numa !== undefined && numa >= 0 ? numa : 0,
      namespaces,
    });
  }
  return out.sort((a, b) => (a.pciAddr < b.pciAddr ? -1 : a.pciAddr > b.pciAddr ? 1 : 0));
}
