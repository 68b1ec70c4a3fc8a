/**
 * The network RPC family (DAOS lib/control/network.go): NetworkScan fanned out over an
 * Invoker, folded into answers and host errors.
 */
import { create } from "@bufbuild/protobuf";
import { CtlSvc } from "../../../proto/gen/ts/ctl/ctl_pb.ts";
import {
  NetworkScanReqSchema,
  type NetworkScanResp,
} from "../../../proto/gen/ts/ctl/network_pb.ts";
import { foldResults, type HostAnswers } from "./host_errors.ts";
import type { Invoker } from "./invoker.ts";
import type { FanOutTargets } from "./storage.ts";

/** NetworkScan on every target, optionally for one `provider` ("" = the configured one). */
export async function networkScan(
  inv: Invoker,
  opts: FanOutTargets,
  req: { provider?: string },
): Promise<HostAnswers<NetworkScanResp>> {
  const { targets, ...fan } = opts;
  const results = await inv.fanOut(
    targets,
    CtlSvc.method.networkScan,
    create(NetworkScanReqSchema, { provider: req.provider ?? "" }),
    { ...fan, name: "NetworkScan" },
  );
  return foldResults(results);
}
