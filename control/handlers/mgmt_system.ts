/**
 * mgmt.MgmtSvc system calls (server.md §4.6, §5.1): LeaderQuery, SystemQuery, SystemStop,
 * SystemStart, SystemExclude and SystemErase on an MS replica, each after the request's
 * system-name check.
 */
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { LeaderQueryRespSchema } from "../../proto/gen/ts/mgmt/svc_pb.ts";
import * as pb from "../../proto/gen/ts/mgmt/system_pb.ts";
import type { RankResult } from "../../proto/gen/ts/shared/ranks_pb.ts";
import type { ManagementService } from "../mgmt/management_service.ts";
import type { Member } from "../mgmt/member.ts";
import type { PoolMs } from "./mgmt_pool.ts";

/** The MS calls the replica's MgmtSvc handlers make (a fake in tests, no etcd needed). */
export type ReplicaMs =
  & Pick<
    ManagementService,
    | "checkSystem"
    | "join"
    | "clusterEvent"
    | "leaderQuery"
    | "query"
    | "systemStop"
    | "systemStart"
    | "systemExclude"
    | "systemErase"
    | "setAttrs"
    | "getAttrs"
    | "setProps"
    | "getProps"
    | "getEvents"
    | "followEvents"
    | "getAudit"
  >
  & PoolMs;

/** What the replica's MgmtSvc handlers use: this server's MS (a replica). */
export interface ReplicaContext {
  readonly ms: ReplicaMs;
}

/** `f` after the MS's check that the request names this system (fault 603 otherwise). */
export function systemScoped<Req extends { sys: string }, Res>(
  ms: Pick<ReplicaMs, "checkSystem">,
  f: (req: Req, ctx: HandlerContext) => Promise<Res>,
): (req: Req, ctx: HandlerContext) => Promise<Res> {
  return (req, ctx) => {
    ms.checkSystem(req.sys);
    return f(req, ctx);
  };
}

/** The results of a system stop or start with the ranks and hosts the filter missed. */
function rankResults(
  r: { results: RankResult[]; absentRanks: string; absentHosts: string },
): { results: RankResult[]; absentranks: string; absenthosts: string } {
  return { results: r.results, absentranks: r.absentRanks, absenthosts: r.absentHosts };
}

/** The system MgmtSvc methods. */
export type MgmtSystemHandlers = Pick<
  ServiceImpl<typeof MgmtSvc>,
  "leaderQuery" | "systemQuery" | "systemStop" | "systemStart" | "systemExclude" | "systemErase"
>;

/** Builds the system calls over the replica's MS. */
export function mgmtSystemHandlers({ ms }: ReplicaContext): MgmtSystemHandlers {
  return {
    leaderQuery: systemScoped(ms, async () => {
      const r = await ms.leaderQuery();
      return create(LeaderQueryRespSchema, {
        currentLeader: r.leader,
        replicas: r.replicas,
        DownReplicas: r.down,
      });
    }),
    systemQuery: systemScoped(ms, async (req) => {
      const r = await ms.query(req.ranks, req.hosts, req.stateMask);
      return create(pb.SystemQueryRespSchema, {
        members: r.members.map(memberToProto),
        absentranks: r.absentRanks,
        absenthosts: r.absentHosts,
        dataVersion: r.dataVersion,
        providers: r.providers,
        sysSelfHealPolicy: r.selfHeal,
      });
    }),
    systemStop: systemScoped(ms, async (req) => {
      const { ranks, hosts, force, ignoreAdminExcluded } = req;
      const r = await ms.systemStop({ ranks, hosts, force, ignoreAdminExcluded });
      return create(pb.SystemStopRespSchema, rankResults(r));
    }),
    systemStart: systemScoped(ms, async (req) => {
      const { ranks, hosts, ignoreAdminExcluded } = req;
      const r = await ms.systemStart({ ranks, hosts, ignoreAdminExcluded });
      return create(pb.SystemStartRespSchema, rankResults(r));
    }),
    systemExclude: systemScoped(ms, async (req) => {
      const { ranks, hosts, clear } = req;
      return create(pb.SystemExcludeRespSchema, {
        results: await ms.systemExclude({ ranks, hosts, clear }),
      });
    }),
    systemErase: systemScoped(
      ms,
      async () => create(pb.SystemEraseRespSchema, { results: await ms.systemErase() }),
    ),
  };
}

/** A membership record as SystemQuery carries it (mgmt.SystemMember). */
export function memberToProto(m: Member): pb.SystemMember {
  return create(pb.SystemMemberSchema, {
    addr: m.addr,
    uuid: m.uuid,
    rank: m.rank,
    incarnation: BigInt(m.incarnation),
    state: m.state,
    fabricUri: m.fabric_uri,
    fabricContexts: m.fabric_contexts,
    info: m.info,
    faultDomain: m.fault_domain,
    lastUpdate: m.last_update,
    secondaryFabricUris: m.secondary_fabric_uris,
  });
}
