/**
 * NVMe devices from sysfs: the one scanner for StorageScan and the `--hardware` config check.
 * No SPDK here: this is what the kernel exposes.
 *
 * It walks the PCI bus (/sys/bus/pci/devices, class 0x0108xx = NVMe) so that devices bound to
 * vfio-pci or uio (handed to SPDK, invisible in /sys/class/nvme) are found too. A device bound
 * to the kernel nvme driver also has its controller under `<device>/nvme/nvme<N>/` (the
 * directory /sys/class/nvme/nvme<N> links to): model, serial, firmware and namespaces.
 * A host without a PCI bus in sysfs (containers) has no NVMe: that is an empty list, not an
 * error.
 */
import { listDir, readAttr, readIntAttr } from "./sysfs.ts";

/** One namespace of a controller. */
export interface NvmeNamespace {
  id: number;
  sizeBytes: number;
}

/** One NVMe controller driven by the kernel nvme driver. */
export interface NvmeCtrlr {
  pciAddr: string;
  model: string;
  serial: string;
  fwRev: string;
  socketId: number;
  namespaces: NvmeNamespace[];
}

/** One NVMe PCI device, whichever driver holds it. */
export interface NvmeDevice {
  pciAddr: string;
  vendorId: string;
  deviceId: string;
  numaNode: number;
  /** The kernel driver's controller; absent when the device is bound to vfio-pci/uio or none. */
  ctrlr?: NvmeCtrlr;
}

/** PCI class code prefix of NVMe controllers (mass storage, non-volatile memory). */
const NVME_CLASS_PREFIX = "0x0108";

/**
 * Every NVMe PCI device under `root` (default /sys), sorted by PCI address. Throws, naming the
 * directory, when the PCI device list exists but cannot be read (devices would otherwise be
 * reported missing instead of the real cause).
 */
export async function scanNvme(root = "/sys"): Promise<NvmeDevice[]> {
  const bus = `${root}/bus/pci/devices`;
  let names: string[];
  try {
    names = await listDir(bus);
  } catch (e) {
    throw new Error(
      `scanning NVMe controllers in ${bus} failed: ${e instanceof Error ? e.message : e}`,
    );
  }
  const out: NvmeDevice[] = [];
  for (const pciAddr of names) {
    const dir = `${bus}/${pciAddr}`;
    if (!((await readAttr(`${dir}/class`)) ?? "").startsWith(NVME_CLASS_PREFIX)) continue;
    const numa = await readIntAttr(`${dir}/numa_node`);
    const numaNode = numa !== undefined && numa >= 0 ? numa : 0;
    const dev: NvmeDevice = {
      pciAddr,
      vendorId: (await readAttr(`${dir}/vendor`)) ?? "",
      deviceId: (await readAttr(`${dir}/device`)) ?? "",
      numaNode,
    };
    const ctrlr = await readKernelCtrlr(dir, pciAddr, numaNode);
    if (ctrlr) dev.ctrlr = ctrlr;
    out.push(dev);
  }
  return out.sort((a, b) => (a.pciAddr < b.pciAddr ? -1 : a.pciAddr > b.pciAddr ? 1 : 0));
}

/** The kernel nvme driver's controller of the PCI device at `dir`, if it has one. */
async function readKernelCtrlr(
  dir: string,
  pciAddr: string,
  socketId: number,
): Promise<NvmeCtrlr | undefined> {
  const name = (await listDir(`${dir}/nvme`)).find((n) => /^nvme\d+$/.test(n));
  if (name === undefined) return undefined;
  const cdir = `${dir}/nvme/${name}`;
  const namespaces: NvmeNamespace[] = [];
  for (const ns of await listDir(cdir)) {
    const m = new RegExp(`^${name}n(\\d+)$`).exec(ns);
    if (!m) continue;
    // sysfs "size" is in 512-byte sectors regardless of the LBA format.
    const sectors = (await readIntAttr(`${cdir}/${ns}/size`)) ?? 0;
    namespaces.push({ id: Number(m[1]), sizeBytes: sectors * 512 });
  }
  namespaces.sort((a, b) => a.id - b.id);
  return {
    pciAddr,
    model: (await readAttr(`${cdir}/model`)) ?? "",
    serial: (await readAttr(`${cdir}/serial`)) ?? "",
    fwRev: (await readAttr(`${cdir}/firmware_rev`)) ?? "",
    socketId,
    namespaces,
  };
}

/** The controllers held by the kernel nvme driver under `root` (StorageScan's view). */
export async function readNvmeControllers(root = "/sys"): Promise<NvmeCtrlr[]> {
  return (await scanNvme(root)).flatMap((d) => d.ctrlr ? [d.ctrlr] : []);
}
