/**
 * MS pools on real etcd (engines scripted): records survive in the database, rank states
 * drive the pool maps (exclusion → targets DOWN; rejoin → map re-pushed), a destroy with a
 * rank away is deferred with a RAS event and finished when the rank joins again; a create cut
 * by the loss of its leader is cleaned up by the next leader.
 */
import { assert, assertEquals, assertRejects } from "./mgmt_assert.ts";
import { joinReq, MsCluster, waitFor } from "./mgmt_helpers.ts";

const GiB = 1024 ** 3;
const UUID = "44444444-4444-4444-4444-444444444444";

function tank(uuid = UUID) {
  return {
    uuid,
    label: "tank",
    user: "root@",
    group: "root@",
    ranks: [],
    totalBytes: 3 * GiB,
    tierRatio: [1, 0],
    numRanks: 0,
    tierBytes: [],
    numSvcReps: 0,
    props: {},
  };
}

Deno.test("MS pools: create, exclusion hook, deferred destroy finished on rejoin", async () => {
  const c = await MsCluster.start(1);
  try {
    const ms = await c.leader();
    const reqs = [0, 1, 2].map((i) => joinReq(i, `127.0.0.${2 + i}:10001`));
    for (const r of reqs) await ms.join(r);
    const made = await ms.poolCreate(tank());
    assertEquals([made.tgtRanks, made.svcReps.length, made.tierBytes[0]], [[1, 2, 3], 3, GiB]);
    assertEquals((await ms.listPools()).map((p) => [p.label, p.state]), [["tank", "Ready"]]);
    // Rank 2 administratively excluded: its targets go DOWN in the pool's map (hook).
    await ms.systemExclude({ ranks: "2", hosts: "", clear: false });
    const q = await waitFor("rank 2 disabled in pool tank", async () => {
      const r = await ms.poolQuery("tank", 0n);
      return r.disabledRanks === "2" ? r : undefined;
    });
    assertEquals([q.pool.mapVersion, q.activeTargets, q.degraded], [2, 8, true]);
    // Destroy while rank 2 is away: deferred, Destroying, pool_destroy_deferred raised.
    await ms.poolDestroy("tank");
    assertEquals((await ms.listPools()).map((p) => p.state), ["Destroying"]);
    const ev = await waitFor("pool_destroy_deferred event", async () => {
      const got = await ms.getEvents({ after: 0n, since: "", ranks: "", limit: 0 });
      return got.events.find((e) => e.event?.id === 12);
    });
    assert(ev.event?.msg.includes(UUID), String(ev.event?.msg));
    // Rank 2 back: cleared, rejoins; the destroy is re-sent and the record dropped.
    await ms.systemExclude({ ranks: "2", hosts: "", clear: true });
    await ms.join({ ...reqs[1], rank: 2 });
    await waitFor("pool record dropped", async () => (await ms.listPools()).length === 0);
    assertEquals(c.poolEngine.calls.filter((x) => x.startsWith("destroy")).length, 2);
    await assertRejects(() => ms.poolDestroy("tank"), Error, "unable to find pool service");
  } finally {
    await c.close();
  }
});

Deno.test("MS pools: a create cut by the leader's loss is destroyed and removed by the next leader", async () => {
  const c = await MsCluster.start(3);
  let release = () => {};
  try {
    const old = await c.leader();
    for (const i of [0, 1, 2]) await old.join(joinReq(i, `127.0.0.${2 + i}:10001`));
    // The engines take their time: the leader is lost while the record says Creating.
    c.poolEngine.createGate = new Promise<void>((r) => release = r);
    const cut = old.poolCreate(tank()).then(() => "created", (e) => String(e));
    await waitFor("pool tank Creating", async () => {
      const pools = await old.listPools();
      return pools.length === 1 && pools[0].state === "Creating";
    });
    await old.stop(); // the leader and its etcd member go away mid-create
    const next = await c.leader();
    assert(next !== old, "a new leader");
    await waitFor(
      "the half-made pool removed by the new leader",
      async () => (await next.listPools()).length === 0,
      15_000,
    );
    assert(c.poolEngine.calls.includes(`destroy ${UUID} 1,2,3`), c.poolEngine.calls.join("; "));
    assert(
      c.logs.some((l) => l.includes(`pool ${UUID} is in unexpected state Creating`)),
      "the clean-up is logged",
    );
    // The old leader's create ends without a pool; the label is free for a new one.
    c.poolEngine.createGate = null;
    release();
    assert((await cut) !== "created", "the cut create did not succeed");
    assertEquals((await next.listPools()).length, 0);
    const U2 = "55555555-5555-5555-5555-555555555555";
    const again = await next.poolCreate(tank(U2));
    assertEquals(again.tgtRanks, [1, 2, 3]);
    assertEquals((await next.listPools()).map((p) => [p.uuid, p.label, p.state]), [
      [U2, "tank", "Ready"],
    ]);
  } finally {
    release();
    await c.close();
  }
});
