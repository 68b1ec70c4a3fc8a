import { deepEqual as assertEquals, throws } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { RankResultSchema } from "../../proto/gen/ts/shared/ranks_pb.ts";
import type { Member, MemberState } from "./member.ts";
import { formatRanks, parseHosts, parseRanks } from "./ranklist.ts";
import { applyResults, ranksByHost, selectMembers } from "./system_ops.ts";

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

Deno.test("rank and host lists parse and print", () => {
  assertEquals(parseRanks("0-3,7,[9]".replace(",[9]", ",9")), [0, 1, 2, 3, 7, 9]);
  assertEquals(parseRanks("[1-2]"), [1, 2]);
  assertEquals(formatRanks([5, 1, 2, 3, 9]), "1-3,5,9");
  throws(() => parseRanks("3-1"), /bad range "3-1"/);
  throws(() => parseRanks("a"), /bad element "a"/);
  assertEquals(parseHosts("h[01-03]:1,x"), ["h01:1", "h02:1", "h03:1", "x"]);
  throws(() => parseHosts("h[3-1]"), /goes backwards/);
});

Deno.test("selectMembers: filters, absent ranks and hosts", () => {
  const all = [m(0, "10.0.0.1:10001"), m(1, "10.0.0.1:10001"), m(2, "10.0.0.2:10001")];
  assertEquals(selectMembers(all, "", "").members.length, 3);
  const s = selectMembers(all, "1,5-6", "10.0.0.2,10.0.0.9:10001");
  assertEquals(s.members.map((x) => x.rank), [1, 2]);
  assertEquals([s.absentRanks, s.absentHosts], ["5-6", "10.0.0.9:10001"]);
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
