/**
 * mgmt.MgmtSvc/Join (server.md §2.4–2.5): an engine's join request, with the caller's IP for
 * engines that report a wildcard control address.
 */
import { create } from "@bufbuild/protobuf";
import { createContextKey, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { type JoinReq, JoinResp_State, JoinRespSchema } from "../../proto/gen/ts/mgmt/svc_pb.ts";
import { type ReplicaContext, systemScoped } from "./mgmt_system.ts";

/**
 * Context key for the caller's IP address; the server sets it through connectNodeAdapter's
 * `contextValues` so a Join from "0.0.0.0:<port>" is recorded with the peer's IP.
 */
export const peerHostKey = createContextKey<string>("", { description: "caller IP address" });

/** The join MgmtSvc methods. */
export type MgmtJoinHandlers = Pick<ServiceImpl<typeof MgmtSvc>, "join">;

/** Builds Join over the replica's MS. */
export function mgmtJoinHandlers({ ms }: ReplicaContext): MgmtJoinHandlers {
  return {
    join: systemScoped(ms, async (req: JoinReq, ctx: HandlerContext) => {
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
  };
}
