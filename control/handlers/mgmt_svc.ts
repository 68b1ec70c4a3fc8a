/**
 * The mgmt.MgmtSvc a daos_server registers (server.md §5.1–5.2): on an MS replica the join,
 * system and event families over its MS, errors in their wire form; on any other server the
 * not-replica answer.
 */
import type { ServiceImpl } from "@connectrpc/connect";
import type { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { mgmtAttachHandlers } from "./mgmt_attach.ts";
import { mgmtAttrHandlers } from "./mgmt_attrs.ts";
import { followEventsHandler, mgmtEventHandlers } from "./mgmt_events.ts";
import { mgmtJoinHandlers } from "./mgmt_join.ts";
import { mgmtPoolHandlers } from "./mgmt_pool.ts";
import { type NonReplicaContext, nonReplicaMgmtService } from "./mgmt_nonreplica.ts";
import { mgmtSystemHandlers, type ReplicaContext, type ReplicaMs } from "./mgmt_system.ts";
import { wireErrors } from "./wire.ts";

/** MgmtSvc of an MS replica: every family over `ctx.ms`. */
export function replicaMgmtService(ctx: ReplicaContext): ServiceImpl<typeof MgmtSvc> {
  return {
    ...wireErrors({
      ...mgmtJoinHandlers(ctx),
      ...mgmtSystemHandlers(ctx),
      ...mgmtEventHandlers(ctx),
      ...mgmtAttrHandlers(ctx),
      ...mgmtAttachHandlers(ctx),
      ...mgmtPoolHandlers(ctx),
    }),
    systemFollowEvents: followEventsHandler(ctx),
  };
}

/** MgmtSvc of this server: the replica's service when it runs an MS, else not-replica. */
export function mgmtService(
  ctx: { readonly ms: ReplicaMs | null } & NonReplicaContext,
): ServiceImpl<typeof MgmtSvc> {
  return ctx.ms !== null ? replicaMgmtService({ ms: ctx.ms }) : nonReplicaMgmtService(ctx);
}
