/**
 * Ranks wrongly held Unresponsive come back by themselves: a live non-replica daos_server that
 * stops answering (SIGSTOP, as a partition or an overloaded host would look to the MS leader)
 * has its ranks marked Unresponsive while its engines keep running; once it answers again,
 * the leader's probe sees the same engines ready (same incarnation) and restores them to
 * Joined, without an engine restart or a new Join.
 */
import { deepEqual as assertEquals, match, ok as assert } from "node:assert/strict";
import { type JsonMember, LocalCluster } from "../cluster/local_cluster.ts";

Deno.test({
  name: "a live host's Unresponsive ranks return to Joined with the same engines",
  fn: async () => {
    const c = await LocalCluster.create({ servers: 2, replicas: 1, engines: 2 });
    let stoppedPid = 0;
    try {
      await c.startAll();
      const f = await c.dmg(["storage", "format"]);
      assert(f.code === 0, f.stdout + f.stderr);
      await c.waitFor("4 ranks joined", async () => (await c.joinedRanks()).length === 4, 30_000);
      const host = c.server(1);
      const all = await c.members();
      const before = all.filter((m) => m.addr === host.addr);
      assertEquals(before.length, 2);
      const engines = await c.enginePids(host.index);
      assertEquals(engines.filter(Boolean).length, 2);

      stoppedPid = host.proc!.pid;
      Deno.kill(stoppedPid, "SIGSTOP");
      const lost = await c.waitFor(`ranks of ${host.addr} unresponsive`, async () => {
        const mine = (await c.members()).filter((m) => m.addr === host.addr);
        return mine.every((m) => m.state === "unresponsive") ? mine : null;
      }, 20_000);
      for (const m of lost) match(m.info ?? "", /daos_server at 127\.0\.0\.2 unreachable/);

      Deno.kill(stoppedPid, "SIGCONT");
      stoppedPid = 0;
      const now = await c.waitFor("all four joined again", async () => {
        const ms = await c.members();
        return ms.every((m) => m.state === "joined") ? ms : null;
      }, 20_000);
      const back = now.filter((m) => m.addr === host.addr);
      const key = (ms: JsonMember[]) =>
        ms.map((m) => [m.rank, m.uuid, String(m.incarnation)]).sort();
      // The same engines: same ranks, UUIDs and incarnations, and the same processes; the
      // other host's engines were not restarted either.
      assertEquals(key(back), key(before));
      assertEquals(key(now), key(all));
      assertEquals(back.map((m) => m.info ?? ""), ["", ""]);
      assertEquals(await c.enginePids(host.index), engines);
      match(await c.log(0), /rank \d+ on 127\.0\.0\.2:\d+ restored to joined/);
    } finally {
      if (stoppedPid) {
        try {
          Deno.kill(stoppedPid, "SIGCONT");
        } catch { /* gone */ }
      }
      await c.destroy();
    }
  },
});
