/**
 * SWIM soak (issue 11): 3 daos_servers x 2 engines with the default SWIM tunables, the machine
 * loaded by CPU burners this test starts (one per core, at the engines' priority) and stops.
 * For SOAK_MS no rank may be declared dead: every rank stays Joined with the same incarnation
 * (no exclusion, no restart) and no engine log says SWIM held a rank dead.
 */
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { LocalCluster } from "../cluster/local_cluster.ts";
import { startBurners, stopBurners } from "./cpu_burner.ts";

const SOAK_MS = 150_000;

Deno.test({
  name: "SWIM soak under CPU load: no rank wrongly declared dead",
  fn: async () => {
    const c = await LocalCluster.create({ servers: 3, replicas: 1, engines: 2 });
    let burners: Deno.ChildProcess[] = [];
    try {
      await c.startAll();
      const f = await c.dmg(["storage", "format"]);
      assert(f.code === 0, f.stdout + f.stderr);
      await c.waitFor("6 ranks joined", async () => (await c.joinedRanks()).length === 6, 60_000);
      const key = (ms: { rank: number; state: string; incarnation: number }[]) =>
        ms.map((m) => `${m.rank} ${m.state} ${m.incarnation}`).sort();
      const before = key(await c.members());
      burners = startBurners();
      const end = Date.now() + SOAK_MS;
      let polls = 0;
      while (Date.now() < end) {
        await new Promise((r) => setTimeout(r, 10_000));
        assertEquals(key(await c.members({ timeoutMs: 60_000 })), before);
        polls++;
      }
      await stopBurners(burners);
      burners = [];
      assert(polls >= 10, `only ${polls} polls during the soak`);
      for (const s of c.servers) {
        for (const e of [0, 1]) {
          const log = await Deno.readTextFile(`${s.dir}/engine${e}.log`);
          const dead = log.split("\n").filter((l) => / dead in rank \d+'s view/.test(l));
          assertEquals(dead, [], `${s.addr} engine ${e}: SWIM declared a live rank dead`);
        }
      }
    } finally {
      await stopBurners(burners);
      await c.destroy();
    }
  },
});
