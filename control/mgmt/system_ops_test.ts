import { deepEqual as assertEquals, throws } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { RankResultSchema } from "../../proto/gen/ts/shared/ranks_pb.ts";
import type { Member, MemberState } from "./member.ts";
import { applyResults, checkStarted, ranksByHost, selectMembers } from "./system_ops.ts";

function m(rank: number, addr: string, state: MemberState = "joined"): Member {
  return {
    rank,
    uuid: `u${rank}`,
    addr,
    state,
    fault_domain: "/h",
    incarnation: "1",
    fabric_uri: "ofi+tcp://x",
    secondary_fabric_uris: [],
    fabric_contexts: 1,
    secondary_fabric_contexts: [],
    info: "",
    last_update: "",
  };
}

Deno.test("selectMembers: bad filters fail with the shared parsers' messages", () => {
  const all = [m(0, "10.0.0.1:10001")];
  throws(() => selectMembers(all, "3-1", ""), /creating numeric set from "\[3-1\]": invalid range/);
  throws(() => selectMembers(all, "", "h[3-1]"), /invalid range "3-1"/);
  // A huge requested range is not expanded: absent ranks stay ranged.
  assertEquals(selectMembers(all, "0-16000", "").absentRanks, "1-16000");
});

Deno.test("selectMembers: filters, absent ranks and hosts", () => {
  const all = [m(0, "10.0.0.1:10001"), m(1, "10.0.0.1:10001"), m(2, "10.0.0.2:10001")];
  assertEquals(selectMembers(all, "", "").members.length, 3);
  const s = selectMembers(all, "1,5-6", "10.0.0.2,10.0.0.9:10001");
  assertEquals(s.members.map((x) => x.rank), [1, 2]);
  assertEquals([s.absentRanks, s.absentHosts], ["5-6", "10.0.0.9:10001"]);
  const h = selectMembers(all, "", "10.0.0.[7-9]:10001,10.0.0.1");
  assertEquals([h.members.map((x) => x.rank), h.absentHosts], [[0, 1], "10.0.0.[7-9]:10001"]);
  assertEquals([...ranksByHost(all)], [["10.0.0.1:10001", [0, 1]], ["10.0.0.2:10001", [2]]]);
});

Deno.test("applyResults: legal transitions only, errored results forced to errored", () => {
  const ms = new Map(
    [m(0, "a", "joined"), m(1, "a", "adminexcluded"), m(2, "a", "errored"), m(3, "a", "stopped")]
      .map((x) => [x.uuid, x]),
  );
  const res = [
    create(RankResultSchema, { rank: 0, state: "stopped", msg: "system stop" }),
    create(RankResultSchema, { rank: 1, state: "stopped" }),
    create(RankResultSchema, { rank: 2, state: "joined" }),
    create(RankResultSchema, { rank: 3, state: "ready", errored: true, msg: "boom" }),
  ];
  const up = applyResults(ms, res, "t");
  assertEquals(up.map((x) => [x.rank, x.state, x.info]), [[0, "stopped", "system stop"], [
    3,
    "errored",
    "boom",
  ]]);
});

Deno.test("checkStarted: a started rank that the system does not have Joined is an error, not OK", () => {
  const ms = [m(0, "a", "joined"), m(1, "a", "excluded"), m(2, "a", "adminexcluded")];
  ms[1].info = "swim: rank dead";
  const ok = (rank: number) =>
    create(RankResultSchema, { rank, state: "ready", msg: "system start", action: "start" });
  const failed = create(RankResultSchema, { rank: 3, state: "errored", errored: true, msg: "x" });
  const out = checkStarted(ms, [ok(0), ok(1), ok(2), failed]);
  assertEquals(out.map((r) => [r.rank, r.state, r.errored, r.msg, r.action]), [
    [0, "ready", false, "system start", "start"],
    [
      1,
      "excluded",
      true,
      "system start: rank 1 is Excluded in the system, not joined (swim: rank dead)",
      "start",
    ],
    [
      2,
      "adminexcluded",
      true,
      "system start: rank 2 is AdminExcluded in the system, not joined",
      "start",
    ],
    [3, "errored", true, "x", ""],
  ]);
});
