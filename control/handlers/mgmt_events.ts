/**
 * mgmt.MgmtSvc event calls: ClusterEvent (server.md §5.1: RAS events forwarded by servers to
 * the leader) and ours, the RAS event log and the audit trail (SystemGetEvents,
 * SystemFollowEvents, SystemGetAudit; proto/mgmt/events.proto).
 */
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  type RASLogEntry,
  type SystemFollowEventsReq,
  SystemGetAuditRespSchema,
  SystemGetEventsRespSchema,
} from "../../proto/gen/ts/mgmt/events_pb.ts";
import type { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { ClusterEventRespSchema } from "../../proto/gen/ts/shared/event_pb.ts";
import { makeFault } from "../lib/fault.ts";
import { toWireError } from "../lib/rpc/error_codec.ts";
import { type ReplicaContext, systemScoped } from "./mgmt_system.ts";

/** The unary event MgmtSvc methods. */
export type MgmtEventHandlers = Pick<
  ServiceImpl<typeof MgmtSvc>,
  "clusterEvent" | "systemGetEvents" | "systemGetAudit"
>;

/** Builds ClusterEvent, SystemGetEvents and SystemGetAudit over the replica's MS. */
export function mgmtEventHandlers({ ms }: ReplicaContext): MgmtEventHandlers {
  return {
    clusterEvent: async (req) => {
      const ev = req.event;
      if (!ev) {
        throw makeFault(
          "SystemUnknown",
          "no RAS event (ClusterEventReq field event)",
          "send the event in ClusterEventReq.event",
        );
      }
      await ms.clusterEvent(
        { id: ev.id, rank: ev.rank, incarnation: ev.incarnation, msg: ev.msg },
        ev,
      );
      return create(ClusterEventRespSchema, { sequence: req.sequence, status: 0 });
    },
    systemGetEvents: systemScoped(ms, async (req) => {
      const r = await ms.getEvents({
        after: req.after,
        since: req.since,
        ranks: req.ranks,
        limit: req.limit,
      });
      return create(SystemGetEventsRespSchema, { events: r.events, cursor: r.cursor });
    }),
    systemGetAudit: systemScoped(ms, async (req) => {
      const r = await ms.getAudit({ after: req.after, limit: req.limit });
      return create(SystemGetAuditRespSchema, { records: r.records, cursor: r.cursor });
    }),
  };
}

/**
 * SystemFollowEvents (server streaming) over the replica's MS, errors in their wire form
 * (wire.ts's wrapper is for unary methods). The stream ends with an error when this replica's
 * database stops; the client resumes from its last sequence number on another replica.
 */
export function followEventsHandler({ ms }: ReplicaContext) {
  return async function* (
    req: SystemFollowEventsReq,
    ctx: HandlerContext,
  ): AsyncGenerator<RASLogEntry> {
    try {
      ms.checkSystem(req.sys);
      yield* ms.followEvents({ after: req.after, ranks: req.ranks, tail: req.tail }, ctx.signal);
    } catch (e) {
      throw toWireError(e);
    }
  };
}
