/**
 * SWIM end to end (issue 11): 3 daos_servers x 2 engines with the default SWIM tunables. The
 * engines of one host are SIGSTOPped (their daos_server keeps running, so the control plane's
 * liveness probe sees nothing wrong): the other engines' SWIM declares them dead, one of them
 * raises swim_rank_dead through daos_server.sock, the MS leader marks both ranks Excluded with
 * the SWIM reason and distributes the map; the other ranks stay Joined. After SIGCONT the
 * stopped engines find themselves out of the map, terminate themselves and are restarted by
 * their daos_server (auto-restart): both ranks are Joined again with a new incarnation.
 */
import { deepEqual as assertEquals, match, ok as assert } from "node:assert/strict";
import { type JsonMember, LocalCluster } from "../cluster/local_cluster.ts";
import { closeTelemetryReader, readEngineMetrics } from "../../engine-ffi/telemetry.ts";

/** A value metric of a local engine's telemetry tree (0 when absent). */
function metric(c: LocalCluster, server: number, instance: number, path: string): number {
  const m = readEngineMetrics(c.name, instance, { dir: c.server(server).socketDir });
  const x = m.metrics.find((v) => v.path === path);
  return x && x.type !== "duration" ? x.value : 0;
}

/**
 * SIGSTOP → Excluded bound. The floor is about ping timeout x 2 + suspicion timeout
 * (0.9 + 0.9 + 10 s) plus up to a period before somebody probes the rank; the rest is the
 * up-call, the MS write and a slow 2-core machine.
 */
const EXCLUDE_BOUND_MS = 40_000;

Deno.test({
  name: "SIGSTOPped engines of one host are Excluded by SWIM, and rejoin after SIGCONT",
  fn: async () => {
    const c = await LocalCluster.create({ servers: 3, replicas: 1, engines: 2 });
    let stopped: number[] = [];
    try {
      await c.startAll();
      const f = await c.dmg(["storage", "format"]);
      assert(f.code === 0, f.stdout + f.stderr);
      await c.waitFor("6 ranks joined", async () => (await c.joinedRanks()).length === 6, 60_000);
      const host = c.server(2);
      const all = await c.members();
      const victims = all.filter((m) => m.addr === host.addr);
      assertEquals(victims.length, 2);
      // Every engine holds the full map (and so every SWIM member) before the stop.
      await new Promise((r) => setTimeout(r, 3_000));

      stopped = (await c.enginePids(host.index)).filter(Boolean);
      assertEquals(stopped.length, 2);
      const t0 = Date.now();
      for (const p of stopped) Deno.kill(p, "SIGSTOP");
      const out = await c.waitFor(`ranks of ${host.addr} excluded`, async () => {
        const ms = await c.members();
        const mine = ms.filter((m) => m.addr === host.addr);
        return mine.every((m) => m.state === "excluded") ? ms : null;
      }, EXCLUDE_BOUND_MS);
      const took = Date.now() - t0;
      console.log(`SIGSTOP → both ranks Excluded in ${took} ms`);
      for (const m of out.filter((x) => x.addr === host.addr)) {
        match(m.info ?? "", /swim/, `rank ${m.rank}: ${m.info}`);
      }
      const others = (ms: JsonMember[]) =>
        ms.filter((m) => m.addr !== host.addr).map((m) => [m.rank, m.state, m.incarnation]);
      assertEquals(others(out), others(all));
      // The survivors' telemetry: every one probed; the deaths were counted and stamped.
      let deaths = 0;
      for (const srv of [0, 1]) {
        for (const inst of [0, 1]) {
          assert(metric(c, srv, inst, "swim/pings_sent") > 0, `server ${srv} engine ${inst}`);
          deaths += metric(c, srv, inst, "events/dead_ranks");
          if (metric(c, srv, inst, "events/dead_ranks") > 0) {
            assert(metric(c, srv, inst, "events/last_event_ts") >= Math.floor(t0 / 1000));
          }
        }
      }
      assert(deaths >= 2, `dead_ranks over the survivors: ${deaths}`);

      for (const p of stopped) Deno.kill(p, "SIGCONT");
      stopped = [];
      const back = await c.waitFor("all six joined again", async () => {
        const ms = await c.members();
        return ms.length === 6 && ms.every((m) => m.state === "joined") ? ms : null;
      }, 90_000);
      for (const v of victims) {
        const now = back.find((m) => m.rank === v.rank)!;
        assert(now.incarnation !== v.incarnation, `rank ${v.rank} was not restarted`);
      }
      assertEquals(others(back), others(all));
    } finally {
      for (const p of stopped) {
        try {
          Deno.kill(p, "SIGCONT");
        } catch { /* gone */ }
      }
      closeTelemetryReader();
      await c.destroy();
    }
  },
});
