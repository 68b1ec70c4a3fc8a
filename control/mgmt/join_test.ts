import { deepEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { Fault } from "../lib/fault.ts";
import { emptyState } from "./db.ts";
import { applyJoin, ATTR_PROVIDERS, Draft, type JoinInput, NIL_RANK } from "./join.ts";

const NOW = "2026-01-01T00:00:00.000Z";

function req(over: Partial<JoinInput> = {}): JoinInput {
  return {
    uuid: crypto.randomUUID(),
    rank: NIL_RANK,
    uri: "ofi+tcp://10.0.0.1:31416",
    nctxs: 4,
    addr: "10.0.0.1:10001",
    srvFaultDomain: "/host1",
    idx: 0,
    incarnation: 1n,
    secondaryUris: [],
    secondaryNctxs: [],
    checkMode: false,
    replace: false,
    ...over,
  };
}

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
  assertEquals(applyJoin(d, { ...a, rank: NIL_RANK }, NOW).rank, 1);
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
    req({ uri: "ucx+dc://x" }),
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
  // Explicit new rank is used and NextRank moves past it.
  assertEquals(applyJoin(d, req({ rank: 10, addr: "10.0.0.7:10001" }), NOW).rank, 10);
  assertEquals(applyJoin(d, req({ addr: "10.0.0.8:10001" }), NOW).rank, 11);
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
