/**
 * A gRPC client that is not ours (@grpc/grpc-js, real gRPC over HTTP/2 with trailers) calls
 * ctl.CtlSvc/NetworkScan and mgmt.MgmtSvc/LeaderQuery on a running daos_server.
 */
import { equal, ok } from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  NetworkScanReqSchema,
  type NetworkScanResp,
  NetworkScanRespSchema,
} from "../../proto/gen/ts/ctl/network_pb.ts";
import { LeaderQueryReqSchema, LeaderQueryRespSchema } from "../../proto/gen/ts/mgmt/svc_pb.ts";
import { ServerSet } from "./ctl_servers.ts";

function unary<Res>(
  client: grpc.Client,
  path: string,
  body: Uint8Array,
  decode: (b: Buffer) => Res,
  metadata = new grpc.Metadata(),
): Promise<Res> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (b: Uint8Array) => Buffer.from(b),
      decode,
      body,
      metadata,
      { deadline: Date.now() + 10_000 },
      (err, res) => (err ? reject(err) : resolve(res!)),
    );
  });
}

Deno.test("grpc-js calls ctl.CtlSvc/NetworkScan and gets the not-replica status from MgmtSvc", async () => {
  const set = await ServerSet.start(["127.0.0.6"]);
  const client = new grpc.Client(`127.0.0.6:${set.port}`, grpc.credentials.createInsecure());
  try {
    const req = toBinary(NetworkScanReqSchema, create(NetworkScanReqSchema, { provider: "all" }));
    const resp: NetworkScanResp = await unary(
      client,
      "/ctl.CtlSvc/NetworkScan",
      req,
      (b) => fromBinary(NetworkScanRespSchema, b),
    );
    ok(resp.numacount >= 1);
    ok(resp.corespernuma >= 1);
    const lo = resp.interfaces.find((i) => i.device === "lo" && i.provider === "ofi+tcp");
    ok(lo, `loopback reported: ${JSON.stringify(resp.interfaces.map((i) => i.device))}`);
    equal(lo.netdevclass, 772);
    ok(lo.addresses.includes("127.0.0.1"));

    // The MS does not run on a discovery-mode server: gRPC status Internal + ErrorInfo.
    const lq = toBinary(LeaderQueryReqSchema, create(LeaderQueryReqSchema, { sys: "daos_server" }));
    const err = await unary(
      client,
      "/mgmt.MgmtSvc/LeaderQuery",
      lq,
      (b) => fromBinary(LeaderQueryRespSchema, b),
    ).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    ok(err, "LeaderQuery must fail on a non-replica");
    equal(err.code, grpc.status.INTERNAL);
    // Connect percent-encodes ':' in grpc-message and grpc-js only applies decodeURI.
    equal(
      decodeURIComponent(err.details),
      `not a DAOS Management Service replica (try one of localhost:${set.port})`,
    );
    ok(err.metadata.get("grpc-status-details-bin").length === 1, "ErrorInfo detail attached");
  } finally {
    client.close();
    await set.stop();
  }
});
