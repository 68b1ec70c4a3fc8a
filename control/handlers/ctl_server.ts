/**
 * ctl.CtlSvc calls addressed to this daos_server itself rather than to its ranks: the MS
 * leader's SystemErase order to a peer replica (drop the local MS database).
 */
import { create } from "@bufbuild/protobuf";
import {
  type SystemEraseReq,
  type SystemEraseResp,
  SystemEraseRespSchema,
} from "../../proto/gen/ts/mgmt/system_pb.ts";
import { NotReplicaError } from "../lib/rpc/error_codec.ts";
import type { ManagementService } from "../mgmt/management_service.ts";
import { checkSystemName, type NonReplicaContext } from "./mgmt_nonreplica.ts";

/** The server-level CtlSvc methods. */
export interface CtlServerHandlers {
  systemErasePeer(req: SystemEraseReq): Promise<SystemEraseResp>;
}

/** What the server-level calls use: the replica's MS (null on other servers), the config. */
export type ServerCallsContext = NonReplicaContext & {
  readonly ms: Pick<ManagementService, "checkSystem" | "eraseAsPeer"> | null;
};

/** Builds SystemErasePeer over the context's MS (not-replica error on other servers). */
export function ctlServerHandlers(ctx: ServerCallsContext): CtlServerHandlers {
  return {
    systemErasePeer: async (req) => {
      if (ctx.ms === null) {
        checkSystemName(req.sys, ctx.config.name);
        throw new NotReplicaError(ctx.config.mgmtSvcReplicas);
      }
      ctx.ms.checkSystem(req.sys);
      await ctx.ms.eraseAsPeer();
      return create(SystemEraseRespSchema, {});
    },
  };
}
