import { deepEqual as assertEquals, throws } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { RankResultSchema } from "../../proto/gen/ts/shared/ranks_pb.ts";
import type { Member, MemberState } from "./member.ts";
import { applyResults, ranksByHost, selectInvalid, selectMembers } from "./system_ops.ts";

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

Deno.test("host filters: localhost = 127.0.0.1, the default port, other ports, invalid records", () => {
  const all = [m(0, "127.0.0.1:10001"), m(1, "127.0.0.1:10002"), m(2, "10.0.0.2:10001")];
  const sel = (hosts: string) => selectMembers(all, "", hosts);
  assertEquals(sel("localhost").members.map((x) => x.rank), [0]);
  assertEquals(sel("localhost:10002,10.0.0.2").members.map((x) => x.rank), [1, 2]);
  assertEquals(sel("10.0.0.2:10002").absentHosts, "10.0.0.2:10002");
  const rec = (uuid: string, addr: string) => ({ key: uuid, uuid, rank: null, addr, problem: "" });
  const inv = selectInvalid(
    [rec("a", "127.0.0.1:10001"), rec("b", ""), rec("c", "10.0.0.9:7")],
    "",
    "localhost,127.0.0.1,10.0.0.9:7,10.0.0.9",
  );
  assertEquals(inv.records.map((r) => r.uuid), ["a", "c"]);
  assertEquals([...inv.hosts].sort(), ["10.0.0.9:7", "127.0.0.1", "localhost"]);
});
