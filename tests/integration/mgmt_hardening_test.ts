/**
 * Hostile peers and damaged state against the MS on a real etcd (issue 15, items 1–2): raw
 * Joins over the wire with overflowing ranks and malformed fields, and member records written
 * straight into etcd that no reply could carry. The MS must refuse the first before anything is
 * written and survive the second: answer queries, keep delivering group maps to the healthy
 * engines, and let an operator remove the bad records.
 */
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { NilRank } from "../../control/lib/rankset.ts";
import { Fault } from "../../control/lib/fault.ts";
import type { Fanout } from "../../control/mgmt/management_service.ts";
import { replicaMgmtService } from "../../control/handlers/mgmt_svc.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import type { GroupUpdateReq } from "../../proto/gen/ts/mgmt/srv_pb.ts";
import { assert, assertEquals } from "./mgmt_assert.ts";
import { MsCluster, waitFor } from "./mgmt_helpers.ts";
import { remoteErr } from "../../control/handlers/testing.ts";

const SYS = "daos_server";

/** Records the group maps handed to each host. */
function recordMaps(c: MsCluster): Map<string, GroupUpdateReq[]> {
  const byHost = new Map<string, GroupUpdateReq[]>();
  (c.fanout as Fanout).groupUpdate = (addr, req) => {
    byHost.set(addr, [...(byHost.get(addr) ?? []), req]);
    return Promise.resolve([]);
  };
  return byHost;
}

function client(c: MsCluster) {
  return createClient(
    MgmtSvc,
    createRouterTransport(({ service }) =>
      service(MgmtSvc, replicaMgmtService({ ms: c.services[0] }))
    ),
  );
}

function rawJoin(n: number, over: Record<string, unknown> = {}) {
  return {
    sys: SYS,
    uuid: crypto.randomUUID(),
    rank: NilRank,
    uri: `ofi+tcp://127.0.0.2:${30000 + n}`,
    nctxs: 2,
    addr: "127.0.0.2:10001",
    srvFaultDomain: `/h${n}`,
    incarnation: BigInt(n + 1),
    ...over,
  };
}

Deno.test("raw Join: the rank overflow sequence is refused; query, stop and erase keep working", async () => {
  const c = await MsCluster.start(1);
  try {
    recordMaps(c);
    const mc = client(c);
    assertEquals((await mc.join(rawJoin(0, { rank: 0 }))).rank, 0);
    // The reproduction: a new uuid with rank 4294967294, then NilRank twice.
    const e1 = await remoteErr(mc.join(rawJoin(1, { rank: 4294967294 })));
    assert(
      e1 instanceof Fault && e1.description.includes("rank 4294967294 was never issued") &&
        e1.description.includes("JoinReq field rank"),
      String(e1),
    );
    assertEquals((await mc.join(rawJoin(2))).rank, 1);
    assertEquals((await mc.join(rawJoin(3))).rank, 2);
    const q = await mc.systemQuery({ sys: SYS });
    assertEquals(q.members.map((m) => m.rank), [0, 1, 2]);
    assertEquals((await c.services[0].db!.read()).nextRank, 3);
    const stop = await mc.systemStop({ sys: SYS, force: true });
    assertEquals(stop.results.map((r) => [r.rank, r.state]), [
      [0, "stopped"],
      [1, "stopped"],
      [2, "stopped"],
    ]);
    const erase = await mc.systemErase({ sys: SYS });
    assertEquals(erase.results, []);
  } finally {
    await c.close();
  }
});

Deno.test("raw Join: malformed fields are refused naming the field; maps still reach every host", async () => {
  const c = await MsCluster.start(1);
  try {
    const maps = recordMaps(c);
    const mc = client(c);
    await mc.join(rawJoin(0, { rank: 0, addr: "127.0.0.3:10001" }));
    const bad: [Record<string, unknown>, string][] = [
      [{ uri: `ofi+tcp://127.0.0.2:${"9".repeat(10000)}` }, "JoinReq field uri"],
      [{ uri: "ofi+tcp://" + "h".repeat(10000) + ":1" }, "JoinReq field uri"],
      [{ addr: "127.0.0.2" }, "JoinReq field addr"],
      [{ addr: "127.0.0.2:0" }, "JoinReq field addr"],
      [{ srvFaultDomain: "/a/b/c" }, "JoinReq field srv_fault_domain"],
      [{ srvFaultDomain: "x".repeat(10000) }, "JoinReq field srv_fault_domain"],
      [{ uuid: "u".repeat(10000) }, "JoinReq field uuid"],
      [{ secondaryUris: ["ofi+tcp://1.2.3.4"] }, "JoinReq field secondary_uris"],
    ];
    for (const [over, field] of bad) {
      const e = await remoteErr(mc.join(rawJoin(1, over)));
      assert(e instanceof Fault && e.description.includes(field), String(e).slice(0, 300));
      assert(e.description.length < 400, "a long input is not echoed whole");
    }
    const ok = await mc.join(rawJoin(2));
    assertEquals(ok.rank, 1);
    assertEquals((await mc.systemQuery({ sys: SYS })).members.length, 2);
    // Both hosts get a map holding both ranks, carrying the system name.
    await waitFor(
      "a two-rank map on both hosts",
      () =>
        ["127.0.0.2:10001", "127.0.0.3:10001"].every((h) =>
          (maps.get(h) ?? []).some((m) => m.engines.length === 2 && m.sys === SYS)
        ),
    );
  } finally {
    await c.close();
  }
});

Deno.test("bad member records already in etcd: reported, skipped, removable; the MS keeps serving", async () => {
  const c = await MsCluster.start(1);
  try {
    const maps = recordMaps(c);
    const mc = client(c);
    const good = "127.0.0.2:10001";
    for (let i = 0; i < 3; i++) await mc.join(rawJoin(i, { rank: i === 0 ? 0 : NilRank }));
    const ms = c.services[0];
    const prefix = ms.db!.prefix;
    const record = (over: Record<string, unknown>) =>
      JSON.stringify({
        rank: 9,
        uuid: over.uuid,
        addr: "127.0.0.9:10001",
        state: "joined",
        fault_domain: "/h9",
        incarnation: "1",
        fabric_uri: "ofi+tcp://127.0.0.9:1",
        secondary_fabric_uris: [],
        fabric_contexts: 1,
        secondary_fabric_contexts: [],
        info: "",
        last_update: "",
        ...over,
      });
    // What the old rank overflow left behind, a 10k URI, an address without port (holding
    // rank 5, ahead of NextRank), and garbage.
    const over = crypto.randomUUID();
    const longUri = crypto.randomUUID();
    const noPort = crypto.randomUUID();
    await ms.etcd!.txn([], [
      {
        put: `${prefix}/members/${over}`,
        value: record({ uuid: over, rank: 4294967296, addr: "127.0.0.8:10001" }),
      },
      {
        put: `${prefix}/members/${longUri}`,
        value: record({ uuid: longUri, rank: 4, fabric_uri: "ofi+tcp://" + "h".repeat(10000) }),
      },
      {
        put: `${prefix}/members/${noPort}`,
        value: record({ uuid: noPort, rank: 5, addr: "127.0.0.7" }),
      },
      { put: `${prefix}/members/garbage`, value: "{not json" },
    ]);
    // Found at start: the service restarts over the same etcd data.
    await ms.stop();
    await ms.startDb();
    await c.leader();

    const q = await mc.systemQuery({ sys: SYS });
    assertEquals(q.members.map((m) => m.rank), [0, 1, 2]);
    for (const key of [over, longUri, noPort, "garbage"]) {
      assert(
        c.logs.some((l) => l.includes(`invalid member record ${prefix}/members/${key} ignored`)),
        `${key} reported in the log`,
      );
    }
    assert(c.logs.some((l) => l.includes("remove it with dmg system exclude --ranks 4")));
    // Group maps still reach the healthy host, without the bad records.
    const before = (maps.get(good) ?? []).length;
    assertEquals((await mc.join(rawJoin(3))).rank, 3);
    // NextRank reaches the ranks the bad records hold (4, 5): skipped, never issued twice.
    assertEquals((await mc.join(rawJoin(4))).rank, 6);
    const map = await waitFor(
      "a map with the new ranks",
      () => (maps.get(good) ?? []).slice(before).find((m) => m.engines.length === 5),
    );
    assertEquals(map.engines.map((e) => e.rank), [0, 1, 2, 3, 6]);
    assert(![...maps.keys()].some((h) => h !== good), "no map sent to a bad record's host");
    const stop = await mc.systemStop({ sys: SYS, force: true });
    assertEquals(stop.results.map((r) => r.rank), [0, 1, 2, 3, 6]);

    // Removal: exclude by rank (the URI one, the no-port one), by host (the overflow one).
    const ex = await mc.systemExclude({ sys: SYS, ranks: "4-5" });
    assertEquals(ex.results.map((r) => [r.rank, r.action]), [
      [4, "remove invalid member record"],
      [5, "remove invalid member record"],
    ]);
    const exh = await mc.systemExclude({ sys: SYS, hosts: "127.0.0.8:10001" });
    assertEquals(exh.results.map((r) => [r.rank, r.action]), [
      [NilRank, "remove invalid member record"],
    ]);
    const left = (await ms.db!.read()).invalid.map((r) => r.uuid);
    assertEquals(left, ["garbage"]);
    // A rank the system never issued stays refused (NextRank is 7 now).
    const claim = await remoteErr(mc.join(rawJoin(8, { rank: 9 })));
    assert(claim instanceof Fault && claim.description.includes("never issued"), String(claim));
    // Erase wipes what is left, garbage included.
    assertEquals((await mc.systemErase({ sys: SYS })).results.length, 0);
  } finally {
    await c.close();
  }
});

Deno.test("a record written with a live member's rank: both set aside, maps flow, exclude clears, the engine rejoins", async () => {
  const c = await MsCluster.start(1);
  try {
    const maps = recordMaps(c);
    const mc = client(c);
    const joins = [rawJoin(0, { rank: 0 }), rawJoin(1), rawJoin(2, { addr: "127.0.0.3:10001" })];
    for (const j of joins) await mc.join(j);
    const ms = c.services[0];
    const s0 = await ms.db!.read();
    const twin = { ...[...s0.members.values()].find((m) => m.rank === 1)! };
    twin.uuid = crypto.randomUUID();
    twin.fabric_uri = "ofi+tcp://127.0.0.2:39999";
    await ms.etcd!.txn([], [{
      put: `${ms.db!.prefix}/members/${twin.uuid}`,
      value: JSON.stringify(twin),
    }]);
    await ms.stop();
    await ms.startDb();
    await c.leader();
    assertEquals((await mc.systemQuery({ sys: SYS })).members.map((m) => m.rank), [0, 2]);
    assert(c.logs.some((l) => l.includes("rank 1 held by 2 member records")));
    // Maps keep reaching both hosts (no rank listed twice).
    const before = (maps.get("127.0.0.3:10001") ?? []).length;
    assertEquals((await mc.join(rawJoin(3, { addr: "127.0.0.3:10001" }))).rank, 3);
    const map = await waitFor(
      "a map after the join",
      () => (maps.get("127.0.0.3:10001") ?? []).slice(before).find((m) => m.engines.length === 3),
    );
    assertEquals(map.engines.map((e) => e.rank), [0, 2, 3]);
    // The engine's rejoin is refused while its rank is contested; exclude removes both.
    const contested = await remoteErr(mc.join({ ...joins[1], rank: 1 }));
    assert(contested instanceof Fault && contested.resolution.includes("--ranks 1"));
    const ex = await mc.systemExclude({ sys: SYS, ranks: "1" });
    assertEquals(ex.results.map((r) => r.action), [
      "remove invalid member record",
      "remove invalid member record",
    ]);
    assertEquals((await mc.join({ ...joins[1], rank: 1 })).rank, 1);
    assertEquals((await mc.systemQuery({ sys: SYS })).members.map((m) => m.rank), [0, 1, 2, 3]);
  } finally {
    await c.close();
  }
});
