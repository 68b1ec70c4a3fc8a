/**
 * The system group map reaches the engines (GroupUpdate, server.md §2.7–2.8): two daos_servers
 * with two real engines each. An engine answers dRPC PingRank of another rank only by pinging
 * that rank's fabric URI from its group map, and (engine mgmt_module.c) only when the engine
 * answering has the incarnation the map names: so a successful cross-rank PingRank proves the
 * map with that rank's current engine is there.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  DaosRespSchema,
  GroupUpdateReq_EngineSchema,
  GroupUpdateReqSchema,
  GroupUpdateRespSchema,
  PingRankReqSchema,
} from "../../proto/gen/ts/mgmt/srv_pb.ts";
import { callDrpcOk } from "../../control/drpc/client.ts";
import { DrpcModule, MgmtMethod } from "../../control/drpc/ids.ts";
import { type JsonMember, LocalCluster } from "../cluster/local_cluster.ts";

/** dRPC socket of every running engine, by rank (from the member list and engine pids). */
async function engineSockets(c: LocalCluster, members: JsonMember[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const s of c.servers) {
    const pids = await c.enginePids(s.index);
    // Ranks of a host in instance order: the fixture's hosts join engine 0 first only by
    // chance, so map instance → rank through each engine's superblock-held rank instead.
    for (const [idx, pid] of pids.entries()) {
      if (pid === undefined) continue;
      const sb = await Deno.readTextFile(`${s.dir}/scm${idx}/superblock`).catch(() => "");
      const m = /^rank:\s*(\d+)/m.exec(sb);
      if (!m) continue;
      const rank = Number(m[1]);
      if (members.some((x) => x.rank === rank && x.addr === s.addr)) {
        out.set(rank, `${s.socketDir}/daos_engine_${pid}.sock`);
      }
    }
  }
  return out;
}

/** DaosResp status of PingRank(`target`) asked of the engine at `sock`. */
async function pingRank(sock: string, target: number): Promise<number> {
  const body = await callDrpcOk(
    sock,
    DrpcModule.MGMT,
    MgmtMethod.PING_RANK,
    toBinary(PingRankReqSchema, create(PingRankReqSchema, { rank: target })),
    { timeoutMs: 5000 },
  );
  return fromBinary(DaosRespSchema, body).status;
}

/** Pairs (from, to) of ranks whose PingRank does not succeed yet. */
async function failingPings(socks: Map<number, string>): Promise<string[]> {
  const bad: string[] = [];
  for (const [from, sock] of socks) {
    for (const to of socks.keys()) {
      if (to === from) continue;
      const st = await pingRank(sock, to).catch((e) => `${e}`);
      if (st !== 0) bad.push(`${from}->${to}: ${st}`);
    }
  }
  return bad;
}

Deno.test({
  name:
    "group map: after format every engine reaches every other rank; a restarted rank's new incarnation reaches the map",
  sanitizeResources: false, // child pipes are closed by the fixture
  fn: async (t) => {
    const c = await LocalCluster.create({ servers: 2, replicas: 1, engines: 2 });
    try {
      await c.startAll();
      const f = await c.dmg(["storage", "format"]);
      ok(f.code === 0, f.stdout + f.stderr);
      await c.waitFor("ranks 0-3 joined", async () => (await c.joinedRanks()).length === 4, 30_000);

      let socks = new Map<number, string>();
      await t.step("every engine pings every other rank through its group map", async () => {
        const members = await c.members();
        socks = await c.waitFor("4 engine sockets with ranks", async () => {
          const s = await engineSockets(c, members);
          return s.size === 4 ? s : null;
        });
        const bad = await c.waitFor(
          "cross-rank PingRank to succeed everywhere",
          async () => (await failingPings(socks)).length === 0 ? [] : null,
        );
        deepEqual(bad, []);
      });

      await t.step(
        "stop + start of rank 3: its new incarnation is in every engine's map",
        async () => {
          const before = (await c.members()).find((m) => m.rank === 3)!;
          const stop = await c.dmg(["system", "stop", "--ranks", "3"]);
          equal(stop.code, 0, stop.stdout + stop.stderr);
          const start = await c.dmg(["system", "start", "--ranks", "3"]);
          equal(start.code, 0, start.stdout + start.stderr);
          const members = await c.waitFor("rank 3 joined again", async () => {
            const ms = await c.members();
            const m3 = ms.find((m) => m.rank === 3);
            return m3?.state === "joined" && m3.incarnation !== before.incarnation ? ms : null;
          });
          socks = await c.waitFor("4 engine sockets with ranks", async () => {
            const s = await engineSockets(c, members);
            return s.size === 4 ? s : null;
          });
          const bad = await c.waitFor(
            "PingRank of the new rank 3 to succeed from every engine",
            async () => (await failingPings(socks)).length === 0 ? [] : null,
          );
          deepEqual(bad, []);
        },
      );

      await t.step(
        "a map naming another incarnation makes PingRank fail (the check bites)",
        async () => {
          const members = await c.members();
          const sock0 = socks.get(0)!;
          const req = create(GroupUpdateReqSchema, {
            mapVersion: 1_000_000,
            engines: members.map((m) =>
              create(GroupUpdateReq_EngineSchema, {
                rank: m.rank,
                uri: (m as JsonMember & { fabric_uri: string }).fabric_uri,
                // 0: no incarnation check; rank 1 gets one its engine does not have.
                incarnation: m.rank === 1 ? 12345n : 0n,
              })
            ),
          });
          const resp = fromBinary(
            GroupUpdateRespSchema,
            await callDrpcOk(
              sock0,
              DrpcModule.MGMT,
              MgmtMethod.GROUP_UPDATE,
              toBinary(GroupUpdateReqSchema, req),
              { timeoutMs: 5000 },
            ),
          );
          equal(resp.status, 0);
          equal(await pingRank(sock0, 2), 0);
          equal(await pingRank(sock0, 1), -1006); // DER_UNREACH: not the engine the map names
        },
      );
    } finally {
      await c.destroy();
    }
  },
});
