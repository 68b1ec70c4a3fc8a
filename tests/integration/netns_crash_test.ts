/**
 * Crash of a non-replica server (issue 7): four hosts in network namespaces (h0-h2 MS
 * replicas, h3 a plain server with two engines). kill -9 of h3's daos_server (with its
 * engines, as a crash) → the MS leader reports h3's ranks Unresponsive; restarting it on the
 * same host (its tmpfs SCM and superblocks survive, as on a real machine) → the same ranks,
 * with the same UUIDs, are Joined again and no rank is added.
 */
import { deepEqual as assertEquals, match, ok as assert } from "node:assert/strict";
import { type JsonMember, waitFor } from "../cluster/local_cluster.ts";
import { withNetnsCluster } from "../netns/cluster.ts";
import { RankSet } from "../../control/lib/rankset.ts";

const VICTIM = 3;
const ADMIN = 0; // dmg runs on a replica host

function byRank(ms: JsonMember[]): Map<number, JsonMember> {
  return new Map(ms.map((m) => [m.rank, m]));
}

Deno.test("netns: kill -9 of a non-replica server → its ranks Unresponsive; restart → same ranks", async () => {
  await withNetnsCluster({
    servers: 4,
    replicas: 3,
    engines: 2,
    extraDbYaml: "  host_dead_after_ms: 1500\n  probe_interval_ms: 250",
  }, async (c) => {
    await c.startAll();
    const fmt = await c.dmg(["storage", "format"], { on: ADMIN });
    assertEquals(fmt.code, 0, fmt.stderr);
    await waitFor("8 joined ranks", async () => (await c.joinedRanks({ on: ADMIN })).length === 8);
    const victim = c.server(VICTIM);
    assert(!victim.isReplica);
    const before = await c.members({ on: ADMIN });
    const victimRanks = before.filter((m) => m.addr === victim.addr).map((m) => m.rank).sort();
    assertEquals(victimRanks.length, 2);
    const others = before.filter((m) => m.addr !== victim.addr).map((m) => m.rank);

    await c.kill(VICTIM); // SIGKILL to daos_server and its engines

    const down = await waitFor("the victim's ranks unresponsive", async () => {
      const ms = await c.members({ on: ADMIN });
      return victimRanks.every((r) => byRank(ms).get(r)?.state === "unresponsive") ? ms : null;
    }, 30_000);
    for (const r of others) assertEquals(byRank(down).get(r)?.state, "joined", `rank ${r}`);
    for (const r of victimRanks) {
      match(byRank(down).get(r)!.info ?? "", new RegExp(`${victim.ip} unreachable`));
    }
    // The text table groups them in one row (dmg.md §5.1), e.g. "[4-5] Unresponsive".
    const text = await c.dmg(["system", "query"], { on: ADMIN });
    assertEquals(text.code, 0, text.stderr);
    const set = RankSet.fromRanks(victimRanks).toRangedString();
    assert(
      text.stdout.split("\n").some((l) =>
        l.trim().split(/\s+/).join(" ") === `${set} Unresponsive`
      ),
      `no "${set} Unresponsive" row in:\n${text.stdout}`,
    );

    await c.start(VICTIM);

    const back = await waitFor("the victim's ranks joined again", async () => {
      const ms = await c.members({ on: ADMIN });
      return ms.every((m) => m.state === "joined") ? ms : null;
    }, 30_000);
    assertEquals(back.map((m) => m.rank).sort(), before.map((m) => m.rank).sort());
    for (const r of victimRanks) {
      const [was, now] = [byRank(before).get(r)!, byRank(back).get(r)!];
      assertEquals([now.uuid, now.addr], [was.uuid, was.addr], `rank ${r}`);
      assert(now.incarnation > was.incarnation, `rank ${r}: incarnation did not advance`);
    }
  });
});
