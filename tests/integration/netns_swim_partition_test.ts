/**
 * SWIM across a partition (issue 11): three hosts in network namespaces, 2 engines each, h0
 * the MS replica (and the admin node running dmg). Unplugging h2's link: the engines on h0/h1
 * declare h2's ranks dead by SWIM and the MS excludes them with the SWIM reason (they may be
 * Unresponsive first: the control plane's probe sees h2's daos_server gone), while h2's own
 * engines, a minority, report nobody, so h0/h1's ranks stay Joined. Plugging it back: h2's
 * engines find themselves out of the group (their peers answer out-of-group, or the map
 * reaches them), terminate themselves, are restarted by their daos_server and join again.
 */
import { deepEqual as assertEquals, match, ok as assert } from "node:assert/strict";
import { waitFor } from "../cluster/local_cluster.ts";
import { withNetnsCluster } from "../netns/cluster.ts";

const ADMIN = 0;
const CUT = 2;

Deno.test("netns: a partitioned host's ranks are Excluded by SWIM, heal → they rejoin", async () => {
  await withNetnsCluster({ servers: 3, replicas: 1, engines: 2 }, async (c, lab) => {
    await c.startAll();
    const fmt = await c.dmg(["storage", "format"], { on: ADMIN });
    assertEquals(fmt.code, 0, fmt.stderr);
    await waitFor(
      "6 joined ranks",
      async () => (await c.joinedRanks({ on: ADMIN })).length === 6,
      60_000,
    );
    const all = await c.members({ on: ADMIN });
    const cut = c.server(CUT).addr;
    const victims = all.filter((m) => m.addr === cut);
    assertEquals(victims.length, 2);
    const others = (ms: typeof all) =>
      ms.filter((m) => m.addr !== cut).map((m) => [m.rank, m.state, m.incarnation]);
    await new Promise((r) => setTimeout(r, 3_000)); // every engine holds the full map

    const t0 = Date.now();
    await lab.linkDown(CUT);
    const out = await waitFor(`ranks of ${cut} excluded`, async () => {
      const ms = await c.members({ on: ADMIN, timeoutMs: 30_000 });
      return ms.filter((m) => m.addr === cut).every((m) => m.state === "excluded") ? ms : null;
    }, 60_000);
    console.log(`partition → both ranks Excluded in ${Date.now() - t0} ms`);
    for (const m of out.filter((x) => x.addr === cut)) match(m.info ?? "", /swim/);
    assertEquals(others(out), others(all));

    await lab.linkUp(CUT);
    const back = await waitFor("all six joined again", async () => {
      const ms = await c.members({ on: ADMIN, timeoutMs: 30_000 });
      return ms.length === 6 && ms.every((m) => m.state === "joined") ? ms : null;
    }, 120_000);
    for (const v of victims) {
      const now = back.find((m) => m.rank === v.rank)!;
      assert(now.incarnation !== v.incarnation, `rank ${v.rank} was not restarted`);
    }
    assertEquals(others(back), others(all));
  });
});
