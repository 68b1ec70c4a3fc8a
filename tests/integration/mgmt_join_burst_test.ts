/**
 * Bursts against the MS's etcd client (issue 15 item 11): 1024 transactions issued at once
 * all complete (each one's deadline starts when it is handed to gRPC, not when it was queued
 * behind the others), a read larger than gRPC's default 4 MiB receive limit works (the whole
 * membership of a 10k-rank system is read at once), and a burst of 1024 joins gives 1024
 * distinct ranks.
 */
import { assertEquals } from "./mgmt_assert.ts";
import { joinReq, MsCluster } from "./mgmt_helpers.ts";

Deno.test("etcd client: 1024 txns issued at once all succeed", async () => {
  const c = await MsCluster.start(1, "burst1");
  try {
    const ms = await c.leader();
    for (let round = 0; round < 2; round++) {
      const rs = await Promise.all(
        Array.from(
          { length: 1024 },
          (_, i) => ms.etcd!.txn([], [{ put: `/burst/${round}/${i}`, value: "x" }]),
        ),
      );
      assertEquals(rs.filter((r) => r.succeeded).length, 1024);
    }
  } finally {
    await c.close();
  }
});

Deno.test("etcd client: a prefix read of 6 MB (past gRPC's 4 MiB default) succeeds", async () => {
  const c = await MsCluster.start(1, "burst2");
  try {
    const ms = await c.leader();
    const value = "v".repeat(1_000_000); // etcd takes requests up to 1.5 MiB
    for (let i = 0; i < 6; i++) await ms.etcd!.txn([], [{ put: `/big/${i}`, value }]);
    const { kvs } = await ms.etcd!.getPrefix("/big/");
    assertEquals(kvs.map((kv) => kv.value.length), Array(6).fill(value.length));
  } finally {
    await c.close();
  }
});

Deno.test("MS: a burst of 1024 joins gives 1024 distinct ranks", async () => {
  const c = await MsCluster.start(1, "burst3");
  try {
    const ms = await c.leader();
    const outs = await Promise.all(
      Array.from(
        { length: 1024 },
        (_, i) => ms.join(joinReq(i, `10.9.${i >> 8}.${i & 255}:10001`)),
      ),
    );
    assertEquals(new Set(outs.map((o) => o.rank)).size, 1024);
    assertEquals((await ms.db!.read()).members.size, 1024);
  } finally {
    await c.close();
  }
});
