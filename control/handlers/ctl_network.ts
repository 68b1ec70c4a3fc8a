/** ctl.CtlSvc/NetworkScan (server.md §5.1): this host's interfaces and their providers. */
import type { NetworkScanReq, NetworkScanResp } from "../../proto/gen/ts/ctl/network_pb.ts";
import { networkScan } from "../ctl/network_scan.ts";
import type { ServerContext } from "./server_context.ts";

/** The network CtlSvc methods. */
export interface CtlNetworkHandlers {
  networkScan(req: NetworkScanReq): Promise<NetworkScanResp>;
}

/** Builds NetworkScan over the context's network source. */
export function ctlNetworkHandlers(ctx: Pick<ServerContext, "scan">): CtlNetworkHandlers {
  return { networkScan: (req) => networkScan(req, ctx.scan.network) };
}
