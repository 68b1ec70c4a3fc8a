/**
 * MgmtSvc handlers against a server context with a fake MS (no etcd, no listener): proto
 * mapping, the system check before every system call, errors in their wire form, and the
 * not-replica service of other servers.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import {
  createClient,
  createContextValues,
  createHandlerContext,
  createRouterTransport,
} from "@connectrpc/connect";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { JoinReqSchema, JoinResp_State } from "../../proto/gen/ts/mgmt/svc_pb.ts";
import { AuditRecordSchema, RASLogEntrySchema } from "../../proto/gen/ts/mgmt/events_pb.ts";
import { Fault } from "../lib/fault.ts";
import {
  decodeRemoteError,
  MsUnavailableError,
  NotLeaderError,
  NotReplicaError,
} from "../lib/rpc/error_codec.ts";
import { checkRequestSystem, systemOfRequest } from "../lib/system_name.ts";
import type { Member } from "../mgmt/member.ts";
import { peerHostKey } from "./mgmt_join.ts";
import { mgmtService, replicaMgmtService } from "./mgmt_svc.ts";
import type { ReplicaMs } from "./mgmt_system.ts";
import { remoteErr } from "./testing.ts";

const SYS = "daos_server";

const MEMBER: Member = {
  rank: 3,
  uuid: "6b1a1a4e-0b4e-4d0e-9d7e-2c1b9b8d5a11",
  addr: "10.0.0.2:10001",
  state: "joined",
  fault_domain: "/rack0/h2",
  incarnation: "18446744073709551615",
  fabric_uri: "ofi+tcp://10.0.0.2:31416",
  secondary_fabric_uris: [],
  fabric_contexts: 4,
  secondary_fabric_contexts: [],
  info: "",
  last_update: "2026-01-01T00:00:00Z",
};

/** A fake MS recording its calls; `fail` makes every call after the system check throw. */
function fakeMs(calls: string[], fail?: () => Error): ReplicaMs {
  const call = <T>(name: string, v: T): Promise<T> => {
    calls.push(name);
    return fail ? Promise.reject(fail()) : Promise.resolve(v);
  };
  const results = { results: [], absentRanks: "7", absentHosts: "h9:10001" };
  return {
    checkSystem: (sys) => checkRequestSystem(sys, SYS),
    join: (input, peerHost) =>
      call(`join ${input.uuid} ${input.addr} peer=${peerHost}`, {
        rank: 3,
        state: "joined" as const,
        mapVersion: 9,
      }),
    clusterEvent: (ev) => call(`event ${ev.id} rank ${ev.rank} ${ev.msg}`, undefined),
    leaderQuery: () =>
      call("leaderQuery", { leader: "10.0.0.1:10001", replicas: ["10.0.0.1:10001"], down: [] }),
    query: (ranks, hosts, mask) =>
      call(`query ${ranks}|${hosts}|${mask}`, {
        members: [MEMBER],
        absentRanks: "",
        absentHosts: "",
        dataVersion: 5n,
        providers: ["ofi+tcp"],
        selfHeal: "exclude",
      }),
    systemStop: (r) => call(`stop ${r.ranks} force=${r.force}`, results),
    systemStart: (r) => call(`start ${r.ranks}`, results),
    systemExclude: (r) => call(`exclude ${r.ranks} clear=${r.clear}`, []),
    systemErase: () => call("erase", []),
    setAttrs: (a) => call(`setAttrs ${JSON.stringify(a)}`, undefined),
    getAttrs: (keys) => call(`getAttrs ${keys}`, { k1: "v1" }),
    setProps: (p) => call(`setProps ${JSON.stringify(p)}`, undefined),
    getProps: (keys) => call(`getProps ${keys}`, { self_heal: "none" }),
    getEvents: (r) =>
      call(`events after=${r.after} since=${r.since} ranks=${r.ranks} limit=${r.limit}`, {
        events: [create(RASLogEntrySchema, { seq: 7n, event: { id: 2, rank: 3, msg: "died" } })],
        cursor: 9n,
      }),
    followEvents: async function* (r) {
      calls.push(`follow after=${r.after} ranks=${r.ranks} tail=${r.tail}`);
      if (fail) throw fail();
      for (let seq = r.after + 1n; seq <= r.after + 3n; seq++) {
        yield create(RASLogEntrySchema, { seq, event: { id: 1000, rank: 3 } });
      }
    },
    getAudit: (r) =>
      call(`audit after=${r.after} limit=${r.limit}`, {
        records: [create(AuditRecordSchema, { seq: 4n, who: "admin", outcome: "ok" })],
        cursor: 4n,
      }),
    poolCreate: (r) =>
      call(`poolCreate ${r.uuid} label=${r.label} ranks=${r.ranks} tiers=${r.tierBytes}`, {
        svcLdr: 1,
        svcReps: [1, 2],
        tgtRanks: [1, 2],
        tierBytes: [1024, 2048],
      }),
    poolDestroy: (id) => call(`poolDestroy ${id}`, undefined),
    poolChangeTargets: (id, ranks, idx, op) => call(`${op} ${id} ${ranks}/${idx}`, undefined),
    poolQueryTargets: (id, rank, targets) =>
      call(`queryTargets ${id} ${rank} ${targets}`, [
        { type: 3, state: 2, space: [{ total: 100, free: 40 }, { total: 200, free: 80 }] },
      ]),
    systemDrain: (ranks, hosts, reint) =>
      call(`drain ${ranks}|${hosts}|${reint}`, [
        { status: 0, msg: "", poolId: "tank", ranks: "1" },
        { status: -1025, msg: "rank 1 is stopped", poolId: "other", ranks: "1" },
      ]),
    poolExtend: (id, ranks) => call(`extend ${id} ${ranks}`, [1024, 0]),
    poolGetProps: (id, nums) => call(`getProps ${id} ${nums}`, { 1: "tank", 4: "1" }),
    poolSetProps: (id, props) => call(`setProps ${id} ${JSON.stringify(props)}`, undefined),
    poolQuery: (id, mask) =>
      call(`poolQuery ${id} ${mask}`, {
        pool: {
          uuid: "u1",
          label: "tank",
          state: "Ready" as const,
          svcRanks: [2, 0],
          props: {},
          owner: "",
          group: "",
          tierBytes: [],
          createRanks: [0, 2],
          mapVersion: 3,
          map: [{ rank: 0, targets: [4] }, { rank: 2, targets: [2] }],
          pendingDestroy: [],
        },
        totalTargets: 2,
        activeTargets: 1,
        disabledTargets: 1,
        degraded: true,
        tierStats: [{ total: 100, free: 60, min: 10, max: 20, mean: 15 }],
        enabledRanks: "0",
        disabledRanks: "2",
        deadRanks: "2",
      }),
    listPools: () =>
      call("listPools", [{
        uuid: "u1",
        label: "tank",
        state: "Ready" as const,
        svcRanks: [1],
        props: {},
        owner: "",
        group: "",
        tierBytes: [],
        createRanks: [1],
        mapVersion: 1,
        map: [],
        pendingDestroy: [],
      }]),
  };
}

function client(ms: ReplicaMs) {
  return createClient(
    MgmtSvc,
    createRouterTransport(({ service }) => service(MgmtSvc, replicaMgmtService({ ms }))),
  );
}

Deno.test("replica MgmtSvc: each call reaches the MS and maps its answer onto the proto", async () => {
  const calls: string[] = [];
  const c = client(fakeMs(calls));
  const q = await c.systemQuery({ sys: SYS, ranks: "3", stateMask: 4 });
  deepEqual(q.members.map((m) => [m.rank, m.addr, m.state, m.incarnation, m.faultDomain]), [
    [3, "10.0.0.2:10001", "joined", 18446744073709551615n, "/rack0/h2"],
  ]);
  deepEqual([q.dataVersion, q.providers, q.sysSelfHealPolicy], [5n, ["ofi+tcp"], "exclude"]);
  const stop = await c.systemStop({ sys: SYS, ranks: "3,7", force: true });
  deepEqual([stop.absentranks, stop.absenthosts], ["7", "h9:10001"]);
  const start = await c.systemStart({ sys: SYS, ranks: "3,7" });
  deepEqual([start.absentranks, start.absenthosts], ["7", "h9:10001"]);
  await c.systemExclude({ sys: SYS, ranks: "3", clear: true });
  await c.systemErase({ sys: SYS });
  const lq = await c.leaderQuery({ sys: `${SYS}-2.9.100` });
  deepEqual([lq.currentLeader, lq.replicas, lq.DownReplicas], ["10.0.0.1:10001", [
    "10.0.0.1:10001",
  ], []]);
  const ev = await c.clusterEvent({ sequence: 5n, event: { id: 2, rank: 3, msg: "died" } });
  equal(ev.sequence, 5n);
  deepEqual(calls, [
    "query 3||4",
    "stop 3,7 force=true",
    "start 3,7",
    "exclude 3 clear=true",
    "erase",
    "leaderQuery",
    "event 2 rank 3 died",
  ]);
});

Deno.test("replica MgmtSvc: Join takes the caller's IP from the context and answers IN", async () => {
  const calls: string[] = [];
  const svc = replicaMgmtService({ ms: fakeMs(calls) });
  const hctx = createHandlerContext({
    service: MgmtSvc,
    method: MgmtSvc.method.join,
    protocolName: "connect",
    requestMethod: "POST",
    url: "http://127.0.0.1/mgmt.MgmtSvc/Join",
    contextValues: createContextValues().set(peerHostKey, "10.0.0.9"),
  });
  const req = create(JoinReqSchema, { sys: SYS, uuid: "u1", addr: "0.0.0.0:10001" });
  const r = await svc.join(req, hctx);
  deepEqual([r.rank, r.state, r.mapVersion, r.localJoin], [3, JoinResp_State.IN, 9, false]);
  deepEqual(calls, ["join u1 0.0.0.0:10001 peer=10.0.0.9"]);
});

Deno.test("replica MgmtSvc: another system's request is fault 603 before the MS is called; MS errors keep their type on the wire", async () => {
  const calls: string[] = [];
  const c = client(fakeMs(calls));
  for (
    const p of [c.systemQuery({ sys: "other" }), c.systemStop({ sys: "" }), c.join({ sys: "x" })]
  ) {
    const e = await remoteErr(p);
    ok(e instanceof Fault && e.code === 603, String(e));
  }
  deepEqual(calls, []);
  const noEvent = await remoteErr(c.clusterEvent({ sequence: 1n }));
  ok(noEvent instanceof Fault && /no RAS event/.test(noEvent.description), String(noEvent));

  const down = client(fakeMs(calls, () => new MsUnavailableError("step-up")));
  const e1 = await remoteErr(down.systemQuery({ sys: SYS }));
  ok(e1 instanceof MsUnavailableError && e1.kind === "step-up", String(e1));
  const follower = client(fakeMs(calls, () => new NotLeaderError("10.0.0.1:10001", [])));
  const e2 = await remoteErr(follower.systemStart({ sys: SYS, ranks: "1" }));
  ok(e2 instanceof NotLeaderError && e2.leaderHint === "10.0.0.1:10001", String(e2));
});

Deno.test("mgmtService: a server with an MS serves the replica's calls", async () => {
  const calls: string[] = [];
  const config = { name: SYS, mgmtSvcReplicas: ["h1:10001"] };
  const c = createClient(
    MgmtSvc,
    createRouterTransport((r) => r.service(MgmtSvc, mgmtService({ ms: fakeMs(calls), config }))),
  );
  equal((await c.leaderQuery({ sys: SYS })).currentLeader, "10.0.0.1:10001");
  deepEqual(calls, ["leaderQuery"]);
});

Deno.test("non-replica MgmtSvc: system name check, then not-replica for every call", async () => {
  const config = { name: SYS, mgmtSvcReplicas: ["h1:10001", "h2:10001"] };
  const transport = createRouterTransport((r) =>
    r.service(MgmtSvc, mgmtService({ ms: null, config }))
  );
  const client = createClient(MgmtSvc, transport);
  const err = await client.leaderQuery({ sys: "daos_server-2.9.100" }).then(
    () => undefined,
    (e) => decodeRemoteError(e),
  );
  ok(err instanceof NotReplicaError);
  deepEqual(err.replicas, ["h1:10001", "h2:10001"]);
  equal(err.message, "not a DAOS Management Service replica (try one of h1:10001,h2:10001)");
  const wrong = await client.systemQuery({ sys: "other" }).then(() => undefined, decodeRemoteError);
  ok(wrong instanceof Fault);
  equal(wrong.code, 603);
  equal(wrong.description, "request system does not match running system (other != daos_server)");
  equal(systemOfRequest("daos_server-2.9.100"), "daos_server");
});

Deno.test("replica MgmtSvc: attribute and property calls reach the MS after the system check", async () => {
  const calls: string[] = [];
  const c = client(fakeMs(calls));
  await c.systemSetAttr({ sys: SYS, attributes: { k1: "v1", k2: "" } });
  const ga = await c.systemGetAttr({ sys: SYS, keys: ["k1"] });
  deepEqual(ga.attributes, { k1: "v1" });
  await c.systemSetProp({ sys: SYS, properties: { self_heal: "none" } });
  const gp = await c.systemGetProp({ sys: SYS, keys: [] });
  deepEqual(gp.properties, { self_heal: "none" });
  deepEqual(calls, [
    'setAttrs {"k1":"v1","k2":""}',
    "getAttrs k1",
    'setProps {"self_heal":"none"}',
    "getProps ",
  ]);
  const e = await remoteErr(c.systemSetAttr({ sys: "other", attributes: { a: "b" } }));
  ok(e instanceof Fault && e.code === 603, String(e));
  equal(calls.length, 4);
});

Deno.test("replica MgmtSvc: event log and audit calls map onto the proto, follow streams", async () => {
  const calls: string[] = [];
  const c = client(fakeMs(calls));
  const ev = await c.systemGetEvents({ sys: SYS, after: 2n, since: "T", ranks: "3", limit: 5 });
  deepEqual([ev.cursor, ev.events.map((e) => [e.seq, e.event?.id, e.event?.msg])], [9n, [[
    7n,
    2,
    "died",
  ]]]);
  const au = await c.systemGetAudit({ sys: SYS, after: 1n, limit: 2 });
  deepEqual([au.cursor, au.records.map((r) => [r.seq, r.who, r.outcome])], [4n, [[
    4n,
    "admin",
    "ok",
  ]]]);
  const seqs: bigint[] = [];
  for await (const e of c.systemFollowEvents({ sys: SYS, after: 10n, ranks: "3", tail: 0 })) {
    seqs.push(e.seq);
  }
  deepEqual(seqs, [11n, 12n, 13n]);
  deepEqual(calls, [
    "events after=2 since=T ranks=3 limit=5",
    "audit after=1 limit=2",
    "follow after=10 ranks=3 tail=0",
  ]);
  // The system check comes first, and a stream's failure arrives in its wire form.
  const wrong = await remoteErr(c.systemGetEvents({ sys: "other" }));
  ok(wrong instanceof Fault && wrong.code === 603, String(wrong));
  const follow = async () => {
    for await (const _ of c.systemFollowEvents({ sys: "other" })) { /* none */ }
  };
  const wrongFollow = await remoteErr(follow());
  ok(wrongFollow instanceof Fault && wrongFollow.code === 603, String(wrongFollow));
  const down = client(fakeMs([], () => new NotLeaderError("10.0.0.9:10001", [])));
  const notLeader = await remoteErr((async () => {
    for await (const _ of down.systemFollowEvents({ sys: SYS })) { /* none */ }
  })());
  ok(notLeader instanceof NotLeaderError, String(notLeader));
});

Deno.test("replica MgmtSvc: pool calls reach the MS; label from property 1; system name checked", async () => {
  const calls: string[] = [];
  const c = client(fakeMs(calls));
  const r = await c.poolCreate({
    sys: SYS,
    uuid: "u1",
    tierBytes: [1024n, 2048n],
    properties: [{ number: 1, value: { case: "strval", value: "tank" } }],
  });
  deepEqual([r.svcLdr, r.svcReps, r.tgtRanks, r.tierBytes], [1, [1, 2], [1, 2], [1024n, 2048n]]);
  await c.poolDestroy({ sys: SYS, id: "tank" });
  const l = await c.listPools({ sys: SYS });
  deepEqual(l.pools.map((p) => [p.uuid, p.label, p.state, p.svcReps]), [["u1", "tank", "Ready", [
    1,
  ]]]);
  deepEqual(calls, [
    "poolCreate u1 label=tank ranks= tiers=1024,2048",
    "poolDestroy tank",
    "listPools",
  ]);
  const wrong = await remoteErr(c.listPools({ sys: "other" }));
  ok(wrong instanceof Fault && wrong.code === 603, String(wrong));
  const follower = client(fakeMs([], () => new NotLeaderError("10.0.0.1:10001", [])));
  const e = await remoteErr(follower.poolDestroy({ sys: SYS, id: "tank" }));
  ok(e instanceof NotLeaderError && e.leaderHint === "10.0.0.1:10001", String(e));
  await c.poolExclude({ sys: SYS, id: "tank", ranks: [2], targetIdx: [0, 1] });
  await c.poolDrain({ sys: SYS, id: "tank", ranks: [2] });
  await c.poolReintegrate({ sys: SYS, id: "tank", ranks: [2] });
  // Disabled ranks asked for (bit 3), enabled and dead not.
  const q = await c.poolQuery({ sys: SYS, id: "tank", queryMask: 8n });
  deepEqual(
    [q.uuid, q.state, q.version, q.leader, q.totalTargets, q.disabledTargets, q.totalEngines],
    ["u1", 3, 3, 2, 2, 1, 2],
  );
  deepEqual([q.enabledRanks, q.disabledRanks, q.deadRanks], ["", "2", ""]);
  deepEqual(q.tierStats.map((t) => [t.free, t.mediaType]), [[60n, 0]]);
  deepEqual(calls.slice(-4), [
    "exclude tank 2/0,1",
    "drain tank 2/",
    "reintegrate tank 2/",
    "poolQuery tank 8",
  ]);
  deepEqual((await c.poolExtend({ sys: SYS, id: "tank", ranks: [5] })).tierBytes, [1024n, 0n]);
  await c.poolSetProp({
    sys: SYS,
    id: "tank",
    properties: [{ number: 4, value: { case: "numval", value: 1n } }],
  });
  const gp = await c.poolGetProp({ sys: SYS, id: "tank", properties: [{ number: 1 }] });
  deepEqual(gp.properties.map((p) => [p.number, p.value.case, p.value.value]), [
    [1, "strval", "tank"],
    [4, "numval", 1n],
  ]);
  deepEqual(calls.slice(-3), ["extend tank 5", 'setProps tank {"4":"1"}', "getProps tank 1"]);
  const qt = await c.poolQueryTarget({ sys: SYS, id: "tank", rank: 2, targets: [1] });
  deepEqual(
    qt.infos.map((i) => [i.type, i.state, i.space.map((u) => [u.free, u.mediaType])]),
    [[3, 2, [[40n, 0], [80n, 1]]]],
  );
  equal(calls.at(-1), "queryTargets tank 2 1");
  const dr = await c.systemDrain({ sys: SYS, ranks: "1", reint: true });
  equal(dr.reint, true);
  deepEqual(dr.results.map((r) => [r.poolId, r.status, r.ranks, r.msg]), [
    ["tank", 0, "1", ""],
    ["other", -1025, "1", "rank 1 is stopped"],
  ]);
  equal(calls.at(-1), "drain 1||true");
});
