/**
 * The `mgmt.MgmtSvc` handler object a daos_server registers on its control RPC server: proto in,
 * pre-checks (system name, replica, leader), {@link ManagementService} calls, proto out, errors
 * in their wire form (server.md §5.2).
 */
import { create } from "@bufbuild/protobuf";
import { createContextKey, type ServiceImpl } from "@connectrpc/connect";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import {
  JoinResp_State,
  JoinRespSchema,
  LeaderQueryRespSchema,
} from "../../proto/gen/ts/mgmt/svc_pb.ts";
import {
  SystemEraseRespSchema,
  SystemExcludeRespSchema,
  type SystemMember,
  SystemMemberSchema,
  SystemQueryRespSchema,
  SystemStartRespSchema,
  SystemStopRespSchema,
} from "../../proto/gen/ts/mgmt/system_pb.ts";
import { ClusterEventRespSchema } from "../../proto/gen/ts/shared/event_pb.ts";
import { toWireError } from "../lib/rpc/error_codec.ts";
import { makeFault } from "../lib/fault.ts";
import type { ManagementService } from "./management_service.ts";
import type { Member } from "./member.ts";

/**
 * Context key for the caller's IP address; the server sets it through connectNodeAdapter's
 * `contextValues` so a Join from "0.0.0.0:<port>" is recorded with the peer's IP.
 */
export const peerHostKey = createContextKey<string>("", { description: "caller IP address" });

async function wire<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw toWireError(e);
  }
}

/** Builds the MgmtSvc implementation over `ms`. */
export function mgmtServiceImpl(ms: ManagementService): ServiceImpl<typeof MgmtSvc> {
  return {
    join: (req, ctx) =>
      wire(async () => {
        ms.checkSystem(req.sys);
        const r = await ms.join({
          uuid: req.uuid,
          rank: req.rank,
          uri: req.uri,
          nctxs: req.nctxs,
          addr: req.addr,
          srvFaultDomain: req.srvFaultDomain,
          idx: req.idx,
          incarnation: req.incarnation,
          secondaryUris: req.secondaryUris,
          secondaryNctxs: req.secondaryNctxs,
          checkMode: req.checkMode,
          replace: req.replace,
        }, ctx.values.get(peerHostKey) || undefined);
        return create(JoinRespSchema, {
          rank: r.rank,
          state: r.state === "checkerstarted" ? JoinResp_State.CHECK : JoinResp_State.IN,
          mapVersion: r.mapVersion,
          localJoin: false,
        });
      }),
    clusterEvent: (req) =>
      wire(async () => {
        const ev = req.event;
        if (!ev) {
          throw makeFault(
            "SystemUnknown",
            "no RAS event (ClusterEventReq field event)",
            "send the event in ClusterEventReq.event",
          );
        }
        await ms.clusterEvent({
          id: ev.id,
          rank: ev.rank,
          incarnation: ev.incarnation,
          msg: ev.msg,
        });
        return create(ClusterEventRespSchema, { sequence: req.sequence, status: 0 });
      }),
    leaderQuery: (req) =>
      wire(async () => {
        ms.checkSystem(req.sys);
        const r = await ms.leaderQuery();
        return create(LeaderQueryRespSchema, {
          currentLeader: r.leader,
          replicas: r.replicas,
          DownReplicas: r.down,
        });
      }),
    systemQuery: (req) =>
      wire(async () => {
        ms.checkSystem(req.sys);
        const r = await ms.query(req.ranks, req.hosts, req.stateMask);
        return create(SystemQueryRespSchema, {
          members: r.members.map(memberToProto),
          absentranks: r.absentRanks,
          absenthosts: r.absentHosts,
          dataVersion: r.dataVersion,
          providers: r.providers,
          sysSelfHealPolicy: r.selfHeal,
        });
      }),
    systemStop: (req) =>
      wire(async () => {
        ms.checkSystem(req.sys);
        const r = await ms.systemStop({
          ranks: req.ranks,
          hosts: req.hosts,
          force: req.force,
          ignoreAdminExcluded: req.ignoreAdminExcluded,
        });
        return create(SystemStopRespSchema, {
          results: r.results,
          absentranks: r.absentRanks,
          absenthosts: r.absentHosts,
        });
      }),
    systemStart: (req) =>
      wire(async () => {
        ms.checkSystem(req.sys);
        const r = await ms.systemStart({
          ranks: req.ranks,
          hosts: req.hosts,
          ignoreAdminExcluded: req.ignoreAdminExcluded,
        });
        return create(SystemStartRespSchema, {
          results: r.results,
          absentranks: r.absentRanks,
          absenthosts: r.absentHosts,
        });
      }),
    systemExclude: (req) =>
      wire(async () => {
        ms.checkSystem(req.sys);
        const results = await ms.systemExclude({
          ranks: req.ranks,
          hosts: req.hosts,
          clear: req.clear,
        });
        return create(SystemExcludeRespSchema, { results });
      }),
    systemErase: (req) =>
      wire(async () => {
        ms.checkSystem(req.sys);
        return create(SystemEraseRespSchema, { results: await ms.systemErase() });
      }),
  };
}

/** A membership record as SystemQuery carries it (mgmt.SystemMember). */
export function memberToProto(m: Member): SystemMember {
  return create(SystemMemberSchema, {
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
