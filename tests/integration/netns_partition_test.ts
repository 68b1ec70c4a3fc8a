/**
 * Partition of the MS leader (issue 7): four hosts in network namespaces (h0-h2 MS replicas
 * with their etcd members, h3 a plain server that also serves as the admin node running dmg).
 * Unplugging the leader's link makes the majority elect a new leader and keep serving dmg
 * (reads and writes), while the isolated old leader cannot write; plugging it back makes it
 * follow the new leader and catch up with what the majority wrote meanwhile.
 */
import { deepEqual as assertEquals, match, ok as assert } from "node:assert/strict";
import { waitFor } from "../cluster/local_cluster.ts";
import { etcdGet, etcdPut, leaderQuery, withNetnsCluster } from "../netns/cluster.ts";

const ADMIN = 3; // h3: not a replica, never cut off

Deno.test("netns: MS leader cut off → new leader, isolated one cannot write; heal → it follows", async () => {
  await withNetnsCluster({
    servers: 4,
    replicas: 3,
    engines: 1,
    extraDbYaml: "  host_dead_after_ms: 1500\n  probe_interval_ms: 250",
  }, async (c, lab) => {
    await c.startAll();
    const fmt = await c.dmg(["storage", "format"], { on: ADMIN });
    assertEquals(fmt.code, 0, fmt.stderr);
    await waitFor("4 joined ranks", async () => (await c.joinedRanks({ on: ADMIN })).length === 4);

    const before = await leaderQuery(c, ADMIN);
    const replicas = c.servers.filter((s) => s.isReplica).map((s) => s.addr);
    assertEquals(before.replicas, replicas);
    assertEquals(before.down_replicas, null);
    const old = c.server(before.current_leader);
    assert(old.isReplica, `leader ${old.addr} is not a replica`);
    const members = await c.members({ on: ADMIN });
    const oldRanks = members.filter((m) => m.addr === old.addr).map((m) => m.rank);
    const adminRank = members.find((m) => m.addr === c.server(ADMIN).addr)!.rank;
    const majority = c.servers.filter((s) => s.isReplica && s !== old).map((s) => s.index);

    // The old leader's etcd member takes writes while connected (so a failure later is the
    // partition, not a broken member).
    const pre = await etcdPut(lab, c, old.index, "/netns-test/written-by", "before");
    assertEquals(pre.code, 0, pre.stderr);

    await lab.linkDown(old.index);

    // The majority elects a new leader; dmg from the admin node reports it and the old one down.
    const after = await waitFor("a new MS leader", async () => {
      const lq = await leaderQuery(c, ADMIN);
      return lq.current_leader !== "" && lq.current_leader !== old.addr ? lq : null;
    }, 30_000);
    assert(majority.includes(c.server(after.current_leader).index));
    assertEquals(after.down_replicas, [old.addr]);

    // dmg against the majority: reads succeed, and the old leader's ranks become Unresponsive
    // (its daos_server is unreachable for the new leader).
    await waitFor("old leader's ranks unresponsive", async () => {
      const ms = await c.members({ on: ADMIN, timeoutMs: 30_000 });
      return oldRanks.every((r) => ms.find((m) => m.rank === r)?.state === "unresponsive");
    }, 30_000);
    // ... and writes succeed: the admin excludes the unreachable node's ranks.
    const ranks = oldRanks.join(",");
    const ex = await c.dmg(["system", "exclude", "--ranks", ranks], { on: ADMIN });
    assertEquals(ex.code, 0, `exclude via the majority failed:\n${ex.stdout}${ex.stderr}`);
    const excluded = await c.members({ on: ADMIN });
    for (const r of oldRanks) {
      assertEquals(excluded.find((m) => m.rank === r)?.state, "adminexcluded", `rank ${r}`);
    }
    const put = await etcdPut(lab, c, majority[0], "/netns-test/written-by", "majority");
    assertEquals(put.code, 0, put.stderr);

    // The isolated old leader cannot write: neither to its etcd member (no quorum) nor
    // through dmg (no MS leader reachable from there).
    const [isolatedPut, isolatedEx] = await Promise.all([
      etcdPut(lab, c, old.index, "/netns-test/written-by", "isolated"),
      c.dmg(["--timeout", "4s", "system", "exclude", "--ranks", String(adminRank)], {
        on: old.index,
        timeoutMs: 60_000, // only a guard: --timeout ends dmg
      }),
    ]);
    // etcdctl itself gives up (no quorum), before the runner's own limit.
    assertEquals(
      isolatedPut.code,
      1,
      `isolated etcd member accepted a write: ${isolatedPut.stdout}`,
    );
    assertEquals(isolatedPut.timedOut, false, isolatedPut.stderr);
    // etcdctl words it either way, depending on where its own deadline struck.
    match(
      isolatedPut.stderr,
      /(^|\n)Error: (rpc error: code = \w+ desc = )?context deadline exceeded\n$/,
    );
    // No leader reachable from there: dmg says so while it retries and ends at its --timeout
    // with that diagnosis (not killed by the guard, not some other error).
    assertEquals(isolatedEx.code, 1, `isolated dmg exclude:\n${isolatedEx.stdout}`);
    match(
      isolatedEx.stderr,
      /^NOTICE: no MS leader yet: \d of \d (replicas|hosts asked) unreachable/,
    );
    match(
      isolatedEx.stderr,
      /\nERROR: dmg: raft service unavailable: the SystemExclude request timed out after (4s|3\.99\ds); \d of \d (replicas|hosts asked) unreachable(, 1 of \d (replicas|hosts asked) electing a leader)?\n/,
    );
    // The isolated replica knows no leader (its lease lapsed) and cannot see the others.
    const isolatedLq = await leaderQuery(c, old.index);
    assertEquals(isolatedLq.current_leader, "", "the isolated replica still names a leader");
    assertEquals(isolatedLq.down_replicas, majority.map((i) => c.server(i).addr));

    // Heal: the old leader follows the majority's leader, which keeps leadership (etcd
    // pre-vote: the returning member's higher term forces no election), and catches up with
    // the majority's writes.
    await lab.linkUp(old.index);
    const healed = await waitFor("the old leader to follow", async () => {
      const [mine, theirs] = [await leaderQuery(c, old.index), await leaderQuery(c, ADMIN)];
      return mine.current_leader !== "" && mine.current_leader === theirs.current_leader &&
          mine.down_replicas === null && theirs.down_replicas === null
        ? mine
        : null;
    }, 30_000);
    assertEquals(healed.current_leader, after.current_leader, "leadership moved on heal");
    assertEquals(healed.replicas, replicas);
    const got = await waitFor("the old leader's etcd member to catch up", async () => {
      const g = await etcdGet(lab, c, old.index, "/netns-test/written-by");
      return g.code === 0 && g.stdout.trim() !== "" ? g.stdout.trim() : null;
    });
    assertEquals(got, "majority");
    // The isolated exclude never took effect; the majority's did.
    const final = await c.members({ on: old.index });
    assertEquals(final.find((m) => m.rank === adminRank)?.state, "joined");
    for (const r of oldRanks) {
      assertEquals(final.find((m) => m.rank === r)?.state, "adminexcluded", `rank ${r}`);
    }
  });
});
