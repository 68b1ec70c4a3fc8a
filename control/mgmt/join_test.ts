import { deepEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { NilRank } from "../lib/rankset.ts";
import { Fault } from "../lib/fault.ts";
import { emptyState } from "./db.ts";
import { applyJoin, ATTR_PROVIDERS, Draft, type JoinInput } from "./join.ts";
import { joinInput } from "./testing/fixture.ts";
import { POOL_PREFIX, type PoolRecord, TargetState } from "./pool/record.ts";

const NOW = "2026-01-01T00:00:00.000Z";

const req = joinInput;

function draft(): Draft {
  const s = emptyState();
  s.attrs.set(ATTR_PROVIDERS, "ofi+tcp");
  return new Draft(s);
}

function rejects(d: Draft, r: JoinInput, text: string): unknown {
  let err: unknown;
  throws(() => {
    try {
      applyJoin(d, r, NOW);
    } catch (e) {
      err = e;
      throw e;
    }
  });
  assert(err instanceof Error && err.message.includes(text), `${err} should include ${text}`);
  return err;
}

Deno.test("join: ranks are 0 on request, then from NextRank, never reissued", () => {
  const d = draft();
  assertEquals(applyJoin(d, req({ rank: 0 }), NOW).rank, 0);
  const a = req({ addr: "10.0.0.2:10001", uri: "ofi+tcp://10.0.0.2:1" });
  assertEquals(applyJoin(d, a, NOW).rank, 1);
  assertEquals(applyJoin(d, req({ addr: "10.0.0.3:10001" }), NOW).rank, 2);
  // Replace removes rank 1's old uuid; a later new engine still gets 3, not 1.
  const repl = applyJoin(d, { ...a, uuid: crypto.randomUUID(), replace: true }, NOW);
  assertEquals(repl.rank, 1);
  assertEquals(applyJoin(d, req({ addr: "10.0.0.4:10001" }), NOW).rank, 3);
  assertEquals(d.state.nextRank, 4);
  assertEquals(d.changes.remove, [a.uuid]);
  assertEquals(d.changes.put.length, 4);
});

Deno.test("join: rejoin checks use the reference texts", () => {
  const d = draft();
  const a = req();
  applyJoin(d, a, NOW); // rank 1
  assertEquals(applyJoin(d, { ...a, rank: 1 }, NOW).rank, 1);
  // Lost reply: the engine retries with no rank and gets its rank back.
  assertEquals(applyJoin(d, { ...a, rank: NilRank }, NOW).rank, 1);
  rejects(
    d,
    { ...a, rank: 5 },
    `can't rejoin member with uuid ${a.uuid}: rank changed from 1 -> 5`,
  );
  const other = crypto.randomUUID();
  rejects(
    d,
    { ...a, uuid: other, rank: 1 },
    `can't rejoin member with rank 1: uuid changed from ${a.uuid} -> ${other}`,
  );
  rejects(
    d,
    { ...a, rank: 1, addr: "10.0.0.9:10001" },
    `can't rejoin member ${a.uuid} (rank 1): control address changed from 10.0.0.1:10001 -> 10.0.0.9:10001`,
  );
  d.state.members.get(a.uuid)!.state = "adminexcluded";
  rejects(d, { ...a, rank: 1 }, `member ${a.uuid} (rank 1) has been administratively excluded`);
});

Deno.test("join: input validation, provider, duplicate identity, explicit ranks", () => {
  const d = draft();
  rejects(d, req({ uuid: "nope" }), 'invalid uuid "nope"');
  rejects(d, req({ srvFaultDomain: "" }), "no fault domain in join request");
  rejects(d, req({ uri: "" }), "no primary fabric URI in JoinRequest");
  rejects(
    d,
    req({ uri: "ucx+dc://10.0.0.1:31416" }),
    'rank NilRank fabric provider "ucx+dc" does not match system provider "ofi+tcp"',
  );
  const a = req();
  applyJoin(d, a, NOW);
  const dup = rejects(
    d,
    { ...a, uuid: crypto.randomUUID() },
    "system member with matching control address, fabric URIs, and fault domain already exists with UUID",
  );
  assert(dup instanceof Fault && dup.code === 404 && dup.resolution.includes("--replace"));
  rejects(
    d,
    req({ rank: 7, uuid: a.uuid, addr: "10.0.0.5:10001" }),
    `can't rejoin member with uuid ${a.uuid}: rank changed from 1 -> 7`,
  );
  const depth = rejects(
    d,
    req({ srvFaultDomain: "/rack1/host2", addr: "10.0.0.6:10001" }),
    'cannot join system with fault domain "/rack1/host2", need layers = 1',
  );
  assert(depth instanceof Fault && depth.code === 401);
  // An explicit rank the system never issued is refused and NextRank does not move.
  const never = rejects(
    d,
    req({ rank: 10, addr: "10.0.0.7:10001" }),
    "rank 10 was never issued by this system (next rank to issue: 2)",
  );
  assert(never instanceof Fault && never.resolution.includes("--replace"));
  assertEquals(applyJoin(d, req({ addr: "10.0.0.8:10001" }), NOW).rank, 2);
  // check mode.
  assertEquals(
    applyJoin(d, req({ addr: "10.0.0.10:10001", checkMode: true }), NOW).state,
    "checkerstarted",
  );
});

Deno.test("join: replace rules", () => {
  const d = draft();
  const a = req();
  applyJoin(d, a, NOW);
  rejects(d, { ...a, rank: 1, replace: true }, "unexpected rank in replace-rank request");
  rejects(d, { ...a, replace: true }, `member with uuid ${a.uuid} already exists`);
  const nf = rejects(
    d,
    req({ addr: "10.9.9.9:10001", replace: true }),
    "system member could not be found from join request fields",
  );
  assert(nf instanceof Fault && nf.code === 403);
  d.state.members.get(a.uuid)!.state = "adminexcluded";
  rejects(
    d,
    { ...a, uuid: crypto.randomUUID(), replace: true },
    "has been administratively excluded",
  );
});

Deno.test("join: 0.0.0.0 control address takes the peer's IP", () => {
  const d = draft();
  const r = req({ addr: "0.0.0.0:10001" });
  applyJoin(d, r, NOW, "10.1.1.1");
  assertEquals(d.state.members.get(r.uuid)!.addr, "10.1.1.1:10001");
  // An IPv6 peer is bracketed, so the stored address stays host:port.
  const r6 = req({ addr: "0.0.0.0:10002", uri: "ofi+tcp://10.0.0.2:1" });
  applyJoin(d, r6, NOW, "fe80::1");
  assertEquals(d.state.members.get(r6.uuid)!.addr, "[fe80::1]:10002");
  // A peer address that cannot be stored fails this join only, naming the field.
  throws(
    () => applyJoin(d, req({ addr: "0.0.0.0:10003", uri: "ofi+tcp://10.0.0.3:1" }), NOW, "a b"),
    (e: unknown) =>
      e instanceof Fault && e.description.includes("0.0.0.0 replaced by the caller's address") &&
      e.description.includes("JoinReq field addr"),
  );
  assertEquals(d.state.members.size, 2);
});

Deno.test("join: one draft (a batch) sees its own writes by rank and identity", () => {
  const d = draft();
  // Members known before the batch, then joins within it.
  const a = req({ addr: "10.0.0.2:10001", uri: "ofi+tcp://10.0.0.2:1" });
  assertEquals(applyJoin(d, a, NOW).rank, 1);
  const b = req({ addr: "10.0.0.3:10001", uri: "ofi+tcp://10.0.0.3:1" });
  assertEquals(applyJoin(d, b, NOW).rank, 2);
  // Same engine identity, new uuid, in the same batch: a duplicate.
  const dup = rejects(d, { ...b, uuid: crypto.randomUUID() }, "already exists with UUID");
  assert(dup instanceof Fault && dup.code === 404);
  // Replace within the batch: the new uuid takes rank 1; the old uuid is gone from both views.
  const a2 = { ...a, uuid: crypto.randomUUID(), replace: true };
  assertEquals(applyJoin(d, a2, NOW).rank, 1);
  assertEquals(d.byRank(1)?.uuid, a2.uuid);
  assertEquals(d.withIdentity(a).map((m) => m.uuid), [a2.uuid]);
  // A rejoin by rank with the replaced uuid is refused; with the new one accepted.
  rejects(d, { ...a, rank: 1 }, "uuid changed");
  assertEquals(applyJoin(d, { ...a2, replace: false, rank: 1 }, NOW).rank, 1);
  assertEquals(d.state.members.size, 2);
  assertEquals(d.changes.remove, [a.uuid]);
});

Deno.test("join: the rank overflow sequence is refused before anything is written", () => {
  // The reproduction: explicit 4294967294, then NilRank twice, from new uuids.
  const d = draft();
  applyJoin(d, req({ rank: 0 }), NOW);
  rejects(
    d,
    req({ rank: 4294967294, addr: "10.0.0.2:10001" }),
    "rank 4294967294 was never issued by this system (next rank to issue: 1)",
  );
  assertEquals(d.state.nextRank, 1);
  assertEquals(applyJoin(d, req({ addr: "10.0.0.3:10001" }), NOW).rank, 1);
  assertEquals(applyJoin(d, req({ addr: "10.0.0.4:10001" }), NOW).rank, 2);
  assertEquals(d.changes.put.map((m) => m.rank), [0, 1, 2]);
  // A rank beyond uint32 (possible only for a direct caller) names the field.
  const big = rejects(d, req({ rank: 2 ** 32, addr: "10.0.0.5:10001" }), "(JoinReq field rank)");
  assert(big instanceof Fault);
});

Deno.test("join: NextRank never reaches NilRank; ranks of invalid records are not reissued", () => {
  const d = draft();
  d.state.nextRank = 4294967292;
  assertEquals(applyJoin(d, req({ addr: "10.0.0.2:10001" }), NOW).rank, 4294967292);
  assertEquals(applyJoin(d, req({ addr: "10.0.0.3:10001" }), NOW).rank, 4294967293);
  const full = rejects(d, req({ addr: "10.0.0.4:10001" }), "no rank left to issue");
  assert(full instanceof Fault && full.resolution.includes("dmg system erase"));
  assertEquals(d.state.nextRank, 4294967294);

  const e = draft();
  e.state.invalid.push({
    key: "/daos/x/members/bad",
    uuid: "bad",
    rank: 1,
    addr: "10.0.0.9:10001",
    problem: "fabric URI too long",
  });
  assertEquals(applyJoin(e, req({ addr: "10.0.0.2:10001" }), NOW).rank, 2);
  e.state.nextRank = 5;
  const held = rejects(e, req({ rank: 1, addr: "10.0.0.3:10001" }), "is held by an invalid");
  assert(held instanceof Fault && held.resolution.includes("dmg system exclude --ranks 1"));
});

Deno.test("join: every field a member keeps is validated, with a fault naming it", () => {
  const d = draft();
  const cases: [Partial<JoinInput>, string][] = [
    [{ uuid: "x".repeat(10000) }, "field uuid"],
    [{ uri: `ofi+tcp://10.0.0.1:${"1".repeat(10000)}` }, "field uri"],
    [{ uri: "ofi+tcp://" + "a".repeat(120) + ":1" }, "longer than 127 characters"],
    [{ uri: "ofi+tcp://10.0.0.1" }, "no port"],
    [{ uri: "ofi+tcp://10.0.0.1:0" }, "port out of range"],
    [{ uri: "ofi+tcp://10.0.0.300:1" }, "invalid IPv4 address"],
    [{ uri: "10.0.0.1:1" }, "no provider scheme"],
    [{ uri: "ofi tcp://10.0.0.1:1" }, "invalid provider"],
    [{ addr: "10.0.0.1" }, "field addr"],
    [{ addr: "10.0.0.1:70000" }, "port out of range"],
    [{ addr: "10.0.0.1:" }, "no port"],
    [{ addr: ":10001" }, "no host"],
    [{ addr: "a b:10001" }, "invalid host name"],
    [{ addr: "h".repeat(300) + ":1" }, "longer than 260"],
    [{ srvFaultDomain: "/a/b/c" }, "more than 2 levels"],
    [{ srvFaultDomain: "/a b" }, "field srv_fault_domain"],
    [{ srvFaultDomain: "rack" }, "must start with /"],
    [{ srvFaultDomain: "/a//b" }, "empty level"],
    [{ srvFaultDomain: "/" + "x".repeat(65) }, "longer than 64"],
    [{ srvFaultDomain: "/a=b=c" }, "misplaced '='"],
    [{ secondaryUris: ["ofi+tcp://10.0.0.1"] }, "field secondary_uris"],
    [{ secondaryUris: Array(9).fill("ofi+tcp://10.0.0.1:2") }, "at most 8"],
    [{ secondaryNctxs: Array(9).fill(1) }, "field secondary_nctxs"],
  ];
  for (const [over, text] of cases) {
    const f = rejects(d, req(over), text);
    assert(f instanceof Fault && f.domain === "system" && f.resolution !== "", String(f));
    // A long input is quoted shortened, never echoed whole.
    assert((f as Fault).description.length < 400, (f as Fault).description.slice(0, 100));
  }
  assertEquals(d.changes.put, []);
  // Accepted forms: host names, IPv6, labelled fault domains, the root domain.
  for (
    const ok of [
      { uri: "ofi+tcp;ofi_rxm://node-1.example:31416", addr: "node-1:10001" },
      {
        uri: "ucx+dc_x://[fe80::1]:31416",
        addr: "[::1]:10001",
        srvFaultDomain: "/rack=r1/node=n1",
      },
    ]
  ) {
    const e = new Draft(emptyState());
    applyJoin(e, req(ok), NOW);
    assertEquals(e.changes.put.length, 1);
  }
});

Deno.test("join: replace of a rank UP_IN in a pool is fault 622; once DOWN it is accepted", () => {
  const d = draft();
  applyJoin(d, req({ rank: 0 }), NOW);
  const a = req({ addr: "10.0.0.2:10001", uri: "ofi+tcp://10.0.0.2:1" });
  assertEquals(applyJoin(d, a, NOW).rank, 1);
  const pool: PoolRecord = {
    uuid: "11111111-1111-1111-1111-111111111111",
    label: "tank",
    state: "Ready",
    svcRanks: [0],
    props: {},
    owner: "",
    group: "",
    tierBytes: [1, 0],
    createRanks: [0, 1],
    mapVersion: 1,
    map: [{ rank: 0, targets: [TargetState.UP_IN] }, {
      rank: 1,
      targets: [TargetState.DOWN, TargetState.UP_IN],
    }],
    pendingDestroy: [],
  };
  d.state.attrs.set(POOL_PREFIX + pool.uuid, JSON.stringify(pool));
  const err = rejects(
    d,
    { ...a, uuid: crypto.randomUUID(), replace: true },
    "rank 1 is enabled on pool tank and cannot be replaced until excluded on all pools",
  );
  assert(err instanceof Fault && err.code === 622);
  assertEquals(d.byRank(1)?.uuid, a.uuid);
  pool.map[1].targets = [TargetState.DOWN, TargetState.DOWN];
  d.state.attrs.set(POOL_PREFIX + pool.uuid, JSON.stringify(pool));
  assertEquals(applyJoin(d, { ...a, uuid: crypto.randomUUID(), replace: true }, NOW).rank, 1);
});
