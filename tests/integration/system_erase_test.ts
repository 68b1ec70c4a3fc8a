/**
 * `dmg system erase` really erases (dmg.md §5.5, server.md §4.5–4.6): three MS replicas and a
 * non-replica daos_server, one real engine each. After stop + erase every engine awaits format with its superblock
 * gone and its ram SCM unmounted, the MS database is empty (uninitialized until the next
 * format), and `dmg storage format` brings every rank back as Joined.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { SystemQueryReqSchema } from "../../proto/gen/ts/mgmt/system_pb.ts";
import { serverTransportPool } from "../../control/server/ctl_fanout.ts";
import { parseMountInfo } from "../../control/storage/mounts.ts";
import { readSuperblock } from "../../control/storage/superblock.ts";
import { LocalCluster } from "../cluster/local_cluster.ts";
import { engineSockets, failingPings } from "./system_engine_ping.ts";

/** Mount points below `root`, from /proc/self/mountinfo. */
async function mountsBelow(root: string): Promise<string[]> {
  const all = parseMountInfo(await Deno.readTextFile("/proc/self/mountinfo"));
  return all.map((m) => m.mountPoint).filter((p) => p.startsWith(`${root}/`)).sort();
}

Deno.test({
  name:
    "system erase: stop → erase leaves engines awaiting format, SCM unmounted, MS empty; format → all joined again",
  fn: async (t) => {
    const c = await LocalCluster.create({ servers: 4, replicas: 3, engines: 1 });
    const scmDirs = c.servers.map((s) => `${s.dir}/scm0`);
    try {
      await c.startAll();
      const f = await c.dmg(["storage", "format"]);
      ok(f.code === 0, f.stdout + f.stderr);
      await c.waitFor("ranks 0-3 joined", async () => (await c.joinedRanks()).length === 4, 30_000);
      deepEqual(await mountsBelow(c.root), scmDirs.slice().sort());

      await t.step("erase refused while ranks run", async () => {
        const r = await c.dmgJson(["system", "erase"]);
        ok(r.code !== 0, JSON.stringify(r));
        // Refused for the running ranks, not for some other failure.
        equal(r.error, "system erase requires the following 4 ranks to be stopped: 0-3");
        equal((await c.joinedRanks()).length, 4);
      });

      await t.step("stop, erase: superblocks and mounts gone, MS empty", async () => {
        const stop = await c.dmg(["system", "stop"]);
        equal(stop.code, 0, stop.stdout + stop.stderr);
        const erase = await c.dmg(["system", "erase"]);
        equal(erase.code, 0, erase.stdout + erase.stderr);
        deepEqual(await mountsBelow(c.root), []);
        for (const d of scmDirs) equal(await readSuperblock(d), null, d);
        // One SystemQuery to each replica (dmg would keep retrying until the MS is back):
        // every replica dropped its database.
        const pool = serverTransportPool({ allowInsecure: true });
        try {
          for (const s of c.servers.filter((x) => x.isReplica)) {
            const q = createClient(MgmtSvc, pool.get(s.addr)).systemQuery(
              create(SystemQueryReqSchema, { sys: c.name }),
              { timeoutMs: 10_000 },
            );
            await q.then(
              (r) => {
                throw new Error(`${s.addr} still answers after erase: ${r.members.length} members`);
              },
              (e) => match(String(e), /system is uninitialized \(storage format required\?\)/),
            );
          }
        } finally {
          pool.close();
        }
      });

      await t.step("format again: every rank joined, fresh ranks 0-3", async () => {
        const f2 = await c.dmg(["storage", "format"]);
        equal(f2.code, 0, f2.stdout + f2.stderr);
        const ranks = await c.waitFor(
          "ranks 0-3 joined after the new format",
          async () => {
            const r = await c.joinedRanks().catch(() => []);
            return r.length === 4 ? r : null;
          },
          30_000,
        );
        deepEqual(ranks, [0, 1, 2, 3]);
        deepEqual(await mountsBelow(c.root), scmDirs.slice().sort());
        // The new system's group map (versions start afresh) reaches every engine.
        const members = await c.members();
        const socks = await c.waitFor("4 engine sockets with ranks", async () => {
          const s = await engineSockets(c, members);
          return s.size === 4 ? s : null;
        });
        await c.waitFor(
          "cross-rank PingRank to succeed everywhere after the new format",
          async () => (await failingPings(socks)).length === 0,
        );
      });
    } finally {
      await c.destroy();
    }
  },
});
