import { deepEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { type RanksReq, RanksRespSchema } from "../../proto/gen/ts/ctl/ranks_pb.ts";
import { RankResultSchema } from "../../proto/gen/ts/shared/ranks_pb.ts";
import { listenControl } from "../lib/rpc/transport.ts";
import { idleHarness } from "../harness/testing/fixture.ts";
import { ctlRanksHandlers } from "../handlers/ctl_ranks.ts";
import { tcpProbe } from "../mgmt/management_service.ts";
import { ctlFanout, pingHost, serverTransportPool } from "./ctl_fanout.ts";

/** An insecure control listener on a free loopback port serving `handlers` for CtlSvc. */
function listenCtl(handlers: Partial<ServiceImpl<typeof CtlSvc>>) {
  return listenControl({
    host: "127.0.0.1",
    port: 0,
    security: { allowInsecure: true },
    routes: (r) => r.service(CtlSvc, handlers),
  });
}

/** A loopback address nothing listens on (a port just bound and freed). */
function deadAddress(): string {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const addr = `127.0.0.1:${(l.addr as Deno.NetAddr).port}`;
  l.close();
  return addr;
}

Deno.test("ctlFanout: one CtlSvc call per host with its ranks, as component server", async () => {
  const seen: { method: string; ranks: string; force: boolean; component: string | null }[] = [];
  const answer =
    (method: string, state: string) => (req: RanksReq, ctx: { requestHeader: Headers }) => {
      seen.push({
        method,
        ranks: req.ranks,
        force: req.force,
        component: ctx.requestHeader.get("x-daos-component"),
      });
      const ranks = req.ranks.split(",").flatMap((p) => {
        const [lo, hi] = p.split("-").map(Number);
        return Array.from({ length: (hi ?? lo) - lo + 1 }, (_, i) => lo + i);
      });
      // addr left empty for rank 0: the fan-out fills in the host.
      return create(RanksRespSchema, {
        results: ranks.map((rank) =>
          create(RankResultSchema, { rank, state, addr: rank === 0 ? "" : "x:1" })
        ),
      });
    };
  const l = await listenCtl({
    stopRanks: answer("stop", "stopped"),
    startRanks: answer("start", "ready"),
  });
  const pool = serverTransportPool({ allowInsecure: true });
  try {
    const f = ctlFanout(pool, 10_000);
    const res = await f.callRanks("StopRanks", new Map([[l.address, [0, 1, 2, 5]]]), true);
    assertEquals(seen, [{ method: "stop", ranks: "0-2,5", force: true, component: "server" }]);
    assertEquals(res.map((r) => [r.rank, r.state, r.addr]), [
      [0, "stopped", l.address],
      [1, "stopped", "x:1"],
      [2, "stopped", "x:1"],
      [5, "stopped", "x:1"],
    ]);
    // A host nobody serves: the whole call fails (the MS reports its ranks Unresponsive).
    const deadAddr = deadAddress();
    await rejects(
      () => f.callRanks("StartRanks", new Map([[l.address, [3]], [deadAddr, [4]]]), false),
      (e: Error) => e.message.includes(deadAddr),
    );
    assert(seen.some((s) => s.method === "start" && s.ranks === "3"));
  } finally {
    pool.close();
    await l.close();
  }
});

Deno.test("pingHost: a serving host answers (no engine touched); refused, hung and cut-off hosts are dead", async () => {
  const harness = idleHarness();
  const calls: string[] = [];
  const ranks = ctlRanksHandlers({ harness: () => harness, config: { name: "daos_server" } });
  const l = await listenCtl({
    // The real *Ranks handlers: the ping must be refused before any rank operation.
    prepShutdownRanks: (req, ctx) => {
      calls.push(req.ranks);
      return ranks.prepShutdownRanks(req, ctx);
    },
  });
  // Accepts TCP connections and never speaks: a stopped or wedged server.
  const hung = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const hungAddr = `127.0.0.1:${(hung.addr as Deno.NetAddr).port}`;
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of hung) held.push(c);
  })();
  const goneAddr = deadAddress();
  const pool = serverTransportPool({ allowInsecure: true });
  try {
    const f = ctlFanout(pool, 10_000);
    assert(f.pingHost, "the fan-out offers a ping");
    assertEquals(await f.pingHost(l.address, 2000), true, "before the harness started (fault 610)");
    await harness.start();
    assertEquals(await f.pingHost(l.address, 2000), true, "empty ranks refused");
    assertEquals(calls, ["", ""]);
    assertEquals(await f.pingHost(goneAddr, 2000), false, "nothing listening");
    // The TCP probe cannot tell a hung server from a live one; the ping can.
    assertEquals(await tcpProbe(hungAddr, 2000), true);
    assertEquals(await f.pingHost(hungAddr, 300), false, "listening but not answering");
  } finally {
    pool.close();
    hung.close();
    await accepting.catch(() => {});
    for (const c of held) c.close();
    await l.close();
    await harness.shutdown();
  }
});

Deno.test("pingHost: a secure pool without certificates falls back to the TCP probe", async () => {
  const open = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const addr = `127.0.0.1:${(open.addr as Deno.NetAddr).port}`;
  const pool = serverTransportPool({ allowInsecure: false });
  try {
    assertEquals(await pingHost(pool, addr, 2000), true);
    open.close();
    assertEquals(await pingHost(pool, addr, 2000), false);
  } finally {
    pool.close();
    try {
      open.close();
    } catch { /* closed above */ }
  }
});

Deno.test("probeHost: ranks with local state and incarnation from PingRanks; errors mean alive without a report; silence means dead", async () => {
  const harness = idleHarness();
  const handlers = ctlRanksHandlers({ harness: () => harness, config: { name: "daos_server" } });
  const l = await listenCtl({
    pingRanks: (req, ctx) =>
      req.ranks === "" && harness.isStarted()
        ? Promise.resolve(create(RanksRespSchema, {
          results: [
            create(RankResultSchema, { rank: 3, state: "ready", incarnation: 2n ** 60n + 1n }),
            create(RankResultSchema, { rank: 4, state: "starting", incarnation: 0n }),
          ],
        }))
        : handlers.pingRanks(req, ctx),
  });
  // A server without PingRanks (Unimplemented) still proves itself alive.
  const old = await listenCtl({});
  const goneAddr = deadAddress();
  const pool = serverTransportPool({ allowInsecure: true });
  try {
    const f = ctlFanout(pool, 10_000);
    assert(f.probeHost, "the fan-out offers a probe with rank states");
    assertEquals(await f.probeHost(l.address, 2000), { ranks: null }, "fault 610 before start");
    await harness.start();
    assertEquals(await f.probeHost(l.address, 2000), {
      ranks: [
        { rank: 3, state: "ready", incarnation: 2n ** 60n + 1n },
        { rank: 4, state: "starting", incarnation: 0n },
      ],
    });
    assertEquals(await f.probeHost(old.address, 2000), { ranks: null });
    assertEquals(await f.probeHost(goneAddr, 2000), null);
  } finally {
    pool.close();
    await l.close();
    await old.close();
    await harness.shutdown();
  }
});
