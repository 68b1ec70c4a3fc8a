/** ctl.CtlSvc/NetworkScan: this host's interfaces and the fabric providers usable on them. */
import { create } from "@bufbuild/protobuf";
import {
  type FabricInterface,
  FabricInterfaceSchema,
  type NetworkScanReq,
  type NetworkScanResp,
  NetworkScanRespSchema,
} from "../../proto/gen/ts/ctl/network_pb.ts";
import { type NetInterface, providersFor, readInterfaces } from "../sysinfo/netif.ts";
import { type NumaTopology, readTopology } from "../sysinfo/topology.ts";

/** Where the scan gets its facts (replaceable in unit tests). */
export interface NetworkScanSource {
  interfaces(): Promise<NetInterface[]>;
  topology(): Promise<NumaTopology>;
  /** The provider of daos_server.yml ("" in discovery mode without one). */
  configuredProvider: string;
}

/** The real host. */
export function hostNetworkSource(configuredProvider: string): NetworkScanSource {
  return { interfaces: () => readInterfaces(), topology: () => readTopology(), configuredProvider };
}

/**
 * Answers NetworkScan. Provider filter: the request's provider; when empty, the configured
 * one (none configured = all); "all" = no filtering. `excludeinterfaces` is a comma list.
 */
export async function networkScan(
  req: NetworkScanReq,
  src: NetworkScanSource,
): Promise<NetworkScanResp> {
  const want = req.provider !== "" ? req.provider : src.configuredProvider;
  const excluded = new Set(req.excludeinterfaces.split(",").map((s) => s.trim()).filter(Boolean));
  const interfaces: FabricInterface[] = [];
  for (const iface of await src.interfaces()) {
    if (excluded.has(iface.name)) continue;
    providersFor(iface).forEach((provider, priority) => {
      if (want !== "" && want !== "all" && provider !== want) return;
      interfaces.push(create(FabricInterfaceSchema, {
        provider,
        device: iface.name,
        numanode: iface.numaNode,
        priority,
        netdevclass: iface.netDevClass,
        addresses: iface.addresses,
      }));
    });
  }
  const topo = await src.topology();
  return create(NetworkScanRespSchema, {
    interfaces,
    numacount: topo.numaCount,
    corespernuma: topo.coresPerNuma,
  });
}
