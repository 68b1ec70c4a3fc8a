/** MgmtSvc handlers over an in-memory Connect transport: wire errors and proto mapping. */
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { Fault } from "../../control/lib/fault.ts";
import { NotLeaderError } from "../../control/lib/rpc/error_codec.ts";
import { replicaMgmtService } from "../../control/handlers/mgmt_svc.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { JoinResp_State } from "../../proto/gen/ts/mgmt/svc_pb.ts";
import { assert, assertEquals } from "./mgmt_assert.ts";
import { MsCluster, waitFor } from "./mgmt_helpers.ts";
import { remoteErr } from "../../control/handlers/testing.ts";

Deno.test("MgmtSvc over Connect: join, query, fault 603, NotLeader hint, restarted etcd member", async () => {
  const c = await MsCluster.start(3);
  try {
    const leader = await c.leader();
    const follower = c.services.find((s) => s !== leader)!;
    await waitFor("follower knows leader", () => follower.election!.view().leader === leader.self);
    const client = (ms: typeof leader) =>
      createClient(
        MgmtSvc,
        createRouterTransport(({ service }) => service(MgmtSvc, replicaMgmtService({ ms }))),
      );
    const lc = client(leader);
    const fc = client(follower);
    const uuid = crypto.randomUUID();
    const join = {
      sys: "daos_server",
      uuid,
      rank: 0,
      uri: "ofi+tcp://127.0.0.1:1",
      nctxs: 2,
      addr: "127.0.0.1:10001",
      srvFaultDomain: "/h0",
    };
    const jr = await lc.join(join);
    assertEquals([jr.rank, jr.state, jr.mapVersion], [0, JoinResp_State.IN, 1]);
    const nl = await remoteErr(fc.join({ ...join, rank: 1 }));
    assert(nl instanceof NotLeaderError && nl.leaderHint === leader.self);
    const ws = await remoteErr(lc.systemQuery({ sys: "wrong" }));
    assert(ws instanceof Fault && ws.code === 603, String(ws));
    const q = await fc.systemQuery({ sys: "daos_server" });
    assertEquals(q.members.map((m) => [m.rank, m.uuid, m.state]), [[0, uuid, "joined"]]);
    const lq = await fc.leaderQuery({ sys: "daos_server" });
    assertEquals(lq.currentLeader, leader.self);
    // engine_died through ClusterEvent.
    await lc.clusterEvent({
      sequence: 5n,
      event: { id: 2, rank: 0, msg: "engine exited: signal 11" },
    });
    const q2 = await lc.systemQuery({ sys: "daos_server", ranks: "0" });
    assertEquals([q2.members[0].state, q2.members[0].info], [
      "errored",
      "engine exited: signal 11",
    ]);
    // A killed etcd member is restarted by its supervisor.
    const m = follower.member!;
    Deno.kill(m.pid!, "SIGKILL");
    await waitFor("etcd member restarted", () => m.starts >= 2 && m.pid !== undefined);
    await waitFor(
      "restarted member serves reads",
      async () => (await follower.query("", "", 0)).members.length === 1,
    );
  } finally {
    await c.close();
  }
});
