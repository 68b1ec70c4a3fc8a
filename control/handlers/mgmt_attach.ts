/**
 * mgmt.MgmtSvc GetAttachInfo on an MS replica (DAOS mgmt_system.go getAttachInfo): the joined
 * ranks' fabric URIs (all of them with `all_ranks`, else those of the MS replicas' hosts), the
 * ranks local to MS replicas, the client network hint, the data version and the servers' build
 * version (what `dmg server-version` prints).
 */
import { create } from "@bufbuild/protobuf";
import {
  type GetAttachInfoReq,
  type GetAttachInfoResp,
  GetAttachInfoRespSchema,
} from "../../proto/gen/ts/mgmt/attach_pb.ts";
import { addrHost } from "../mgmt/member.ts";
import { DAOS_VERSION } from "../lib/rpc/version.ts";
import type { ReplicaMs } from "./mgmt_system.ts";

/** What GetAttachInfo uses of the MS. */
export type AttachMs = Pick<ReplicaMs, "checkSystem" | "query" | "leaderQuery">;

/** The attach handler family. */
export interface MgmtAttachHandlers {
  getAttachInfo(req: GetAttachInfoReq): Promise<GetAttachInfoResp>;
}

/** The build version as BuildInfo fields. */
export function buildInfo(version = DAOS_VERSION): {
  major: number;
  minor: number;
  patch: number;
  tag: string;
} {
  const [major, minor, patch] = version.split(".").map((x) => Number.parseInt(x, 10) || 0);
  return { major, minor, patch, tag: "" };
}

/** Builds GetAttachInfo over `ms`. */
export function mgmtAttachHandlers(ctx: { readonly ms: AttachMs }): MgmtAttachHandlers {
  return {
    getAttachInfo: async (req) => {
      ctx.ms.checkSystem(req.sys);
      const q = await ctx.ms.query("", "", 0);
      const { replicas } = await ctx.ms.leaderQuery();
      const replicaHosts = new Set(replicas.map(addrHost));
      const joined = q.members.filter((m) => m.state === "joined" && m.fabric_uri !== "");
      const msRanks = joined.filter((m) => replicaHosts.has(addrHost(m.addr))).map((m) => m.rank);
      const listed = req.allRanks ? joined : joined.filter((m) => msRanks.includes(m.rank));
      return create(GetAttachInfoRespSchema, {
        rankUris: listed.map((m) => ({
          rank: m.rank,
          uri: m.fabric_uri,
          numCtxs: m.fabric_contexts,
        })),
        msRanks,
        clientNetHint: { provider: q.providers[0] ?? "", srvSrxSet: -1 },
        dataVersion: q.dataVersion,
        sys: req.sys.replace(/-\d+\.\d+\.\d+$/, ""),
        buildInfo: buildInfo(),
      });
    },
  };
}
