import { deepEqual as assertEquals, match } from "node:assert/strict";
import {
  decodeRemoteError,
  NotLeaderError,
  notLeaderError,
  NotReplicaError,
} from "./error_codec.ts";

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
