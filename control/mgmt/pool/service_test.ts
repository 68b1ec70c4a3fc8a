/**
 * PoolService over the in-memory store and a scripted engine: sizing, labels, service ranks
 * across fault domains, serialised creates, rollback on engine failure, deferred destroy and
 * its completion, the membership hooks, and fault 622.
 */
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { Fault } from "../../lib/fault.ts";
import { member, type OpsFixture, opsFixture } from "../testing/fixture.ts";
import type { Member } from "../member.ts";
import { DER_NOSPACE, FakePoolEngine, NoPoolEngine } from "./engine.ts";
import { findPool, poolRecords, putPool, TargetState } from "./record.ts";
import { noChanges } from "../db.ts";
import {
  autoTierBytes,
  type CreateInput,
  DESTROY_RETRIES,
  perRankTiers,
  pickSvcRanks,
  type PoolEvent,
  PoolService,
  SCM_MIN_PER_TARGET,
} from "./service.ts";

const GiB = 1024 ** 3;
const U1 = "11111111-1111-1111-1111-111111111111";
const U2 = "22222222-2222-2222-2222-222222222222";

interface Env {
  fx: OpsFixture;
  eng: FakePoolEngine;
  svc: PoolService;
  events: PoolEvent[];
}

function env(members: Member[]): Env {
  const fx = opsFixture(members);
  const eng = new FakePoolEngine();
  const events: PoolEvent[] = [];
  const svc = new PoolService({
    ctx: fx.ctx,
    engine: eng,
    targetsPerRank: 4,
    raise: (e) => events.push(e),
    sleep: () => Promise.resolve(),
  });
  return { fx, eng, svc, events };
}

function req(extra: Partial<CreateInput> = {}): CreateInput {
  return {
    uuid: U1,
    label: "tank",
    user: "root@",
    group: "root@",
    ranks: [],
    totalBytes: 0,
    tierRatio: [],
    numRanks: 0,
    tierBytes: [GiB, 4 * GiB],
    numSvcReps: 0,
    props: {},
    ...extra,
  };
}

const FOUR = [
  member(0, 1, "joined"),
  member(1, 1, "joined"),
  member(2, 2, "joined"),
  member(3, 3, "joined"),
];

function faultCode(e: unknown): number {
  return e instanceof Fault ? e.code : -1;
}

Deno.test("auto sizing divides total bytes by the tier ratio over the ranks", () => {
  deepEqual(autoTierBytes(100 * GiB, [0.06, 0.94], 4), [
    Math.floor(100 * GiB * 0.06 / 4),
    Math.floor(100 * GiB * 0.94 / 4),
  ]);
});

Deno.test("service ranks spread over fault domains before doubling up", () => {
  deepEqual(pickSvcRanks(FOUR, [0, 1, 2, 3], 3), [0, 2, 3]);
  deepEqual(pickSvcRanks(FOUR, [0, 1, 2, 3], 4), [0, 2, 3, 1]);
  deepEqual(pickSvcRanks(FOUR, [0, 1], 3), [0, 1]);
});

Deno.test("create: Ready record with a version-1 map of UP_IN targets, pushed", async () => {
  const { fx, eng, svc } = env(FOUR);
  const r = await svc.create(req());
  deepEqual(r, {
    svcLdr: 0,
    svcReps: [0, 2, 3],
    tgtRanks: [0, 1, 2, 3],
    tierBytes: [GiB, 4 * GiB],
  });
  const p = findPool(await fx.ctx.state(), "tank")!;
  equal(p.state, "Ready");
  equal(p.mapVersion, 1);
  deepEqual(p.map[0], { rank: 0, targets: [4, 4, 4, 4] });
  deepEqual(eng.calls, [`create ${U1} 0,1,2,3`, `mapset ${U1} v1`]);
});

Deno.test("create: auto mode with num_ranks uses the first joined ranks only", async () => {
  const { svc } = env([...FOUR, member(4, 3, "stopped")]);
  const r = await svc.create(
    req({ tierBytes: [], totalBytes: 8 * GiB, tierRatio: [0.25, 0.75], numRanks: 2 }),
  );
  deepEqual(r.tgtRanks, [0, 1]);
  deepEqual(r.tierBytes, [GiB, 3 * GiB]);
});

Deno.test("create: a rank that is not joined is named in the error", async () => {
  const { svc, eng } = env([...FOUR, member(4, 3, "stopped")]);
  await rejects(svc.create(req({ ranks: [1, 4] })), (e) => {
    equal(faultCode(e), 606);
    match((e as Error).message, /rank 4 is stopped/);
    return true;
  });
  deepEqual(eng.calls, []);
});

Deno.test("create: too little SCM per target is PoolScmTooSmall (604)", async () => {
  const { svc } = env(FOUR);
  await rejects(svc.create(req({ tierBytes: [4 * SCM_MIN_PER_TARGET - 1, 0] })), (e) => {
    equal(faultCode(e), 604);
    return true;
  });
  await svc.create(req({ tierBytes: [4 * SCM_MIN_PER_TARGET, 0] }));
});

Deno.test("create: a duplicate label is PoolDuplicateLabel (609), also when serialised", async () => {
  const { svc, fx } = env(FOUR);
  // Both start before either is written: serialisation makes the second see the first.
  const a = svc.create(req());
  const b = svc.create(req({ uuid: U2 }));
  await a;
  await rejects(b, (e) => faultCode(e) === 609);
  equal(poolRecords(await fx.ctx.state()).length, 1);
});

Deno.test("create: engine NOSPACE removes the record and names the tier and largest size", async () => {
  const { svc, eng, fx } = env(FOUR);
  eng.fail.set("create", {
    status: DER_NOSPACE,
    error: "NVMe tier: not enough space",
    largest: [GiB, 2 * GiB],
  });
  await rejects(svc.create(req()), (e) => {
    match(
      (e as Error).message,
      /^DER_NOSPACE\(-1007\): .*: pool create tank: NVMe tier: 4\.3 GB per rank asked, at most 2\.1 GB per rank fits on every rank$/,
    );
    return true;
  });
  deepEqual(poolRecords(await fx.ctx.state()), []);
  // The label is free again.
  eng.fail.clear();
  await svc.create(req());
});

Deno.test("destroy: all ranks joined → record gone; again → not found", async () => {
  const { svc, eng, fx, events } = env(FOUR);
  await svc.create(req());
  await svc.destroy("tank");
  deepEqual(poolRecords(await fx.ctx.state()), []);
  ok(eng.calls.includes(`destroy ${U1} 0,2,3`));
  deepEqual(events, []);
  await rejects(svc.destroy("tank"), /unable to find pool service.*tank/);
});

Deno.test("destroy with a stopped rank is deferred, then finished when it joins", async () => {
  const { svc, eng, fx, events } = env(FOUR);
  await svc.create(req());
  await fx.ctx.write((s) => {
    const m = [...s.members.values()].find((x) => x.rank === 2)!;
    return { put: [{ ...m, state: "stopped" }], remove: [], attrs: {}, extraMapIncrements: 0 };
  });
  await svc.destroy(U1);
  let p = findPool(await fx.ctx.state(), U1)!;
  equal(p.state, "Destroying");
  deepEqual(p.pendingDestroy, [2]);
  deepEqual(events.map((e) => [e.id, e.ranks]), [["pool_destroy_deferred", [2]]]);
  // Another rank's join does not finish it.
  await svc.rankJoined(1);
  p = findPool(await fx.ctx.state(), U1)!;
  equal(p.state, "Destroying");
  await svc.rankJoined(2);
  deepEqual(poolRecords(await fx.ctx.state()), []);
  equal(eng.calls.filter((c) => c.startsWith("destroy")).length, 2);
});

Deno.test("a rank leaving Joined: its targets DOWN, version +1, pushed; rejoin re-pushes", async () => {
  const { svc, eng, fx } = env(FOUR);
  await svc.create(req());
  await svc.rankLeft(1);
  const p = findPool(await fx.ctx.state(), U1)!;
  equal(p.mapVersion, 2);
  deepEqual(p.map[1].targets, [2, 2, 2, 2]);
  deepEqual(p.map[0].targets, [4, 4, 4, 4]);
  deepEqual(eng.pushes.at(-1)?.version, 2);
  // Leaving twice changes nothing more.
  await svc.rankLeft(1);
  equal(findPool(await fx.ctx.state(), U1)!.mapVersion, 2);
  // A rank in no pool changes nothing.
  await svc.rankLeft(9);
  equal(eng.pushes.length, 2);
  await svc.rankJoined(1);
  equal(eng.pushes.length, 3);
});

Deno.test("join --replace of a rank UP_IN in a pool is fault 622", async () => {
  const { svc } = env(FOUR);
  await svc.create(req());
  await rejects(svc.checkReplace(1), (e) => {
    equal(faultCode(e), 622);
    match((e as Error).message, /rank 1 is enabled on pool tank/);
    return true;
  });
  await svc.rankLeft(1);
  await svc.checkReplace(1);
  await svc.checkReplace(7);
  equal(TargetState.DOWN, 2);
});

Deno.test("exclude, drain, reintegrate: target states, version +1, pushed; clear errors", async () => {
  const { svc, eng, fx } = env(FOUR);
  await svc.create(req());
  await svc.changeTargets("tank", [1], [0, 2], "exclude");
  let p = findPool(await fx.ctx.state(), U1)!;
  deepEqual(p.map[1].targets, [2, 4, 2, 4]);
  equal(p.mapVersion, 2);
  equal(eng.pushes.at(-1)?.version, 2);
  await svc.changeTargets("tank", [2], [], "drain");
  p = findPool(await fx.ctx.state(), U1)!;
  deepEqual(p.map[2].targets, [6, 6, 6, 6]);
  await svc.changeTargets("tank", [1, 2], [], "reintegrate");
  p = findPool(await fx.ctx.state(), U1)!;
  deepEqual([p.map[1].targets, p.map[2].targets, p.mapVersion], [[4, 4, 4, 4], [4, 4, 4, 4], 4]);
  await rejects(svc.changeTargets("tank", [7], [], "exclude"), /rank 7 is not in pool tank/);
  await rejects(
    svc.changeTargets("tank", [1], [4], "exclude"),
    /target index 4 out of range for rank 1 of pool tank \(4 targets: 0-3\)/,
  );
  await rejects(svc.changeTargets("nope", [1], [], "drain"), /unable to find pool.*nope/);
  // Nothing changed by the refused requests.
  equal(findPool(await fx.ctx.state(), U1)!.mapVersion, 4);
});

Deno.test("reintegrate needs the rank joined", async () => {
  const { svc, fx } = env(FOUR);
  await svc.create(req());
  await fx.ctx.write((s) => {
    const m = [...s.members.values()].find((x) => x.rank === 3)!;
    return { put: [{ ...m, state: "stopped" }], remove: [], attrs: {}, extraMapIncrements: 0 };
  });
  await svc.rankLeft(3);
  await rejects(
    svc.changeTargets(U1, [3], [], "reintegrate"),
    /rank 3 is stopped: only a joined rank can be reintegrated/,
  );
});

Deno.test("query: map fields from the record; an engine without the map gets it and is retried once", async () => {
  const { svc, eng } = env(FOUR);
  await svc.create(req());
  await svc.rankLeft(3);
  await svc.changeTargets("tank", [1], [0], "exclude");
  eng.fail.set("query", -1005);
  const pushes = eng.pushes.length;
  const q = await svc.query("tank", 0n);
  equal(eng.pushes.length, pushes + 1);
  equal(eng.calls.filter((c) => c.startsWith("query")).length, 2);
  deepEqual(
    [q.totalTargets, q.activeTargets, q.disabledTargets, q.degraded],
    [16, 11, 5, true],
  );
  deepEqual([q.enabledRanks, q.disabledRanks, q.deadRanks], ["0-2", "3", "3"]);
  equal(q.tierStats[0].free, 60);
  eng.fail.set("query", -1003);
  await rejects(svc.query("tank", 0n), /DER_INVAL\(-1003\): Invalid parameters: pool query of /);
});

Deno.test("extend: joined new ranks only; their targets UP_IN; version +1, pushed", async () => {
  const { svc, eng, fx } = env([...FOUR, member(4, 3, "joined"), member(5, 3, "stopped")]);
  await svc.create(req({ ranks: [0, 1, 2] }));
  await rejects(svc.extend("tank", [2]), /rank 2 is already in pool tank/);
  await rejects(svc.extend("tank", [5]), /rank 5 is stopped/);
  await svc.extend("tank", [3, 4]);
  const p = findPool(await fx.ctx.state(), U1)!;
  deepEqual(p.map.map((r) => r.rank), [0, 1, 2, 3, 4]);
  deepEqual(p.map[4].targets, [4, 4, 4, 4]);
  equal(p.mapVersion, 2);
  ok(eng.calls.includes(`extend ${U1} 3,4`));
  equal(eng.pushes.at(-1)?.version, 2);
});

Deno.test("extend: engine failure leaves the map unchanged", async () => {
  const { svc, eng, fx } = env(FOUR);
  await svc.create(req({ ranks: [0, 1] }));
  eng.fail.set("extend", { status: -1007, error: "SCM tier: not enough space" });
  await rejects(svc.extend("tank", [2]), /-1007.*SCM tier/);
  equal(findPool(await fx.ctx.state(), U1)!.mapVersion, 1);
});

Deno.test("props: record fields answered; label rename keeps uniqueness and moves the index", async () => {
  const { svc, fx } = env(FOUR);
  await svc.create(req());
  await svc.create(req({ uuid: U2, label: "other" }));
  deepEqual(await svc.getProps("tank", [1, 6, 7, 8]), {
    1: "tank",
    6: "root@",
    7: "root@",
    8: "0,2-3",
  });
  await rejects(svc.setProps("tank", { 1: "other" }), (e) => faultCode(e) === 609);
  await rejects(svc.setProps("tank", { 8: "1" }), /svc_list cannot be set/);
  await svc.setProps("tank", { 1: "pond", 4: "exclude" });
  const s = await fx.ctx.state();
  equal(findPool(s, "tank"), undefined);
  equal(findPool(s, "pond")?.uuid, U1);
  deepEqual(await svc.getProps("pond", [1, 4]), { 1: "pond", 4: "exclude" });
  // The old label is free again.
  await svc.create(req({ uuid: "33333333-3333-3333-3333-333333333333" }));
});

Deno.test("query targets: indexes checked against the map, states from the map", async () => {
  const { svc, eng } = env(FOUR);
  await svc.create(req());
  await svc.changeTargets("tank", [1], [2], "exclude");
  const infos = await svc.queryTargets("tank", 1, [1, 2]);
  deepEqual(infos.map((i) => [i.type, i.state, i.space[0].free]), [[3, 4, 50], [3, 2, 50]]);
  equal(eng.calls.at(-1), `querytargets ${U1} 1 1,2`);
  equal((await svc.queryTargets("tank", 0, [])).length, 4);
  await rejects(svc.queryTargets("tank", 9, []), /rank 9 is not in pool tank/);
  await rejects(svc.queryTargets("tank", 1, [4]), /target index 4 out of range/);
});

Deno.test("system drain: every pool holding the ranks, one result each; reint needs joined", async () => {
  const { svc, fx } = env(FOUR);
  await svc.create(req({ ranks: [0, 1] }));
  await svc.create(req({ uuid: U2, label: "other", ranks: [1, 2, 3] }));
  await rejects(svc.systemDrain("", "", false), /no ranks or hosts specified/);
  // Host 1 holds ranks 0 and 1.
  deepEqual(await svc.systemDrain("", "10.0.0.1", false), [
    { status: 0, msg: "", poolId: "tank", ranks: "0-1" },
    { status: 0, msg: "", poolId: "other", ranks: "1" },
  ]);
  let s = await fx.ctx.state();
  deepEqual(findPool(s, "other")!.map[0].targets, [6, 6, 6, 6]);
  await fx.ctx.write((st) => {
    const m = [...st.members.values()].find((x) => x.rank === 0)!;
    return { put: [{ ...m, state: "stopped" }], remove: [], attrs: {}, extraMapIncrements: 0 };
  });
  const back = await svc.systemDrain("0-1", "", true);
  equal(back[0].poolId, "tank");
  ok(back[0].status < 0 && /rank 0 is stopped/.test(back[0].msg), back[0].msg);
  deepEqual(back[1], { status: 0, msg: "", poolId: "other", ranks: "1" });
  s = await fx.ctx.state();
  deepEqual(findPool(s, "other")!.map[0].targets, [4, 4, 4, 4]);
});

Deno.test("labels: the reference's rules at create and at rename", async () => {
  const { svc, eng } = env(FOUR);
  for (const bad of ["a b", "x".repeat(128), U2, "tank/1"]) {
    await rejects(svc.create(req({ label: bad })), /invalid pool label/, bad);
  }
  deepEqual(eng.calls, []);
  await svc.create(req({ label: "a:b.c_d-" + "x".repeat(119) }));
  await rejects(svc.setProps(U1, { 1: "" }), /invalid pool label "": it is empty/);
});

Deno.test("create without a ready engine: fault 611, no record left, label free", async () => {
  const fx = opsFixture(FOUR);
  const svc = new PoolService({
    ctx: fx.ctx,
    engine: new NoPoolEngine(),
    targetsPerRank: 4,
    raise: () => {},
  });
  await rejects(svc.create(req()), (e) => faultCode(e) === 611);
  deepEqual(poolRecords(await fx.ctx.state()), []);
});

Deno.test("defaults: 3 service replicas, 1 when fewer ranks; tier ratio 6% SCM", async () => {
  const { svc } = env(FOUR);
  const two = await svc.create(req({ ranks: [0, 2] }));
  deepEqual(two.svcReps, [0]);
  const all = await svc.create(
    req({ uuid: U2, label: "b", tierBytes: [], totalBytes: 400 * GiB, tierRatio: [] }),
  );
  deepEqual(all.svcReps, [0, 2, 3]);
  deepEqual(all.tierBytes, autoTierBytes(400 * GiB, [0.06, 0.94], 4));
});

Deno.test("perRankTiers: one size per tier from the engine's per-rank pairs (the largest)", () => {
  deepEqual(perRankTiers([10, 100, 12, 100, 10, 104], 3, [1, 2]), [12, 104]);
  deepEqual(perRankTiers([10, 0], 1, [1, 2]), [10, 0]);
  deepEqual(perRankTiers([], 3, [1, 2]), [1, 2]);
  deepEqual(perRankTiers([10, 100, 12], 2, [1, 2]), [1, 2]);
});

Deno.test("destroy: the engine cannot reach a stopped rank → still deferred; all joined → error", async () => {
  const { svc, eng, fx, events } = env(FOUR);
  await svc.create(req());
  eng.fail.set("destroy", -1028); // the collective was incomplete: rank 2 is down
  await fx.ctx.write((s) => {
    const m = [...s.members.values()].find((x) => x.rank === 2)!;
    return { put: [{ ...m, state: "stopped" }], remove: [], attrs: {}, extraMapIncrements: 0 };
  });
  await svc.destroy(U1);
  deepEqual(findPool(await fx.ctx.state(), U1)!.pendingDestroy, [2]);
  deepEqual(events.map((e) => e.id), ["pool_destroy_deferred"]);
  eng.fail.clear();
  await svc.rankJoined(2);
  deepEqual(poolRecords(await fx.ctx.state()), []);

  await svc.create(req());
  eng.fail.set("destroy", -1028);
  await rejects(svc.destroy(U1), /pool destroy of 1111/);
  equal(findPool(await fx.ctx.state(), U1)!.state, "Destroying");
  eng.fail.clear();
  await svc.destroy(U1);
  deepEqual(poolRecords(await fx.ctx.state()), []);
});

Deno.test("deferred destroy waits until the engines hold a map with the returning rank", async () => {
  const { svc, eng, fx } = env(FOUR);
  await svc.create(req());
  await fx.ctx.write((s) => {
    const m = [...s.members.values()].find((x) => x.rank === 2)!;
    return { put: [{ ...m, state: "stopped" }], remove: [], attrs: {}, extraMapIncrements: 0 };
  });
  await svc.destroy(U1);
  const sent = () => eng.calls.filter((c) => c.startsWith("destroy")).length;
  await svc.rankJoined(2, () => Promise.resolve(false));
  equal(sent(), 1, "not re-sent before the map reached the engines");
  equal(findPool(await fx.ctx.state(), U1)!.state, "Destroying");
  let asked = 0;
  await svc.rankJoined(2, () => {
    asked++;
    return Promise.resolve(true);
  });
  equal(asked, 1);
  equal(sent(), 2);
  deepEqual(poolRecords(await fx.ctx.state()), []);
});

Deno.test("deferred destroy: a returning engine not yet answering is retried (bounded)", async () => {
  const { svc, eng, fx } = env(FOUR);
  await svc.create(req());
  await fx.ctx.write((s) => {
    const m = [...s.members.values()].find((x) => x.rank === 2)!;
    return { put: [{ ...m, state: "stopped" }], remove: [], attrs: {}, extraMapIncrements: 0 };
  });
  await svc.destroy(U1);
  const sent = () => eng.calls.filter((c) => c.startsWith("destroy")).length;
  // Rank 2 does not answer yet: every retry fails, then it gives up (the pool stays Destroying).
  eng.fail.set("destroy", -1028);
  await svc.rankJoined(2);
  equal(sent(), 1 + 1 + DESTROY_RETRIES);
  equal(findPool(await fx.ctx.state(), U1)!.state, "Destroying");
  eng.fail.clear();
  await svc.rankJoined(2);
  deepEqual(poolRecords(await fx.ctx.state()), []);
});

Deno.test("a previous leader's half-made pools: Creating and unfinished Destroying destroyed and removed; a stopped create rank defers", async () => {
  const { svc, eng, fx, events } = env(FOUR);
  await svc.create(req()); // Ready: left alone
  const half = {
    ...findPool(await fx.ctx.state(), U1)!,
    uuid: U2,
    label: "half",
    state: "Creating" as const,
    createRanks: [1, 2],
    map: [],
    mapVersion: 0,
  };
  const U3 = "33333333-3333-3333-3333-333333333333";
  const gone = { ...half, uuid: U3, label: "", state: "Destroying" as const, createRanks: [0] };
  await fx.ctx.write(() => putPool(putPool(noChanges(), half), gone));
  // Rank 2 is stopped: the Creating pool's destroy must wait for it.
  await fx.ctx.write((s) => {
    const m = [...s.members.values()].find((x) => x.rank === 2)!;
    return { ...noChanges(), put: [{ ...m, state: "stopped" }] };
  });
  const stale = await svc.stalePools();
  deepEqual(stale.map((p) => [p.uuid, p.state]).sort(), [[U2, "Creating"], [U3, "Destroying"]]);
  await svc.cleanUp(stale);
  const after = await fx.ctx.state();
  equal(findPool(after, U1)?.state, "Ready");
  equal(findPool(after, U3), undefined); // destroyed on every rank, record removed
  equal(findPool(after, "half")?.state, "Destroying");
  deepEqual(findPool(after, U2)?.pendingDestroy, [2]);
  deepEqual(events.map((e) => [e.id, e.poolUuid, e.ranks]), [
    ["pool_destroy_deferred", U2, [2]],
  ]);
  ok(eng.calls.includes(`destroy ${U3} ${half.svcRanks.join(",")}`));
  deepEqual(await svc.stalePools(), []); // a pending rank away: left to rankJoined
  await svc.rankJoined(2);
  equal(findPool(await fx.ctx.state(), U2), undefined);
  equal(findPool(await fx.ctx.state(), "half"), undefined); // label free again
});

Deno.test("a deferred destroy whose ranks came back while no leader watched is stale for the next leader", async () => {
  const { svc, fx } = env(FOUR);
  await svc.create(req());
  const setState = (state: "stopped" | "joined") =>
    fx.ctx.write((s) => {
      const m = [...s.members.values()].find((x) => x.rank === 2)!;
      return { ...noChanges(), put: [{ ...m, state }] };
    });
  await setState("stopped");
  await svc.destroy(U1); // deferred: rank 2 pending
  deepEqual(await svc.stalePools(), []);
  await setState("joined"); // no rankJoined hook ran (no leader)
  const stale = await svc.stalePools();
  deepEqual(stale.map((p) => [p.uuid, p.pendingDestroy]), [[U1, [2]]]);
  await svc.cleanUp(stale);
  deepEqual(poolRecords(await fx.ctx.state()), []);
});
