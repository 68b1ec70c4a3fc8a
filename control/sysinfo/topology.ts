/** NUMA topology from sysfs: node count and cores per node. */
import { listDir, parseCpuList, readAttr } from "./sysfs.ts";

/** NUMA node count and CPUs per node (as DAOS reports them in NetworkScan). */
export interface NumaTopology {
  numaCount: number;
  coresPerNuma: number;
}

/** Reads the topology under `root` (default /sys); a machine without NUMA info is one node. */
export async function readTopology(root = "/sys"): Promise<NumaTopology> {
  const nodes = (await listDir(`${root}/devices/system/node`)).filter((n) => /^node\d+$/.test(n));
  const online = await readAttr(`${root}/devices/system/cpu/online`);
  const cpus = online !== undefined ? parseCpuList(online).length : navigator.hardwareConcurrency;
  const numaCount = Math.max(1, nodes.length);
  return { numaCount, coresPerNuma: Math.floor(cpus / numaCount) };
}
