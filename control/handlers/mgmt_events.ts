/** mgmt.MgmtSvc/ClusterEvent (server.md §5.1): RAS events forwarded by servers to the leader. */
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { ClusterEventRespSchema } from "../../proto/gen/ts/shared/event_pb.ts";
import { makeFault } from "../lib/fault.ts";
import type { ReplicaContext } from "./mgmt_system.ts";

/** The event MgmtSvc methods. */
export type MgmtEventHandlers = Pick<ServiceImpl<typeof MgmtSvc>, "clusterEvent">;

/** Builds ClusterEvent over the replica's MS. */
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
      await ms.clusterEvent({ id: ev.id, rank: ev.rank, incarnation: ev.incarnation, msg: ev.msg });
      return create(ClusterEventRespSchema, { sequence: req.sequence, status: 0 });
    },
  };
}
