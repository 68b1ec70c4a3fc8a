import { deepEqual as assertEquals, match } from "node:assert/strict";
import {
  decodeRemoteError,
  isMsNotReady,
  isMsRetryable,
  MS_DB_UNAVAILABLE,
  MsUnavailableError,
  type MsUnavailableKind,
  NotLeaderError,
  notLeaderError,
  NotReplicaError,
  PoolNotFoundError,
  toWireError,
} from "./error_codec.ts";
import { DaosStatusError, makeFault } from "../fault.ts";

Deno.test("not-leader text: the reference form when hint and replicas are known", () => {
  assertEquals(
    new NotLeaderError("a:1", ["b:1", "c:1"]).message,
    "not the DAOS Management Service leader (try a:1 or one of b:1,c:1)",
  );
});

Deno.test("not-leader text never carries an empty hint or replica list", () => {
  const cases: [string, string[]][] = [["", []], ["a:1", []], ["", ["b:1"]], ["", [""]]];
  for (const [hint, reps] of cases) {
    const msg = new NotLeaderError(hint, reps).message;
    // the "(try  or one of )": a double space or an empty list before ")"
    assertEquals(/try {2}|one of \)|try \)/.test(msg), false, msg);
  }
  assertEquals(
    new NotLeaderError("a:1", []).message,
    "not the DAOS Management Service leader (try a:1)",
  );
  match(new NotLeaderError("", ["b:1"]).message, /no leader known; try one of b:1\)/);
  match(new NotLeaderError("", []).message, /no leader known/);
});

Deno.test("not-leader on the wire: the clear text and the empty hints decode back", () => {
  const e = decodeRemoteError(notLeaderError("", []));
  if (!(e instanceof NotLeaderError)) throw new Error(`decoded ${e}`);
  assertEquals([e.leaderHint, e.replicas], ["", []]);
  match(e.message, /no leader known/);
});

Deno.test("not-replica text never ends in an empty replica list", () => {
  assertEquals(
    new NotReplicaError(["a:1", "b:1"]).message,
    "not a DAOS Management Service replica (try one of a:1,b:1)",
  );
  match(new NotReplicaError([]).message, /\(no replica known: check mgmt_svc_replicas\)$/);
  match(new NotReplicaError([""]).message, /no replica known/);
});

Deno.test("MS-unavailable errors keep their kind and text across the wire", () => {
  const cases: [MsUnavailableKind, string][] = [
    ["uninitialized", "system is uninitialized (storage format required?)"],
    ["unavailable", "raft service unavailable (not started yet?)"],
    ["step-up", "leader step-up in progress"],
  ];
  for (const [kind, text] of cases) {
    const e = decodeRemoteError(toWireError(new MsUnavailableError(kind)));
    if (!(e instanceof MsUnavailableError)) throw new Error(`${kind} decoded as ${e}`);
    assertEquals([e.kind, e.message], [kind, text]);
    assertEquals([isMsRetryable(e), isMsNotReady(e)], [true, true]);
  }
});

Deno.test("isMsRetryable: routing and not-ready answers yes, faults and plain errors no", () => {
  const dbDown = makeFault("SystemUnknown", "the MS database is unavailable").withReason(
    MS_DB_UNAVAILABLE,
  );
  const wireDbDown = decodeRemoteError(toWireError(dbDown));
  const cases: [unknown, boolean][] = [
    [new NotLeaderError("", []), true],
    [new NotReplicaError(["a:1"]), true],
    [dbDown, true],
    [wireDbDown, true],
    [makeFault("SystemUnknown", "the MS database is unavailable"), false],
    [new Error("system is uninitialized"), false],
    [undefined, false],
  ];
  for (const [err, want] of cases) assertEquals(isMsRetryable(err), want, String(err));
  assertEquals(isMsNotReady(dbDown), false);
});

Deno.test("DAOS status errors keep their code and detail across the wire", () => {
  for (const detail of ["", "pool create tank: NVMe tier: 4.3 GB per rank asked"]) {
    const e = decodeRemoteError(toWireError(new DaosStatusError(-1007, undefined, detail)));
    if (!(e instanceof DaosStatusError)) throw new Error(`decoded as ${e}`);
    assertEquals([e.status, e.detail], [-1007, detail]);
    assertEquals(
      e.message,
      "DER_NOSPACE(-1007): No space on storage target" + (detail === "" ? "" : `: ${detail}`),
    );
  }
});

Deno.test("pool not found: the reference's reason and PoolInfo, decoded back", () => {
  const w = toWireError(new PoolNotFoundError("tank", true));
  assertEquals(w.rawMessage, 'unable to find pool service with label "tank"');
  const e = decodeRemoteError(w);
  if (!(e instanceof PoolNotFoundError)) throw new Error(`decoded as ${e}`);
  assertEquals([e.id, e.isLabel], ["tank", true]);
  const u = decodeRemoteError(toWireError(new PoolNotFoundError("0000-1", false)));
  if (!(u instanceof PoolNotFoundError)) throw new Error(`decoded as ${u}`);
  assertEquals([u.id, u.isLabel, u.message], [
    "0000-1",
    false,
    "unable to find pool service 0000-1",
  ]);
});
