import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import type { GroupUpdateReq } from "../../proto/gen/ts/mgmt/srv_pb.ts";
import { RankResultSchema } from "../../proto/gen/ts/shared/ranks_pb.ts";
import { type DbState, emptyState } from "./db.ts";
import { ATTR_GROUP_UPDATE_PAUSED, groupMap, GroupUpdater, mayResume } from "./group_update.ts";
import type { MemberStateWireName as MemberState } from "../lib/states.ts";
import type { Member } from "./member.ts";

function member(rank: number, state: MemberState, addr = "10.0.0.1:10001", uri?: string): Member {
  return {
    rank,
    uuid: `00000000-0000-0000-0000-${String(rank).padStart(12, "0")}`,
    addr,
    state,
    fault_domain: "/h",
    incarnation: String(100 + rank),
    fabric_uri: uri ?? `ofi+tcp://10.0.0.1:${20000 + rank}`,
    secondary_fabric_uris: [],
    fabric_contexts: 1,
    secondary_fabric_contexts: [],
    info: "",
    last_update: "",
  };
}

function stateOf(members: Member[], mapVersion: number): DbState {
  const s = emptyState();
  for (const m of members) s.members.set(m.uuid, m);
  s.mapVersion = mapVersion;
  return s;
}

Deno.test("groupMap: AwaitFormat, Excluded, AdminExcluded, Nil rank, empty or undeliverable URI left out; the map names its system", () => {
  const req = groupMap(
    [
      member(3, "joined"),
      member(0, "stopped"),
      member(1, "excluded"),
      member(2, "adminexcluded"),
      member(4, "awaitformat"),
      member(5, "joined", undefined, ""),
      member(0xffffffff, "joined"),
      member(6, "errored"),
      // One an engine would refuse the whole map for: a URI longer than it can hold, no port.
      member(7, "joined", undefined, `ofi+tcp://${"h".repeat(200)}:1`),
      member(8, "joined", undefined, "ofi+tcp://10.0.0.1"),
      // A rank listed twice would make every host refuse the map: one is kept.
      { ...member(6, "joined"), uuid: "ffffffff-0000-0000-0000-000000000006" },
    ],
    7,
    "daos_server",
  );
  equal(req.mapVersion, 7);
  equal(req.sys, "daos_server");
  deepEqual(req.engines.map((e) => [e.rank, e.uri, e.incarnation]), [
    [0, "ofi+tcp://10.0.0.1:20000", 100n],
    [3, "ofi+tcp://10.0.0.1:20003", 103n],
    [6, "ofi+tcp://10.0.0.1:20006", 106n],
  ]);
  throws(
    () => groupMap([member(1, "excluded")], 2, "daos_server"),
    /^Error: empty group map \(all ranks excluded\?\)$/,
  );
});

Deno.test("mayResume: only when every member is Joined or AdminExcluded", () => {
  equal(mayResume([member(0, "joined"), member(1, "adminexcluded")]), true);
  equal(mayResume([member(0, "joined"), member(1, "stopped")]), false);
});

/**
 * A GroupUpdater over an in-memory state; hosts in `fail` fail; with `gate`, every send waits
 * for it first.
 */
function rig(initial: DbState, fail = new Set<string>(), gate?: Promise<void>) {
  let state = initial;
  const sent: { addr: string; req: GroupUpdateReq }[] = [];
  const logs: string[] = [];
  const u = new GroupUpdater({
    system: "daos_server",
    state: () => Promise.resolve(state),
    bumpMapVersion: () => {
      state = { ...state, mapVersion: state.mapVersion + 1 };
      return Promise.resolve(state);
    },
    send: async (addr, req) => {
      if (gate) await gate;
      if (fail.has(addr)) throw new Error("connection refused");
      sent.push({ addr, req });
      return [create(RankResultSchema, { rank: 0, addr })];
    },
    log: (m) => logs.push(m),
  });
  return {
    u,
    sent,
    logs,
    set: (s: DbState) => state = s,
    get: () => state,
  };
}

Deno.test("GroupUpdater: immediate update raises the version and reaches each host once", async () => {
  const r = rig(stateOf([
    member(0, "joined", "10.0.0.1:10001"),
    member(1, "joined", "10.0.0.2:10001"),
    member(2, "joined", "10.0.0.2:10001"),
  ], 3));
  r.u.requestImmediate();
  await r.u.idle();
  equal(r.get().mapVersion, 4);
  deepEqual(r.sent.map((s) => [s.addr, s.req.mapVersion, s.req.engines.length]).sort(), [
    ["10.0.0.1:10001", 4, 3],
    ["10.0.0.2:10001", 4, 3],
  ]);
  equal(r.u.lastSent(), 4);
});

Deno.test("GroupUpdater: lazy update without increment, skipped when the version was sent", async () => {
  const r = rig(stateOf([member(0, "joined")], 5));
  r.u.start(10);
  try {
    r.u.requestLazy();
    for (let i = 0; i < 100 && r.sent.length === 0; i++) await new Promise((x) => setTimeout(x, 5));
    await r.u.idle();
    deepEqual(r.sent.map((s) => s.req.mapVersion), [5]);
    equal(r.get().mapVersion, 5); // no increment
    r.u.requestLazy(); // same version: nothing sent
    for (let i = 0; i < 5; i++) await new Promise((x) => setTimeout(x, 15));
    await r.u.idle();
    equal(r.sent.length, 1);
  } finally {
    r.u.stop();
  }
});

Deno.test("GroupUpdater: paused attribute suppresses; backwards version refused; empty map named", async () => {
  const paused = stateOf([member(0, "joined")], 2);
  paused.attrs.set(ATTR_GROUP_UPDATE_PAUSED, "true");
  const r = rig(paused);
  r.u.requestImmediate();
  await r.u.idle();
  equal(r.sent.length, 0);
  equal(r.get().mapVersion, 2);

  r.set(stateOf([member(0, "joined")], 9));
  r.u.requestImmediate();
  await r.u.idle();
  equal(r.u.lastSent(), 10);
  r.set(stateOf([member(0, "joined")], 4)); // e.g. a stale state after failover
  r.u.start(1000);
  r.u.stop(); // a stop forgets: nothing refused after a new start
  r.u.requestImmediate();
  await r.u.idle();
  equal(r.u.lastSent(), 5);
  r.set(stateOf([member(0, "joined")], 1));
  r.u.requestImmediate(); // bumps to 2 < 5
  await r.u.idle();
  equal(r.u.lastSent(), 5);
  equal(r.logs.some((l) => /version went backwards: 2 < last sent 5/.test(l)), true);

  r.set(stateOf([member(0, "excluded")], 7));
  r.u.requestImmediate();
  await r.u.idle();
  equal(r.logs.at(-1), "group update: empty group map (all ranks excluded?)");
});

/** Two hosts at map version 1, the second refusing until `fail` is cleared; tick 10 ms. */
function twoHostsSecondFailing() {
  const fail = new Set(["10.0.0.2:10001"]);
  const r = rig(
    stateOf([member(0, "joined", "10.0.0.1:10001"), member(1, "joined", "10.0.0.2:10001")], 1),
    fail,
  );
  r.u.start(10);
  return { fail, r };
}

Deno.test("GroupUpdater: a failed host keeps the update flagged and is retried on the tick", async () => {
  const { fail, r } = twoHostsSecondFailing();
  try {
    r.u.requestImmediate();
    await r.u.idle();
    equal(r.u.lastSent(), 0);
    equal(r.logs.filter((l) => /not delivered to 10\.0\.0\.2:10001/.test(l)).length, 1);
    fail.clear();
    for (let i = 0; i < 200 && r.u.lastSent() === 0; i++) {
      await new Promise((x) => setTimeout(x, 5));
    }
    equal(r.u.lastSent(), 2);
    equal(r.get().mapVersion, 2); // the retry did not raise the version again
  } finally {
    r.u.stop();
    await r.u.idle();
  }
});

Deno.test("GroupUpdater: halt waits for the send in flight and refuses requests until start", async () => {
  let release = () => {};
  const r = rig(stateOf([member(0, "joined")], 1), new Set(), new Promise((ok) => release = ok));
  const u = r.u;
  const sent = () => r.sent.map((s) => s.req.mapVersion);
  u.requestImmediate();
  let halted = false;
  const h = u.halt().then(() => halted = true);
  await Promise.resolve();
  equal(halted, false); // the send of version 2 is still in flight
  release();
  await h;
  deepEqual(sent(), [2]); // delivered before halt() returned
  u.requestImmediate();
  u.requestLazy();
  await u.idle();
  deepEqual(sent(), [2]);
  equal(r.get().mapVersion, 2); // no increment while halted
  u.start(1000);
  try {
    u.requestImmediate();
    await u.idle();
    deepEqual(sent(), [2, 3]);
  } finally {
    u.stop();
    await u.idle();
  }
});

Deno.test("GroupUpdater: a failed version bump (transient etcd error) is retried on the tick", async () => {
  let state = stateOf([member(0, "joined", "10.0.0.1:10001")], 1);
  let bumpFails = 1;
  const sent: number[] = [];
  const u = new GroupUpdater({
    system: "daos_server",
    state: () => Promise.resolve(state),
    bumpMapVersion: () => {
      if (bumpFails-- > 0) return Promise.reject(new Error("etcd: deadline exceeded"));
      state = { ...state, mapVersion: state.mapVersion + 1 };
      return Promise.resolve(state);
    },
    send: (addr, req) => {
      sent.push(req.mapVersion);
      return Promise.resolve([create(RankResultSchema, { rank: 0, addr })]);
    },
    log: () => {},
  });
  u.start(10);
  try {
    u.requestImmediate();
    await u.idle();
    equal(u.lastSent(), 0);
    for (let i = 0; i < 200 && u.lastSent() === 0; i++) {
      await new Promise((x) => setTimeout(x, 5));
    }
    // The retry sends the current map (the DB version already moved with the member change).
    equal(u.lastSent(), 1);
    deepEqual(sent, [1]);
  } finally {
    u.stop();
    await u.idle();
  }
});

Deno.test("GroupUpdater: a host holding only excluded ranks gets the map too, best effort", async () => {
  const fail = new Set<string>();
  const r = rig(
    stateOf([
      member(0, "joined", "10.0.0.1:10001"),
      member(1, "adminexcluded", "10.0.0.2:10001"),
      member(2, "excluded", "10.0.0.3:10001"),
    ], 3),
    fail,
  );
  r.u.requestImmediate();
  await r.u.idle();
  // The excluded engines learn from the map that they are out of it.
  deepEqual(r.sent.map((s) => [s.addr, s.req.engines.map((e) => e.rank)]).sort(), [
    ["10.0.0.1:10001", [0]],
    ["10.0.0.2:10001", [0]],
    ["10.0.0.3:10001", [0]],
  ]);
  equal(r.u.lastSent(), 4);
  // Such a host being down does not hold the update back (it is often why it was excluded).
  fail.add("10.0.0.3:10001");
  r.sent.length = 0;
  r.u.requestImmediate();
  await r.u.idle();
  equal(r.u.lastSent(), 5);
  deepEqual(r.sent.map((s) => s.addr).sort(), ["10.0.0.1:10001", "10.0.0.2:10001"]);
});

Deno.test("GroupUpdater: delivery lag reported once per committed version, retries included; lazy sends not", async () => {
  const fail = new Set(["10.0.0.2:10001"]);
  let state = stateOf([
    member(0, "joined", "10.0.0.1:10001"),
    member(1, "joined", "10.0.0.2:10001"),
  ], 1);
  const lags: [number, number][] = [];
  const u = new GroupUpdater({
    system: "daos_server",
    state: () => Promise.resolve(state),
    bumpMapVersion: () => {
      state = { ...state, mapVersion: state.mapVersion + 1 };
      return Promise.resolve(state);
    },
    send: (addr) => {
      if (fail.has(addr)) return Promise.reject(new Error("connection refused"));
      return Promise.resolve([create(RankResultSchema, { rank: 0, addr })]);
    },
    log: () => {},
    onDelivered: (v, lag) => lags.push([v, lag]),
  });
  u.start(10);
  try {
    u.requestImmediate();
    await u.idle();
    deepEqual(lags, [], "not delivered to every host yet");
    await new Promise((x) => setTimeout(x, 60));
    fail.clear();
    for (let i = 0; i < 200 && u.lastSent() === 0; i++) await new Promise((x) => setTimeout(x, 5));
    equal(u.lastSent(), 2);
    equal(lags.length, 1);
    equal(lags[0][0], 2);
    // The lag spans the failed attempt and the wait until the retry succeeded.
    ok(lags[0][1] >= 0.06 && lags[0][1] < 5, `lag ${lags[0][1]}`);
    // A lazy send of a version committed elsewhere (previous leader) has no known commit time.
    state = { ...state, mapVersion: 5 };
    u.requestLazy();
    for (let i = 0; i < 200 && u.lastSent() !== 5; i++) await new Promise((x) => setTimeout(x, 5));
    equal(u.lastSent(), 5);
    equal(lags.length, 1);
  } finally {
    u.stop();
    await u.idle();
  }
});

Deno.test("GroupUpdater.delivered: true once the version reached every host (after a retry), false on stop or timeout", async () => {
  const { fail, r } = twoHostsSecondFailing();
  try {
    const early = r.u.delivered(2, 5_000);
    const later = r.u.delivered(3, 5_000);
    r.u.requestImmediate();
    await r.u.idle();
    equal(r.u.lastSent(), 0); // host 2 failed: version 2 not delivered yet
    fail.clear(); // the tick retries
    equal(await early, true);
    equal(r.u.lastSent(), 2);
    equal(await r.u.delivered(1, 10), true); // an older version: at once
    equal(await r.u.delivered(9, 30), false); // never committed: the timeout answers
    r.u.stop();
    equal(await later, false); // stopped (leadership lost) before version 3
  } finally {
    r.u.stop();
    await r.u.idle();
  }
});
