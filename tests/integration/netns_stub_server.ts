/**
 * A minimal insecure control server for network-namespace tests of the client: answers
 * LeaderQuery (itself as leader, no other replicas) and NetworkScan, on the address given as
 * the only argument. Prints "listening <addr>" once bound; runs until killed.
 */
import { create } from "@bufbuild/protobuf";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { NetworkScanRespSchema } from "../../proto/gen/ts/ctl/network_pb.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { LeaderQueryRespSchema } from "../../proto/gen/ts/mgmt/svc_pb.ts";
import { listenControl } from "../../control/lib/rpc/transport.ts";

const [host, port] = (Deno.args[0] ?? "").split(":");
if (!host || !port) throw new Error("usage: netns_stub_server.ts <ip:port>");
const l = await listenControl({
  host,
  port: Number(port),
  security: { allowInsecure: true },
  routes: (r) => {
    r.service(MgmtSvc, {
      leaderQuery: () => create(LeaderQueryRespSchema, { currentLeader: `${host}:${port}` }),
    });
    r.service(CtlSvc, {
      networkScan: () => create(NetworkScanRespSchema, { numacount: 1, corespernuma: 2 }),
    });
  },
});
console.log(`listening ${l.address}`);
