/**
 * `dmg network scan` output (dmg.md §5.11): hosts grouped by identical interfaces, providers,
 * NUMA count and cores per NUMA; per host set and NUMA node a `Provider | Interfaces` table.
 */
import type { NetworkScanResp } from "../../proto/gen/ts/ctl/network_pb.ts";
import { compareBytes } from "../../control/lib/hostlist.ts";
import type { PayloadGroup } from "../../control/lib/rpc/group.ts";
import { formatTable, indentLines } from "../../control/lib/txtfmt.ts";
import type { GoJsonValue } from "../output/gojson.ts";
import { hostSetHeader } from "./host_block.ts";

function providers(resp: NetworkScanResp): string[] {
  return [...new Set(resp.interfaces.map((i) => i.provider))].sort(compareBytes);
}

/**
 * Canonical text for grouping: the interface set (provider, device, NUMA node, priority,
 * class — addresses differ per host and are left out), providers, NUMA count, cores.
 */
export function fabricFingerprint(resp: NetworkScanResp): string {
  const ifaces = resp.interfaces
    .map((i) => [i.provider, i.device, i.numanode, i.priority, i.netdevclass].join("\u0000"))
    .sort(compareBytes);
  return JSON.stringify([ifaces, providers(resp), resp.numacount, resp.corespernuma]);
}

/** The host-set blocks (without the Errors: block). */
export function formatNetworkScan(groups: readonly PayloadGroup<NetworkScanResp>[]): string {
  let out = "";
  for (const g of groups) {
    out += hostSetHeader(g.hosts.toString()) + "\n";
    const numas = [...new Set(g.payload.interfaces.map((i) => i.numanode))].sort((a, b) => a - b);
    for (const numa of numas) {
      out += indentLines(`-------------\nNUMA Socket ${numa}\n-------------\n`, 4) + "\n";
      const onNode = g.payload.interfaces.filter((i) => i.numanode === numa);
      const rows = providers(g.payload).filter((p) => onNode.some((i) => i.provider === p))
        .map((p) => ({
          Provider: p,
          Interfaces: onNode.filter((i) => i.provider === p).map((i) => i.device).join(", "),
        }));
      out += indentLines(formatTable(["Provider", "Interfaces"], rows), 8) + "\n";
    }
  }
  return out;
}

/** The `HostFabric` object of one host set in the JSON payload. */
export function fabricJson(resp: NetworkScanResp): GoJsonValue {
  return {
    Interfaces: resp.interfaces.map((i) => ({
      Provider: i.provider,
      Device: i.device,
      NumaNode: i.numanode,
      Priority: i.priority,
      NetDevClass: i.netdevclass,
    })),
    Providers: providers(resp),
    NumaCount: resp.numacount,
    CoresPerNuma: resp.corespernuma,
  };
}
