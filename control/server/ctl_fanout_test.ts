import { deepEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { type RanksReq, RanksRespSchema } from "../../proto/gen/ts/ctl/ranks_pb.ts";
import { RankResultSchema } from "../../proto/gen/ts/shared/ranks_pb.ts";
import { listenControl } from "../lib/rpc/transport.ts";
import { ctlFanout, serverTransportPool } from "./ctl_fanout.ts";

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
  const l = await listenControl({
    host: "127.0.0.1",
    port: 0,
    security: { allowInsecure: true },
    routes: (r) =>
      r.service(CtlSvc, {
        stopRanks: answer("stop", "stopped"),
        startRanks: answer("start", "ready"),
      }),
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
    const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadAddr = `127.0.0.1:${(dead.addr as Deno.NetAddr).port}`;
    dead.close();
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
