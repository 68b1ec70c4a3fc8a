import assert from "node:assert/strict";
import { allJoined, joinedCount, parseMembers, summarizeStates } from "./members.ts";

const envelope = (members: unknown) =>
  JSON.stringify({ response: { members, providers: null }, error: null, status: 0 });

Deno.test("parseMembers: members, null members, and malformed output", () => {
  const ms = parseMembers(envelope([
    { addr: "127.0.0.1:10001", state: "joined", rank: 0 },
    { addr: "127.0.0.2:10001", state: "stopped", rank: 1 },
  ]));
  assert.deepEqual(ms, [
    { rank: 0, state: "joined", addr: "127.0.0.1:10001" },
    { rank: 1, state: "stopped", addr: "127.0.0.2:10001" },
  ]);
  assert.deepEqual(parseMembers(envelope(null)), []);
  assert.throws(() => parseMembers("ERROR: dmg: boom"), /printed no JSON: ERROR: dmg: boom/);
  assert.throws(() => parseMembers('{"response":null}'), /no response/);
  assert.throws(() => parseMembers(envelope([{ state: "joined" }])), /member 0 lacks rank/);
});

Deno.test("allJoined: needs exactly the expected count, all joined", () => {
  const j = (rank: number, state = "joined") => ({ rank, state, addr: "" });
  assert.equal(allJoined([j(0), j(1)], 2), true);
  assert.equal(allJoined([j(0), j(1, "stopped")], 2), false);
  assert.equal(allJoined([j(0)], 2), false);
  assert.equal(joinedCount([j(0), j(1, "errored"), j(2)]), 2);
  assert.equal(
    summarizeStates([j(0), j(1, "stopped"), j(2), j(3, "awaitformat")]),
    "2 joined, 1 awaitformat, 1 stopped",
  );
});
