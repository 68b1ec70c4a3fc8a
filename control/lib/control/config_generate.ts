/**
 * `dmg config generate` behind the CLI (DAOS lib/control/auto.go ConfigGenerate): the hosts'
 * fabric (NetworkScan, all providers) and storage (StorageScan, basic NVMe) fanned out over an
 * Invoker, each required to be alike on every host, then the shared generator
 * (control/config/generate.ts, also behind `daos_server config generate`) run on the one set.
 */
import type { NetworkScanResp } from "../../../proto/gen/ts/ctl/network_pb.ts";
import type { StorageScanResp } from "../../../proto/gen/ts/ctl/storage_pb.ts";
import {
  type ConfGenerateRequest,
  type GeneratedConfig,
  generateServerConfig,
} from "../../config/generate.ts";
import { compareBytes, type HostSet } from "../hostlist.ts";
import { groupPayloads } from "../rpc/group.ts";
import type { HostErrors } from "./host_errors.ts";
import type { Invoker } from "./invoker.ts";
import { networkScan } from "./network.ts";
import { type FanOutTargets, storageScan } from "./storage.ts";

/** Which scan's answers differ between hosts. */
export type HardwareKind = "network" | "storage";

/** The hosts did not all answer with the same hardware: the host set of each variant. */
export class HardwareMismatchError extends Error {
  readonly kind: HardwareKind;
  readonly hostSets: HostSet[];

  constructor(kind: HardwareKind, hostSets: HostSet[]) {
    super(`${kind} hardware not consistent across hosts`);
    this.name = "HardwareMismatchError";
    this.kind = kind;
    this.hostSets = hostSets;
  }
}

/** Result: the config, or (config undefined) the host errors of the scan that failed. */
export interface ConfigGenerateResult {
  config?: GeneratedConfig;
  hostErrors?: HostErrors;
}

/**
 * Canonical text of the fabric the generator reads (interfaces, NUMA and core counts);
 * interface order does not matter.
 */
export function fabricKey(r: NetworkScanResp): string {
  const ifaces = r.interfaces
    .map((i) => [i.provider, i.device, i.numanode, i.priority, i.netdevclass].join("\u0000"))
    .sort(compareBytes);
  return JSON.stringify([ifaces, r.numacount, r.corespernuma]);
}

/**
 * Canonical text of the storage the generator reads: PMem namespaces (device, NUMA node, size)
 * and NVMe SSDs (PCI address, socket). Models, serials and free space are left out so hosts
 * with different SSD models but the same layout are alike (as the reference's basic scan).
 */
export function storageKey(r: StorageScanResp): string {
  const ns = (r.scm?.namespaces ?? [])
    .map((n) => [n.blockdev, n.numaNode, n.size.toString()].join("\u0000"))
    .sort(compareBytes);
  const ssds = (r.nvme?.ctrlrs ?? [])
    .map((c) => [c.pciAddr, c.socketId].join("\u0000"))
    .sort(compareBytes);
  return JSON.stringify([ns, ssds]);
}

/** The one payload every host answered with; throws if none answered or they differ. */
function single<T>(
  kind: HardwareKind,
  answers: readonly { addr: string; payload: T }[],
  key: (p: T) => string,
): T {
  const groups = groupPayloads(answers, key);
  if (groups.length === 0) throw new Error("no host responses");
  if (groups.length > 1) throw new HardwareMismatchError(kind, groups.map((g) => g.hosts));
  return groups[0].payload;
}

/**
 * Generates a daos_server.yml for the `opts.targets` hosts. Host errors of a scan end the
 * request with those errors (no config); differing hardware throws
 * {@link HardwareMismatchError}; the generator's own refusals are thrown as they are.
 */
export async function configGenerate(
  inv: Invoker,
  opts: FanOutTargets,
  req: ConfGenerateRequest,
  debug: (msg: string) => void = () => {},
): Promise<ConfigGenerateResult> {
  const net = await networkScan(inv, opts, { provider: "all" });
  if (!net.hostErrors.empty) return { hostErrors: net.hostErrors };
  const fabric = single("network", net.answers, fabricKey);
  debug(
    `network hardware is consistent on ${net.answers.length} host(s): ` +
      `${fabric.interfaces.length} interface(s), ${fabric.numacount} NUMA node(s)`,
  );
  const sto = await storageScan(inv, opts, {});
  if (!sto.hostErrors.empty) return { hostErrors: sto.hostErrors };
  const storage = single("storage", sto.answers, storageKey);
  debug(
    `storage hardware is consistent: ${storage.scm?.namespaces.length ?? 0} PMem ` +
      `namespace(s), ${storage.nvme?.ctrlrs.length ?? 0} NVMe SSD(s)`,
  );
  return { config: generateServerConfig(req, fabric, storage) };
}
