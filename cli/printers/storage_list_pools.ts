/**
 * `dmg storage query list-pools` output (DAOS pretty.PrintSmdInfoMap with devices omitted):
 * per host set a header, then `Pools`, `UUID:<u>` and one `Rank:<r> Targets:[…]` line per
 * rank (`Blobs:[…]` with `-v`) followed by an empty line, or `No pools with NVMe found`; and
 * the -j `HostStorage` map with `smd_info.pools`.
 */
import type { HostSmdPools } from "../../control/lib/control/pool_smd.ts";
import type { PayloadGroup } from "../../control/lib/rpc/group.ts";
import type { GoJsonValue } from "../output/gojson.ts";
import { hostSetHeader } from "./host_block.ts";
import { smdInfoHostStorageJson } from "./storage_query.ts";

/** Go's `%+v` of an integer slice: `[0 1 2]`. */
function goSlice(v: readonly (number | bigint)[]): string {
  return `[${v.join(" ")}]`;
}

/** One host's pools block (without the host header). */
export function formatSmdPools(h: HostSmdPools, verbose: boolean): string {
  if (h.pools.size === 0) return "  No pools with NVMe found\n";
  let out = "  Pools\n";
  for (const [uuid, shards] of h.pools) {
    out += `    UUID:${uuid}\n`;
    for (const s of shards) {
      out += `      Rank:${s.rank} Targets:${goSlice(s.targetIds)}`;
      if (verbose) out += ` Blobs:${goSlice(s.blobs)}`;
      out += "\n";
    }
    out += "\n";
  }
  return out;
}

/** Canonical text of a host's answer, for folding equal hosts together. */
export function smdPoolsFingerprint(h: HostSmdPools): string {
  return formatSmdPools(h, true);
}

/** The listing of every host set. */
export function formatSmdPoolsInfo(
  groups: readonly PayloadGroup<HostSmdPools>[],
  verbose: boolean,
): string {
  return groups.map((g) => hostSetHeader(g.hosts.toString()) + formatSmdPools(g.payload, verbose))
    .join("");
}

/** The -j `HostStorage` map of `storage query list-pools` (smd_info.pools by pool uuid). */
export function smdPoolsHostStorageJson(
  groups: readonly PayloadGroup<HostSmdPools>[],
): GoJsonValue {
  return smdInfoHostStorageJson(groups, (p) => ({
    devices: null,
    pools: p.pools.size === 0 ? null : new Map(
      [...p.pools].map(([uuid, shards]) => [
        uuid,
        shards.map((s) => ({ uuid: s.uuid, tgt_ids: s.targetIds, blobs: s.blobs, rank: s.rank })),
      ]),
    ),
  }));
}
