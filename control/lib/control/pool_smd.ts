/**
 * `storage query list-pools` (DAOS lib/control/smd.go with OmitDevices): SmdQuery fanned out
 * to the hosts, each answering with the VOS pools of its ready ranks (dRPC 212 on the
 * server); per host the pools are keyed by UUID, one entry per rank holding shards.
 */
import { create } from "@bufbuild/protobuf";
import { CtlSvc } from "../../../proto/gen/ts/ctl/ctl_pb.ts";
import { SmdQueryReqSchema, type SmdQueryResp } from "../../../proto/gen/ts/ctl/smd_pb.ts";
import { NilRank } from "../rankset.ts";
import { foldResults, type HostAnswers } from "./host_errors.ts";
import type { Invoker } from "./invoker.ts";
import type { FanOutTargets } from "./storage.ts";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One rank's shards of a pool (the reference's SmdPool). */
export interface SmdPoolShard {
  uuid: string;
  rank: number;
  targetIds: number[];
  /** NVMe blob ids of the targets (0 when a target has none). */
  blobs: bigint[];
}

/** One host's pools: UUID → the ranks holding shards, in rank order; UUIDs sorted. */
export interface HostSmdPools {
  pools: Map<string, SmdPoolShard[]>;
}

/** What to list: pools of one rank (all when undefined) and/or one pool UUID. */
export interface SmdPoolsRequest {
  rank?: number;
  uuid?: string;
}

/** SmdQuery{omit_devices} on every target; a malformed `--uuid` is refused first. */
export async function smdListPools(
  inv: Invoker,
  opts: FanOutTargets,
  req: SmdPoolsRequest,
): Promise<HostAnswers<HostSmdPools>> {
  if (req.uuid && !UUID_RE.test(req.uuid)) {
    throw new Error(
      `invalid pool UUID "${req.uuid}" (--uuid): want 36 characters, 8-4-4-4-12 hex digits ` +
        "as 'dmg pool list -v' prints them",
    );
  }
  const { targets, ...fan } = opts;
  const request = create(SmdQueryReqSchema, {
    omitDevices: true,
    uuid: req.uuid ?? "",
    rank: req.rank ?? NilRank,
  });
  const results = await inv.fanOut(targets, CtlSvc.method.smdQuery, request, {
    ...fan,
    name: "SmdQuery",
  });
  return foldResults(results, (_addr, resp: SmdQueryResp) => {
    const shards: SmdPoolShard[] = resp.ranks.flatMap((r) =>
      r.pools.map((p) => ({
        uuid: p.uuid,
        rank: r.rank,
        targetIds: [...p.tgtIds],
        blobs: [...p.blobs],
      }))
    );
    shards.sort((a, b) => a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : a.rank - b.rank);
    const pools = new Map<string, SmdPoolShard[]>();
    for (const s of shards) {
      const list = pools.get(s.uuid);
      if (list) list.push(s);
      else pools.set(s.uuid, [s]);
    }
    return { pools };
  });
}
