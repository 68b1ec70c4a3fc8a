/**
 * Joins survive transient etcd failures of the MS leader's write (a slow txn past its deadline
 * under a burst of joins, a lost reply): the leader retries the fenced write, and an attempt
 * that did apply is recognised by its txn id, so no rank is issued twice.
 */
import { GRPCDeadlineExceededError, GRPCUnavailableError } from "etcd3";
import { assertEquals, assertRejects } from "./mgmt_assert.ts";
import * as net from "node:net";
import { EtcdClient } from "../../control/mgmt/etcd_client.ts";
import { Fault } from "../../control/lib/fault.ts";
import { joinReq, MsCluster } from "./mgmt_helpers.ts";

type Txn = EtcdClient["txn"];

/** Replaces the client's txn for the next `n` calls with `fail` (then the real one again). */
function failTxns(
  etcd: EtcdClient,
  n: number,
  fail: (real: Txn, ...a: Parameters<Txn>) => ReturnType<Txn>,
) {
  const real: Txn = etcd.txn.bind(etcd);
  let left = n;
  etcd.txn = (...a) => left-- > 0 ? fail(real, ...a) : real(...a);
  return { calls: () => n - Math.max(left, 0) };
}

Deno.test("MS join: txns failing with deadline/unavailable are retried, joins succeed", async () => {
  const c = await MsCluster.start(1, "retry1");
  try {
    const ms = await c.leader();
    const f = failTxns(ms.etcd!, 2, () => {
      return Promise.reject(
        new GRPCDeadlineExceededError("4 DEADLINE_EXCEEDED: Deadline exceeded after 0.506s"),
      );
    });
    const outs = await Promise.all(
      Array.from({ length: 150 }, (_, i) => ms.join(joinReq(i, `10.0.${i >> 8}.${i & 255}:10001`))),
    );
    assertEquals(f.calls(), 2);
    assertEquals(new Set(outs.map((o) => o.rank)).size, 150);
    const s = await ms.db!.read();
    assertEquals(s.members.size, 150);
    assertEquals(s.nextRank, 151);
  } finally {
    await c.close();
  }
});

Deno.test("MS join: a txn applied whose reply was lost is not applied twice", async () => {
  const c = await MsCluster.start(1, "retry2");
  try {
    const ms = await c.leader();
    // Applied by etcd, then the reply "times out"; the read that would resolve it fails too.
    const realGetPrefix = ms.etcd!.getPrefix.bind(ms.etcd!);
    let failReads = 0;
    ms.etcd!.getPrefix = (...a) =>
      failReads-- > 0
        ? Promise.reject(new GRPCUnavailableError("14 UNAVAILABLE"))
        : realGetPrefix(...a);
    failTxns(ms.etcd!, 1, async (real, ...a) => {
      await real(...a);
      failReads = 1;
      throw new GRPCDeadlineExceededError("4 DEADLINE_EXCEEDED");
    });
    const outs = await Promise.all(
      Array.from({ length: 50 }, (_, i) => ms.join(joinReq(i, `10.1.0.${i}:10001`))),
    );
    const ranks = outs.map((o) => o.rank).sort((a, b) => a - b);
    assertEquals(ranks, Array.from({ length: 50 }, (_, i) => i + 1));
    const s = await ms.db!.read();
    assertEquals(s.members.size, 50);
    assertEquals(s.nextRank, 51, "ranks issued once");
    assertEquals([...s.members.values()].map((m) => m.rank).sort((a, b) => a - b), ranks);
  } finally {
    await c.close();
  }
});

Deno.test("MS join: transient errors are not retried once leadership is gone", async () => {
  const c = await MsCluster.start(1, "retry3");
  try {
    const ms = await c.leader();
    c.db.writeRetryMs = 60_000; // only the lost leadership may end the retries
    const f = failTxns(ms.etcd!, 1000, async () => {
      // Leadership ends (lease abandoned, no new campaign) while the write is failing.
      await ms.election!.abandon();
      throw new GRPCDeadlineExceededError("4 DEADLINE_EXCEEDED");
    });
    // Reported as the MS database being unavailable, with the etcd error as its cause.
    const e = await assertRejects(
      () => ms.join(joinReq(0, "10.2.0.1:10001")),
      Fault,
      "the MS database is unavailable: etcd at",
    );
    assertEquals((e as Fault).code, 400);
    assertEquals((e as Fault).cause instanceof GRPCDeadlineExceededError, true);
    assertEquals(f.calls(), 1, "no retry without leadership");
  } finally {
    await c.close();
  }
});

/** A TCP relay to 127.0.0.1:`port` that can hold back the server's bytes for a while. */
async function stallableRelay(port: number) {
  const socks = new Set<net.Socket>();
  let held: Buffer[] | null = null;
  const pipes: { c: net.Socket; queue: Buffer[] }[] = [];
  const server = net.createServer((c) => {
    const up = net.connect(port, "127.0.0.1");
    const pipe = { c, queue: [] as Buffer[] };
    pipes.push(pipe);
    for (const s of [c, up]) {
      socks.add(s);
      s.on("error", () => {});
      s.on("close", () => socks.delete(s));
    }
    c.on("data", (d) => up.write(d));
    up.on("data", (d: Buffer) => held ? pipe.queue.push(d) : c.write(d));
    c.on("close", () => up.destroy());
    up.on("close", () => c.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    stall: () => held = [],
    resume: () => {
      held = null;
      for (const p of pipes) for (const d of p.queue.splice(0)) p.c.write(d);
    },
    close: async () => {
      for (const s of socks) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

Deno.test("etcd client with one endpoint: one call past its deadline does not fail the next", async () => {
  const c = await MsCluster.start(1, "retry4");
  const relay = await stallableRelay(c.db.ports[c.replicas[0]].client);
  const etcd = new EtcdClient([relay.url], 200);
  try {
    await etcd.txn([], [{ put: "/retry4/k", value: "1" }]);
    relay.stall(); // etcd answers late, as under a burst of 1024 join txns
    await assertRejects(() => etcd.get("/retry4/k"), GRPCDeadlineExceededError, "DEADLINE");
    relay.resume();
    // With a circuit breaker on the only host, this call was refused for 250 ms.
    assertEquals((await etcd.get("/retry4/k"))?.value, "1");
  } finally {
    etcd.close();
    await relay.close();
    await c.close();
  }
});
