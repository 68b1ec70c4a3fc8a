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
  GroupUpdateReq_EngineSchema,
  GroupUpdateReqSchema,
  GroupUpdateRespSchema,
} from "../../proto/gen/ts/mgmt/srv_pb.ts";
import { callDrpcOk } from "../../control/drpc/client.ts";
import { DrpcModule, MgmtMethod } from "../../control/drpc/ids.ts";
import { type JsonMember, LocalCluster } from "../cluster/local_cluster.ts";
import { engineSockets, failingPings, pingRank } from "./system_engine_ping.ts";

Deno.test({
  name:
    "group map: after format every engine reaches every other rank; a restarted rank's new incarnation reaches the map",
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
