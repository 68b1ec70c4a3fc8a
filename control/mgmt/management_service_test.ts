import { deepEqual as assertEquals } from "node:assert/strict";
import { type LocalRank, restoredMembers } from "./management_service.ts";
import type { MemberStateWireName as MemberState } from "../lib/states.ts";
import type { Member } from "./member.ts";

function member(rank: number, addr: string, state: MemberState, incarnation: string): Member {
  return {
    rank,
    uuid: `00000000-0000-0000-0000-00000000000${rank}`,
    addr,
    state,
    fault_domain: "/h",
    incarnation,
    fabric_uri: `ofi+tcp://x:${rank}`,
    secondary_fabric_uris: [],
    fabric_contexts: 1,
    secondary_fabric_contexts: [],
    info: "daos_server at 10.0.0.1 unreachable",
    last_update: "then",
  };
}

Deno.test("restoredMembers: only Unresponsive members of that host whose engine is ready with the same incarnation", () => {
  const big = (2n ** 63n + 5n).toString(); // beyond 2^53: compared exactly
  const members = [
    member(0, "10.0.0.1:1", "unresponsive", big),
    member(1, "10.0.0.1:1", "unresponsive", "7"), // engine restarted: incarnation differs
    member(2, "10.0.0.1:1", "unresponsive", "8"), // engine not ready
    member(3, "10.0.0.1:1", "excluded", "9"), // SWIM's verdict: not ours to undo
    member(4, "10.0.0.1:1", "adminexcluded", "10"),
    member(5, "10.0.0.2:1", "unresponsive", "11"), // another host
    member(6, "10.0.0.1:1", "unresponsive", "12"), // not reported by the host
  ];
  const report: LocalRank[] = [
    { rank: 0, state: "ready", incarnation: 2n ** 63n + 5n },
    { rank: 1, state: "ready", incarnation: 70n },
    { rank: 2, state: "starting", incarnation: 8n },
    { rank: 3, state: "ready", incarnation: 9n },
    { rank: 4, state: "ready", incarnation: 10n },
    { rank: 5, state: "ready", incarnation: 11n },
  ];
  const out = restoredMembers(members, "10.0.0.1:1", report, "now");
  assertEquals(out, [{ ...members[0], state: "joined", info: "", last_update: "now" }]);
  // An engine reporting incarnation 0 (not ready) never matches.
  assertEquals(
    restoredMembers([member(7, "a:1", "unresponsive", "0")], "a:1", [
      { rank: 7, state: "ready", incarnation: 0n },
    ], "now"),
    [],
  );
});
