/**
 * The ctl.CtlSvc a daos_server registers: every family (storage, network, ranks, server)
 * built from one server context. Typed as the whole service: a CtlSvc method without a
 * handler fails type-checking here.
 */
import type { ServiceImpl } from "@connectrpc/connect";
import type { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { ctlNetworkHandlers } from "./ctl_network.ts";
import { ctlRanksHandlers } from "./ctl_ranks.ts";
import { ctlServerHandlers } from "./ctl_server.ts";
import { ctlSmdHandlers } from "./ctl_smd.ts";
import { ctlStorageHandlers } from "./ctl_storage.ts";
import { ctlSupportHandlers } from "./ctl_support.ts";
import type { ServerContext } from "./server_context.ts";
import { wireErrors } from "./wire.ts";

/** CtlSvc over `ctx`, errors in their wire form (as MgmtSvc). */
export function ctlService(ctx: ServerContext): ServiceImpl<typeof CtlSvc> {
  return wireErrors({
    ...ctlStorageHandlers(ctx),
    ...ctlNetworkHandlers(ctx),
    ...ctlRanksHandlers(ctx),
    ...ctlServerHandlers(ctx),
    ...ctlSmdHandlers(ctx),
    ...ctlSupportHandlers(ctx),
  });
}
