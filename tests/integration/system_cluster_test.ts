/**
 * The whole control plane on one machine: three MS replicas and two non-replica daos_servers on
 * 127.0.0.[1-5], two real engines each, driven by bin/dmg. One cluster serves every step; each
 * step states what it leaves behind (all ten ranks Joined) for the next.
 */
import { deepEqual as assertEquals, match, ok as assert } from "node:assert/strict";
import { createClient } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { SystemStartReqSchema } from "../../proto/gen/ts/mgmt/system_pb.ts";
import { NotLeaderError } from "../../control/lib/rpc/error_codec.ts";
import { fanOut } from "../../control/lib/rpc/fanout.ts";
import { serverTransportPool } from "../../control/server/ctl_fanout.ts";
import { readSuperblock } from "../../control/storage/superblock.ts";
import { type JsonMember, LocalCluster } from "../cluster/local_cluster.ts";

const ALL = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

function byRank(ms: JsonMember[]): Map<number, JsonMember> {
  return new Map(ms.map((m) => [m.rank, m]));
}

async function leader(c: LocalCluster): Promise<string> {
  const r = await c.dmgJson<{ current_leader: string }>(["system", "leader-query"]);
  if (!r.response?.current_leader) throw new Error(`no leader: ${r.error}`);
  return r.response.current_leader;
}

Deno.test({
  name:
    "system: 3 replicas + 2 servers, format → ranks 0-9 joined, stop/start by host, restarts, engine kill, follower hint",
  fn: async (t) => {
    const c = await LocalCluster.create({ servers: 5, replicas: 3, engines: 2 });
    try {
      await c.startAll();
      let members: JsonMember[] = [];

      await t.step(
        "format: ten ranks Joined, rank 0 on the bootstrap replica's engine 0",
        async () => {
          const f = await c.dmg(["storage", "format"]);
          assert(f.code === 0, f.stdout + f.stderr);
          await c.waitFor(
            "ranks 0-9 joined",
            async () => (await c.joinedRanks()).length === 10,
            30_000,
          );
          members = await c.members();
          assertEquals(
            members.map((m) => m.rank).sort((a, b) => a - b),
            ALL,
          );
          assertEquals(new Set(members.map((m) => m.uuid)).size, 10);
          // Two ranks per host.
          for (const s of c.servers) {
            assertEquals(members.filter((m) => m.addr === s.addr).length, 2, s.addr);
          }
          // daos_server writes the rank into the superblock when the join reply arrives, a
          // moment after the MS shows the rank joined (a gap that grows under load).
          const sb0 = await c.waitFor(
            "rank 0 in the superblock of the bootstrap replica's engine 0",
            async () => {
              const sb = await readSuperblock(`${c.server(0).dir}/scm0`);
              return sb?.rank === 0 ? sb : null;
            },
          );
          assertEquals(sb0?.rank, 0);
          assertEquals(byRank(members).get(0)?.addr, c.server(0).addr);
          assertEquals(byRank(members).get(0)?.uuid, sb0?.uuid);
        },
      );

      await t.step(
        "a follower answers a leader-only call with NotLeader and a hint; dmg follows it",
        async () => {
          const lead = await leader(c);
          const follower = c.servers.find((s) => s.isReplica && s.addr !== lead)!;
          const pool = serverTransportPool({ allowInsecure: true });
          try {
            const [r] = await fanOut(
              pool,
              [follower.addr],
              (tr, o) =>
                createClient(MgmtSvc, tr).systemStart(
                  create(SystemStartReqSchema, { sys: c.name, ranks: "0" }),
                  o,
                ),
              { deadline: Date.now() + 10_000, name: "SystemStart" },
            );
            assert(r.error instanceof NotLeaderError, `expected NotLeader, got ${r.error}`);
            assertEquals(r.error.leaderHint, lead);
          } finally {
            pool.close();
          }
          // dmg configured with only that follower still gets the leader's answer.
          const conf = `${c.root}/dmg_follower.yml`;
          await Deno.writeTextFile(
            conf,
            `name: ${c.name}\nport: ${c.port}\nhostlist: [${follower.ip}]\ntransport_config:\n  allow_insecure: true\n`,
          );
          const q = await new Deno.Command("bin/dmg", {
            args: ["-o", conf, "system", "start", "--ranks", "0"],
            cwd: new URL("../../", import.meta.url).pathname,
          }).output();
          const out = new TextDecoder().decode(q.stdout) + new TextDecoder().decode(q.stderr);
          assert(q.code === 0, out);
          match(out, /0\s+start\s+OK/);
        },
      );

      await t.step(
        "system stop --rank-hosts 127.0.0.2 stops exactly that host's ranks; start rejoins them",
        async () => {
          const host2 = c.server("127.0.0.2");
          const mine = members.filter((m) => m.addr === host2.addr).map((m) => m.rank).sort();
          const before = byRank(await c.members());
          // dmg -j keeps DAOS's Go field names here ("Results", "Rank").
          const stop = await c.dmgJson<{ Results: { Rank: number; state: string }[] }>([
            "system",
            "stop",
            "--rank-hosts",
            "127.0.0.2",
          ]);
          assert(stop.code === 0 && stop.response, JSON.stringify(stop));
          assertEquals(stop.response.Results.map((r) => r.Rank).sort(), mine);
          assertEquals(stop.response.Results.map((r) => r.state), ["stopped", "stopped"]);
          const after = byRank(await c.members());
          for (const r of ALL) {
            assertEquals(after.get(r)?.state, mine.includes(r) ? "stopped" : "joined", `rank ${r}`);
          }
          assertEquals((await c.enginePids(host2.index)).filter(Boolean).length, 0);

          const start = await c.dmg(["system", "start", "--rank-hosts", "127.0.0.2"]);
          assert(start.code === 0, start.stdout + start.stderr);
          await c.waitFor(
            "host 2 ranks joined again",
            async () => (await c.joinedRanks()).length === 10,
          );
          const again = byRank(await c.members());
          for (const r of mine) {
            assert(
              again.get(r)!.incarnation > before.get(r)!.incarnation,
              `rank ${r}: incarnation ${again.get(r)!.incarnation} not above ${
                before.get(r)!.incarnation
              }`,
            );
            assertEquals(again.get(r)!.uuid, before.get(r)!.uuid);
          }
        },
      );

      await t.step(
        "restarting servers keeps their ranks (bootstrap replica, follower, non-replica)",
        async () => {
          const before = byRank(await c.members());
          for (const ip of ["127.0.0.1", "127.0.0.3", "127.0.0.5"]) {
            const s = c.server(ip);
            const code = await c.stop(ip);
            assertEquals(code, 0, `clean stop of ${ip}`);
            // Clean stop leaves no socket or active config behind ...
            assertEquals([...Deno.readDirSync(s.socketDir)].map((e) => e.name), []);
            // ... and no process: engines and the etcd member stopped with it.
            assertEquals(await c.processes(ip), [], `processes of ${ip} after a clean stop`);
            await c.start(ip);
            await c.waitFor(`${ip} ranks joined again`, async () => {
              const now = await c.members();
              // New engine processes: joined with a larger incarnation than before the stop.
              return now.filter((m) =>
                m.addr === s.addr && m.state === "joined" &&
                m.incarnation > before.get(m.rank)!.incarnation
              ).length === 2;
            }, 30_000);
          }
          await c.waitFor(
            "all ten joined",
            async () => (await c.joinedRanks()).length === 10,
            30_000,
          );
          const after = await c.members();
          assertEquals(after.length, 10);
          for (const m of after) {
            assertEquals(m.uuid, before.get(m.rank)!.uuid, `rank ${m.rank} kept its engine`);
            assertEquals(m.addr, before.get(m.rank)!.addr);
          }
        },
      );

      await t.step("kill -9 of one engine: its rank Errored with the exit message", async () => {
        const s = c.server("127.0.0.4");
        const pids = await c.enginePids(s.index);
        assert(pids[1] > 0, `engine 1 of ${s.addr} not running`);
        const sb = await readSuperblock(`${s.dir}/scm1`);
        const rank = sb!.rank!;
        Deno.kill(pids[1], "SIGKILL");
        const m = await c.waitFor(`rank ${rank} errored`, async () => {
          const x = byRank(await c.members()).get(rank);
          return x?.state === "errored" ? x : null;
        }, 10_000);
        match(m.info ?? "", /DAOS engine 1 exited unexpectedly: signal: killed/);
        // The other ranks are untouched.
        assertEquals((await c.joinedRanks()).length, 9);
      });
    } finally {
      await c.destroy();
    }
  },
});
