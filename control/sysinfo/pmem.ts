/**
 * Persistent memory as the kernel's libnvdimm exposes it (/sys/bus/nd/devices): NVDIMM
 * devices (`nmemN`) and namespaces (`namespaceR.N`) with their block device (`pmemN`). This is
 * what `daos_server scm scan` reports without ipmctl/ndctl; machines without PMem have an
 * empty (or absent) nd bus, which is "no PMem", not an error.
 */
import { listDir, readAttr, readIntAttr } from "./sysfs.ts";

/** One PMem namespace with a block device. */
export interface PmemNamespace {
  uuid: string;
  /** Block device name, e.g. "pmem0". */
  blockdev: string;
  /** namespace name, e.g. "namespace0.0". */
  dev: string;
  numaNode: number;
  sizeBytes: number;
  /** fsdax, devdax, sector or raw. */
  mode: string;
}

/** NVDIMM count and the namespaces that have a block device, under `root` (default /sys). */
export async function readPmem(root = "/sys"): Promise<{
  modules: number;
  namespaces: PmemNamespace[];
}> {
  const bus = `${root}/bus/nd/devices`;
  const names = await listDir(bus);
  const modules = names.filter((n) => /^nmem\d+$/.test(n)).length;
  const namespaces: PmemNamespace[] = [];
  for (const dev of names.filter((n) => /^namespace\d+\.\d+$/.test(n)).sort()) {
    const dir = `${bus}/${dev}`;
    const size = (await readIntAttr(`${dir}/size`)) ?? 0;
    // Seed namespaces (size 0) are placeholders libnvdimm keeps per region.
    if (size === 0) continue;
    const blockdev = (await listDir(`${dir}/block`))[0];
    if (blockdev === undefined) continue;
    const numa = await readIntAttr(`${dir}/numa_node`);
    namespaces.push({
      uuid: (await readAttr(`${dir}/uuid`)) ?? "",
      blockdev,
      dev,
      numaNode: numa !== undefined && numa >= 0 ? numa : 0,
      sizeBytes: size,
      mode: (await readAttr(`${dir}/mode`)) ?? "",
    });
  }
  return { modules, namespaces };
}
