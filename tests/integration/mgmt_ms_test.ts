/** MS on real etcd: joins, query filters, system operations, events, liveness. */
import { assert, assertEquals, assertRejects } from "./mgmt_assert.ts";
import { defaultMgmtSvcDbConfig } from "../../control/mgmt/db_config.ts";
import { EtcdMember } from "../../control/mgmt/etcd_member.ts";
import { ManagementService } from "../../control/mgmt/management_service.ts";
import { MAX_MEMBER_INFO_LEN } from "../../control/lib/member_fields.ts";
import { FakeFanout, freePort, joinReq, MsCluster, waitFor } from "./mgmt_helpers.ts";

Deno.test("MS single replica: joins, concurrent rank uniqueness, query filters", async () => {
  const c = await MsCluster.start(1);
  try {
    const ms = await c.leader();
    const first = await ms.join({ ...joinReq(0), rank: 0 });
    assertEquals(first.rank, 0);
    const reqs = Array.from(
      { length: 60 },
      (_, i) => joinReq(i + 1, `127.0.0.${2 + (i % 3)}:10001`),
    );
    const outs = await Promise.all(reqs.map((r) => ms.join(r)));
    const ranks = outs.map((o) => o.rank).sort((a, b) => a - b);
    assertEquals(new Set(ranks).size, 60);
    assertEquals(ranks[0], 1);
    assertEquals(ranks[59], 60);
    // Rejoin keeps the rank.
    const again = await ms.join({ ...reqs[0], rank: outs[0].rank });
    assertEquals(again.rank, outs[0].rank);
    // Query filters.
    const all = await ms.query("", "", 0);
    assertEquals(all.members.length, 61);
    assertEquals(all.providers, ["ofi+tcp"]);
    const some = await ms.query("0-2,500", "", 0);
    assertEquals(some.members.map((m) => m.rank), [0, 1, 2]);
    assertEquals(some.absentRanks, "500");
    const byHost = await ms.query("", "127.0.0.2,nohost", 0);
    assertEquals(byHost.members.length, 20);
    assertEquals(byHost.absentHosts, "nohost");
    const none = await ms.query("", "", 0x20); // stopped
    assertEquals(none.members.length, 0);
    await assertRejects(() => ms.query("x", "", 0), Error, 'creating numeric set from "[x]"');
  } finally {
    await c.close();
  }
});

Deno.test("MS ClusterEvent: a megabyte message is stored cut and cleaned; query still answers", async () => {
  const c = await MsCluster.start(1);
  try {
    const ms = await c.leader();
    const ranks: number[] = [];
    for (let i = 0; i < 3; i++) ranks.push((await ms.join(joinReq(i))).rank);
    // Within the 4 MiB request limit; whole, a handful would make SystemQuery's reply too
    // large to send (and each is near etcd's own request limit).
    const huge = "\x1b[31m" + "m".repeat(1_400_000);
    for (const m of (await ms.query("", "", 0)).members) {
      await ms.clusterEvent({ id: 2, rank: m.rank, incarnation: BigInt(m.incarnation), msg: huge });
    }
    const q = await ms.query("", "", 0);
    assertEquals(
      q.members.map((m) => [m.state, m.info.length]),
      ranks.map(() => ["errored", MAX_MEMBER_INFO_LEN]),
    );
    assert(q.members[0].info.startsWith(" [31mmmm"), q.members[0].info.slice(0, 20));
    assert(q.members[0].info.endsWith(" ... (1400005 characters)"), q.members[0].info.slice(-40));
    // A foreign system name of 10k characters is refused without echoing it whole.
    const wrong = (() => {
      try {
        ms.checkSystem("s".repeat(10_000));
      } catch (e) {
        return (e as Error).message;
      }
      return "accepted";
    })();
    assert(/does not match running system.*\(10000 characters\)/.test(wrong), wrong.slice(0, 300));
    assert(wrong.length < 400, `${wrong.length} characters`);
  } finally {
    await c.close();
  }
});

Deno.test("MS stop/start/exclude/erase through the fan-out, events and liveness", async () => {
  const c = await MsCluster.start(1);
  try {
    const ms = await c.leader();
    const hostA = "127.0.0.2:10001";
    const hostB = "127.0.0.3:10001";
    for (let i = 0; i < 4; i++) await ms.join(joinReq(i, i < 2 ? hostA : hostB));
    c.fanout.unreachable.add(hostB);
    const stop = await ms.systemStop({
      ranks: "",
      hosts: "",
      force: false,
      ignoreAdminExcluded: false,
    });
    // Host B unreachable during prep shutdown: its ranks Unresponsive, no stop sent.
    assertEquals(stop.results.map((r) => [r.rank, r.state, r.action]), [
      [1, "stopping", "prep shutdown"],
      [2, "stopping", "prep shutdown"],
      [3, "unresponsive", "prep shutdown"],
      [4, "unresponsive", "prep shutdown"],
    ]);
    assert(!c.fanout.calls.some((x) => x.method === "StopRanks"));
    c.fanout.unreachable.clear();
    const stop2 = await ms.systemStop({
      ranks: "1-2",
      hosts: "",
      force: true,
      ignoreAdminExcluded: false,
    });
    assertEquals(stop2.results.map((r) => r.state), ["stopped", "stopped"]);
    let q = await ms.query("", "", 0);
    assertEquals(q.members.map((m) => m.state), [
      "stopped",
      "stopped",
      "unresponsive",
      "unresponsive",
    ]);
    // Start: stopped → ready is legal; unresponsive → ready is not (stays until rejoin).
    await ms.systemStart({ ranks: "", hosts: "", ignoreAdminExcluded: false });
    q = await ms.query("", "", 0);
    assertEquals(q.members.map((m) => m.state), ["ready", "ready", "unresponsive", "unresponsive"]);
    // Exclude, admin-excluded stop refused, clear.
    await assertRejects(
      () => ms.systemExclude({ ranks: "", hosts: "", clear: false }),
      Error,
      "no hosts or ranks specified",
    );
    await assertRejects(
      () => ms.systemExclude({ ranks: "9", hosts: "", clear: false }),
      Error,
      "invalid rank(s): 9",
    );
    const ex = await ms.systemExclude({ ranks: "1", hosts: "", clear: false });
    assertEquals(ex.map((r) => [r.rank, r.state, r.action]), [
      [1, "adminexcluded", "set admin-excluded state"],
    ]);
    await assertRejects(
      () => ms.systemStop({ ranks: "1", hosts: "", force: true, ignoreAdminExcluded: false }),
      Error,
      "administratively excluded",
    );
    const cl = await ms.systemExclude({ ranks: "1", hosts: "", clear: true });
    assertEquals(cl[0].state, "excluded");
    // Engine death event → Errored with the message.
    // One naming no incarnation, or an older one, is ignored (stale, or not from the engine).
    const r2 = (await ms.query("2", "", 0)).members[0];
    for (const incarnation of [0n, BigInt(r2.incarnation) - 1n]) {
      await ms.clusterEvent({ id: 2, rank: 2, incarnation, msg: "forged" });
      assertEquals((await ms.query("2", "", 0)).members[0].state, r2.state);
    }
    await ms.clusterEvent({
      id: 2,
      rank: 2,
      incarnation: BigInt(r2.incarnation),
      msg: "exited with status: signal 9",
    });
    q = await ms.query("2", "", 0);
    assertEquals([q.members[0].state, q.members[0].info], [
      "errored",
      "exited with status: signal 9",
    ]);
    // Liveness: rank 3 (Unresponsive since host B missed the stop) rejoins and is Joined;
    // then host B vanishes and the probe, not anything else, makes it Unresponsive again.
    const r3 = (await ms.query("3", "", 0)).members[0];
    assertEquals(r3.state, "unresponsive");
    await ms.join({
      ...joinReq(3, hostB),
      uuid: r3.uuid,
      rank: 3,
      uri: r3.fabric_uri,
      srvFaultDomain: r3.fault_domain,
    });
    const rejoined = (await ms.query("3", "", 0)).members[0];
    assertEquals([rejoined.state, rejoined.info], ["joined", ""]);
    c.fanout.down.add(hostB);
    const lost = await waitFor("rank 3 unresponsive", async () => {
      const m = (await ms.query("3", "", 0)).members[0];
      return m.state === "unresponsive" ? m : undefined;
    });
    assertEquals(lost.info, "daos_server at 127.0.0.3 unreachable");
    // Host A answers: its ranks keep their states.
    assertEquals((await ms.query("1-2", "", 0)).members.map((m) => m.state), [
      "excluded",
      "errored",
    ]);
    // Erase: reset format fails while a rank errors, then succeeds and wipes the DB.
    c.fanout.failRanks.add(2);
    const bad = await ms.systemErase();
    assert(bad.some((r) => r.errored && r.action === "reset format"));
    c.fanout.failRanks.clear();
    assertEquals(await ms.systemErase(), []);
    // A single replica's local database is dropped (daos_server starts it again after the
    // next format, as the reference re-execs): uninitialized until then, empty afterwards.
    await assertRejects(() => ms.query("", "", 0), Error, "system is uninitialized");
    await ms.startDb();
    await c.leader();
    await assertRejects(() => ms.query("", "", 0), Error, "raft service unavailable");
    const fresh = await ms.join(joinReq(9));
    assertEquals(fresh.rank, 1);
  } finally {
    await c.close();
  }
});

Deno.test("MS wrong system name is fault 603", async () => {
  const c = await MsCluster.start(1);
  try {
    const ms = await c.leader();
    let err: unknown;
    try {
      ms.checkSystem("other");
    } catch (e) {
      err = e;
    }
    assert(
      err instanceof Error &&
        err.message.includes("request system does not match running system (other != daos_server)"),
    );
    ms.checkSystem("daos_server-2.6.0");
  } finally {
    await c.close();
  }
});

Deno.test("MS on an external etcd (mgmt_svc_db.endpoints) starts no member of its own", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mgmt_ext_" });
  const db = defaultMgmtSvcDbConfig();
  const self = `127.0.0.1:${freePort()}`;
  db.ports[self] = { client: freePort(), peer: freePort() };
  const etcd = new EtcdMember({
    self,
    replicas: [self],
    system: "ext",
    dataDir: `${dir}/etcd`,
    db,
  });
  const ms = new ManagementService({
    config: {
      system: "ext",
      replicas: [self],
      provider: "ofi+tcp",
      db: { ...db, endpoints: [`http://127.0.0.1:${db.ports[self].client}`] },
      dataDir: `${dir}/unused`,
    },
    selfAddr: self,
    isReplica: true,
    fanout: new FakeFanout(),
  });
  try {
    await etcd.start();
    await ms.startDb();
    assertEquals(ms.member, null);
    await waitFor("leader", () => ms.election!.view().isLeader);
    assertEquals((await ms.join(joinReq(1))).rank, 1);
    assertEquals((await ms.query("", "", 0)).members.length, 1);
  } finally {
    await ms.stop();
    await etcd.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
