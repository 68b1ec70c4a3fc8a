/**
 * Network interfaces of this host as NetworkScan reports them: name, IPv4/IPv6 addresses,
 * NUMA node and device class from sysfs, and the fabric providers usable on each.
 */
import { listDir, readIntAttr } from "./sysfs.ts";

/** ARP hardware types (NetDevClass) DAOS prints numerically. */
export const NetDevClass = { ether: 1, infiniband: 32, loopback: 772 } as const;

/** One network interface. */
export interface NetInterface {
  name: string;
  addresses: string[];
  /** NUMA node of the backing device; 0 for virtual devices (sysfs says -1 or nothing). */
  numaNode: number;
  /** ARP hardware type from /sys/class/net/<if>/type. */
  netDevClass: number;
  /** Whether /sys/class/net/<if>/device/infiniband exists (an RDMA-capable HCA). */
  rdma: boolean;
}

/** An address as Deno.networkInterfaces() reports it (only the fields used here). */
export interface IfAddr {
  name: string;
  address: string;
  family: "IPv4" | "IPv6";
}

/**
 * Providers usable on an interface, most preferred first. TCP (with and without the RXM
 * utility provider) works on any interface with an IPv4 address; verbs needs an RDMA device.
 */
export function providersFor(iface: NetInterface): string[] {
  const out: string[] = [];
  const hasV4 = iface.addresses.some((a) => !a.includes(":"));
  if (iface.rdma && hasV4) out.push("ofi+verbs;ofi_rxm", "ofi+verbs");
  if (hasV4) out.push("ofi+tcp;ofi_rxm", "ofi+tcp");
  return out;
}

/**
 * Lists the interfaces that have at least one address, reading sysfs under `root`.
 * `addrs` defaults to Deno.networkInterfaces() (needs --allow-sys=networkInterfaces).
 */
export async function readInterfaces(
  root = "/sys",
  addrs: IfAddr[] = Deno.networkInterfaces(),
): Promise<NetInterface[]> {
  const byName = new Map<string, string[]>();
  for (const a of addrs) {
    const list = byName.get(a.name) ?? [];
    if (!list.includes(a.address)) list.push(a.address);
    byName.set(a.name, list);
  }
  const names = new Set([...await listDir(`${root}/class/net`), ...byName.keys()]);
  const out: NetInterface[] = [];
  for (const name of [...names].sort()) {
    const addresses = byName.get(name) ?? [];
    if (addresses.length === 0) continue;
    const dir = `${root}/class/net/${name}`;
    const numa = await readIntAttr(`${dir}/device/numa_node`);
    const type = await readIntAttr(`${dir}/type`);
    const rdma = (await listDir(`${dir}/device/infiniband`)).length > 0;
    out.push({
      name,
      addresses,
      numaNode: numa !== undefined && numa >= 0 ? numa : 0,
      netDevClass: type ?? NetDevClass.ether,
      rdma,
    });
  }
  return out;
}
