/** Three MS replicas on real etcd: NotLeader hints, failover, fenced writes of a deposed leader. */
import { NotLeaderError, NotReplicaError } from "../../control/lib/rpc/error_codec.ts";
import { ManagementService } from "../../control/mgmt/management_service.ts";
import { defaultMgmtSvcDbConfig } from "../../control/mgmt/db_config.ts";
import { assert, assertEquals, assertRejects } from "./mgmt_assert.ts";
import { FakeFanout, joinReq, MsCluster, waitFor } from "./mgmt_helpers.ts";

Deno.test("MS replicas: NotLeader hint, failover on leader loss, deposed leader cannot write", async () => {
  const c = await MsCluster.start(3);
  try {
    const leader = await c.leader();
    await leader.join({ ...joinReq(0), rank: 0 });
    // Followers answer leader-only calls with NotLeader naming the leader.
    const follower = c.services.find((s) => s !== leader)!;
    await waitFor(
      "follower sees the leader",
      () => follower.election!.view().leader === leader.self,
    );
    const e = await assertRejects(
      () => follower.join(joinReq(1)),
      NotLeaderError,
      "not the DAOS Management Service leader (try",
    );
    assertEquals((e as NotLeaderError).leaderHint, leader.self);
    assertEquals((e as NotLeaderError).replicas, follower.otherReplicas());
    // Followers serve reads.
    assertEquals((await follower.query("", "", 0)).members.length, 1);
    const lq = await follower.leaderQuery();
    assertEquals([lq.leader, lq.replicas, lq.down], [leader.self, c.replicas, []]);

    // Fencing: grab the leader's fence, depose it by deleting its election key (what lease
    // expiry does), and show a write with the old fence fails.
    const fence = leader.election!.fence();
    const base = await leader.db!.read();
    await leader.etcd!.txn([], [{ delete: fence.key }]);
    const next = await leader.db!.commit(fence, base, {
      put: [],
      remove: [],
      attrs: { "user.x": "1" },
      extraMapIncrements: 0,
    });
    assertEquals(next, null);
    const newLeader = await waitFor("a new leader after deposition", () => {
      const l = c.services.find((s) => s.election!.view().isLeader);
      return l && l !== leader ? l : undefined;
    });
    // The deposed leader's own view: it no longer leads, names its successor, and refuses
    // leader-only calls with a hint to it (no write through the old leadership).
    await waitFor(
      "the deposed leader to see its successor",
      () => !leader.election!.view().isLeader && leader.election!.view().leader === newLeader.self,
    );
    const deposed = await assertRejects(
      () => leader.join(joinReq(3)),
      NotLeaderError,
      "not the DAOS Management Service leader (try",
    );
    assertEquals((deposed as NotLeaderError).leaderHint, newLeader.self);
    assertEquals((await newLeader.query("", "", 0)).members.length, 1);

    // Failover: crash the current leader (no resignation, etcd member SIGKILLed); another
    // replica takes over once the lease expires.
    const victim = await c.leader();
    const before = (await victim.query("", "", 0)).dataVersion;
    await victim.crash();
    const survivor = await c.leader();
    assert(survivor !== victim);
    const j = await survivor.join(joinReq(2, "127.0.0.9:10001"));
    assertEquals(j.rank, 1); // NextRank survived the failover
    const q = await survivor.query("", "", 0);
    assertEquals(q.members.length, 2);
    assert(q.dataVersion > before);
  } finally {
    await c.close();
  }
});

Deno.test("MS non-replica answers NotReplica; replica before storage is uninitialized", async () => {
  const db = defaultMgmtSvcDbConfig();
  const mk = (isReplica: boolean) =>
    new ManagementService({
      config: {
        system: "s",
        replicas: ["10.0.0.1:10001"],
        provider: "ofi+tcp",
        db,
        dataDir: "/nonexistent",
      },
      selfAddr: "10.0.0.2:10001",
      isReplica,
      fanout: new FakeFanout(),
    });
  await assertRejects(
    () => mk(false).query("", "", 0),
    NotReplicaError,
    "not a DAOS Management Service replica (try one of 10.0.0.1:10001)",
  );
  await assertRejects(
    () => mk(true).query("", "", 0),
    Error,
    "system is uninitialized (storage format required?)",
  );
  await assertRejects(
    () => mk(false).join(joinReq(1)),
    NotReplicaError,
    "not a DAOS Management Service replica",
  );
});

Deno.test("MS joins racing a leader crash: retried joins keep ranks unique, none lost", async () => {
  const c = await MsCluster.start(3);
  try {
    const leader = await c.leader();
    const reqs = Array.from({ length: 40 }, (_, i) => joinReq(i, `127.0.1.${i}:10001`));
    const first = reqs.map((r) => leader.join(r).then((o) => o.rank, () => null));
    // Crash once the first batch is committed, while later joins may still be in flight.
    await first[0];
    await leader.crash();
    const settled = await Promise.all(first);
    assert(settled[0] !== null);
    const next = await c.leader();
    assert(next !== leader);
    // Engines whose join failed retry (same UUID, still no rank) on the new leader.
    const ranks = await Promise.all(
      reqs.map(async (r, i) => settled[i] ?? (await next.join(r)).rank),
    );
    assertEquals(new Set(ranks).size, 40);
    const q = await next.query("", "", 0);
    assertEquals(q.members.length, 40);
    assertEquals(
      new Map(q.members.map((m) => [m.uuid, m.rank])),
      new Map(reqs.map((r, i) => [r.uuid, ranks[i]])),
    );
  } finally {
    await c.close();
  }
});
