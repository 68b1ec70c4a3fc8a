/**
 * The MS leader's group updates against a real etcd (server.md §2.7–2.8): what is sent, to
 * which hosts, with which map version, after joins, exclusion and a leadership change.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import type { GroupUpdateReq } from "../../proto/gen/ts/mgmt/srv_pb.ts";
import type { Fanout, ManagementService } from "../../control/mgmt/management_service.ts";
import { joinReq, MsCluster, waitFor } from "./mgmt_helpers.ts";

interface Sent {
  addr: string;
  version: number;
  ranks: number[];
}

/** Records every GroupUpdate the MS hands to the fan-out. */
function recordUpdates(c: MsCluster): Sent[] {
  const sent: Sent[] = [];
  // The MS reads fanout.groupUpdate at each send, so adding it to the fake is enough.
  (c.fanout as Fanout).groupUpdate = (addr: string, req: GroupUpdateReq) => {
    sent.push({ addr, version: req.mapVersion, ranks: req.engines.map((e) => e.rank) });
    return Promise.resolve([]);
  };
  return sent;
}

async function mapVersion(ms: ManagementService): Promise<number> {
  // SystemQuery does not show the map version; the leader's DB read does.
  return (await ms.db!.read()).mapVersion;
}

Deno.test("group updates: after joins (immediate, +1), after exclusion (lazy, no increment), from a new leader", async () => {
  const c = await MsCluster.start(3);
  try {
    const sent = recordUpdates(c);
    const ms = await c.leader();
    const a = "127.0.0.2:10001";
    const b = "127.0.0.3:10001";
    const joins = await Promise.all(
      [joinReq(0, a), joinReq(1, a), joinReq(2, b)].map((r) => ms.join(r)),
    );
    const ranks = joins.map((j) => j.rank).sort();
    // Each joiner's map version is that of a map containing it (its own write included).
    for (const j of joins) ok(j.mapVersion >= 1);
    // Under load the on-leadership update can land after the joins, adding an increment of its
    // own; so wait for both hosts to hold a full map at the version the database has now. Were
    // the increment written after the send, every send would lag the database by one and this
    // wait would time out.
    const { full, v } = await waitFor("a map with all three ranks to both hosts", async () => {
      const v = await mapVersion(ms);
      const full = sent.filter((s) => s.ranks.length === 3 && s.version === v);
      return new Set(full.map((s) => s.addr)).size === 2 ? { full, v } : undefined;
    });
    deepEqual(full[0].ranks, ranks);
    ok(sent.every((s) => s.version <= v), "no map was sent ahead of the database's version");
    ok(v > Math.max(...joins.map((j) => j.mapVersion)), "immediate update raised the version");

    // Exclusion: a lazy update without rank 2, no extra increment. Host b holds no member of
    // the map any more, yet gets it too: its excluded engine must learn that it is out.
    const before = sent.length;
    await ms.systemExclude({ ranks: String(ranks[2]), hosts: "", clear: false });
    const lazy = await waitFor("a map without the excluded rank to both hosts", () => {
      const got = sent.slice(before).filter((s) => s.ranks.length === 2);
      return new Set(got.map((s) => s.addr)).size === 2 ? got : undefined;
    });
    for (const l of lazy) deepEqual(l.ranks, ranks.slice(0, 2));
    deepEqual(lazy.map((l) => l.addr).sort(), [a, b].sort());
    equal(lazy[0].version, await mapVersion(ms));

    // A new leader sends the map at once, with a version increment of its own.
    const n = sent.length;
    const old = await mapVersion(ms);
    await ms.crash();
    const next = await c.leader(20_000);
    ok(next !== ms);
    // Bounded generously: with 1 s leases a loaded machine may re-elect once more before the
    // step-up's send goes out.
    const fresh = await waitFor("the new leader's map", () => sent.slice(n).at(-1), 30_000);
    equal(fresh.version, old + 1);
    deepEqual(fresh.ranks, ranks.slice(0, 2));
  } finally {
    await c.close();
  }
});
