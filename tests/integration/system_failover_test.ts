/**
 * MS failover with real daos_servers: the leader's whole server (daos_server, engines, etcd
 * member) is SIGKILLed while four fresh engines join; another replica takes over, every
 * member stays listed, and no rank is handed out twice (MS view and engine superblocks agree).
 */
import { deepEqual as assertEquals, notEqual, ok as assert } from "node:assert/strict";
import { readSuperblock } from "../../control/storage/superblock.ts";
import { type JsonMember, LocalCluster } from "../cluster/local_cluster.ts";

async function leader(c: LocalCluster): Promise<string> {
  const r = await c.dmgJson<{ current_leader: string }>(["system", "leader-query"]);
  if (!r.response?.current_leader) throw new Error(`no leader: ${r.error}`);
  return r.response.current_leader;
}

/** Every engine's superblock rank must belong to the member with the same UUID, once. */
async function checkRanksUnique(c: LocalCluster, members: JsonMember[]): Promise<void> {
  const ranks = members.map((m) => m.rank);
  assertEquals(new Set(ranks).size, ranks.length, `duplicate rank in ${ranks}`);
  assertEquals(new Set(members.map((m) => m.uuid)).size, members.length, "duplicate uuid");
  const byUuid = new Map(members.map((m) => [m.uuid, m]));
  for (const s of c.servers) {
    for (const e of [0, 1]) {
      const sb = await readSuperblock(`${s.dir}/scm${e}`);
      assert(sb && sb.validRank, `${s.addr} engine ${e} has no rank`);
      const m = byUuid.get(sb.uuid);
      assert(m, `${s.addr} engine ${e} (${sb.uuid}) is not a member`);
      assertEquals(m.rank, sb.rank, `${s.addr} engine ${e}: superblock vs MS`);
      assertEquals(m.addr, s.addr);
    }
  }
}

Deno.test({
  name:
    "system failover: leader's server killed during joins → new leader, ten members, unique ranks",
  fn: async (t) => {
    const c = await LocalCluster.create({ servers: 5, replicas: 3, engines: 2 });
    try {
      await c.startAll();
      await t.step("replicas formatted: six ranks joined", async () => {
        const f = await c.dmg(["storage", "format", "-l", "127.0.0.[1-3]"]);
        assert(f.code === 0, f.stdout + f.stderr);
        await c.waitFor("6 joined", async () => (await c.joinedRanks()).length === 6, 30_000);
        assertEquals(await c.joinedRanks(), [0, 1, 2, 3, 4, 5]);
      });

      let dead = "";
      await t.step(
        "leader killed while four engines join: another replica takes over",
        async () => {
          const lead = await leader(c);
          dead = lead.replace(/:\d+$/, "");
          const procs = await c.processes(dead);
          // daos_server, two engines and the etcd member.
          assert(procs.length >= 4, `expected the server's processes, found ${procs}`);
          const [, fmt] = await Promise.all([
            c.kill(dead),
            c.dmg(["storage", "format", "-l", "127.0.0.[4-5]"]),
          ]);
          assert(fmt.code === 0, fmt.stdout + fmt.stderr);
          // Only a bound against a hang: how fast failover is belongs to the failover bench.
          const next = await c.waitFor("a new leader", async () => {
            const l = await leader(c);
            return l !== lead ? l : null;
          }, 120_000);
          notEqual(next, lead);
          assertEquals(await c.processes(dead), [], "nothing of the killed server survives");
        },
      );

      await t.step(
        "all ten members listed, the dead host's ranks not Joined, ranks unique",
        async () => {
          const members = await c.waitFor("ten members, eight joined", async () => {
            const ms = await c.members();
            const joined = ms.filter((m) => m.state === "joined");
            return ms.length === 10 && joined.length === 8 ? ms : null;
          }, 30_000);
          assertEquals(members.map((m) => m.rank).sort((a, b) => a - b), [
            0,
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            8,
            9,
          ]);
          const deadAddr = c.server(dead).addr;
          // Count them first: an address format mismatch would otherwise check nothing.
          const ofDead = members.filter((m) => m.addr === deadAddr);
          assertEquals(ofDead.length, 2, `two ranks of the dead host ${deadAddr}`);
          for (const m of ofDead) notEqual(m.state, "joined", `rank ${m.rank} of the dead host`);
          await checkRanksUnique(c, members);
        },
      );

      await t.step("the killed server comes back with its ranks", async () => {
        const before = new Map((await c.members()).map((m) => [m.uuid, m.rank]));
        await c.start(dead);
        const members = await c.waitFor(
          "all ten joined",
          async () => {
            const ms = await c.members();
            return ms.filter((m) => m.state === "joined").length === 10 ? ms : null;
          },
          30_000,
        );
        assertEquals(members.length, 10);
        for (const m of members) assertEquals(m.rank, before.get(m.uuid), `uuid ${m.uuid}`);
        await checkRanksUnique(c, members);
      });
    } finally {
      await c.destroy();
    }
  },
});
