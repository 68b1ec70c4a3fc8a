import { deepEqual as assertEquals, throws } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { RankResultSchema } from "../../proto/gen/ts/shared/ranks_pb.ts";
import type { MemberStateWireName as MemberState } from "../lib/states.ts";
import type { Member } from "./member.ts";
import {
  applyResults,
  checkStarted,
  ranksByHost,
  selectInvalid,
  selectMembers,
} from "./system_ops.ts";
import { MAX_MEMBER_INFO_LEN } from "../lib/member_fields.ts";

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

Deno.test("selectMembers: a host filter naming more hosts than a system has is refused unexpanded, naming the field", () => {
  const all = [m(0, "10.0.0.1:10001")];
  // 33 characters that name 49155 hosts; a 4 MB request of these would name billions.
  const many = "a[0-16384],b[0-16384],c[0-16384]";
  throws(
    () => selectMembers(all, "", many, 10001, "SystemStopReq"),
    (e: Error) =>
      /host list names 49155 hosts, more than 16384 hosts \(SystemStopReq field hosts\)/.test(
        e.message,
      ) && /code = 400/.test(e.message),
  );
  // As many separated entries as the bound: refused before any is parsed.
  throws(
    () => selectMembers(all, "", "h1,".repeat(20000), 10001, "SystemQueryReq"),
    /more than 16384 hosts \(SystemQueryReq field hosts\)/,
  );
  // The bound itself is allowed.
  assertEquals(selectMembers(all, "", "a[1-16384]").absentHosts, "a[1-16384]");
});

Deno.test("selectMembers: a rank filter of more elements than the bound is refused, naming the field", () => {
  const all = [m(0, "10.0.0.1:10001")];
  const descending = Array.from({ length: 20000 }, (_, i) => String(40000 - 2 * i)).join(",");
  throws(
    () => selectMembers(all, descending, "", 10001, "SystemExcludeReq"),
    /rank list has more than 16384 elements \(SystemExcludeReq field ranks\)/,
  );
  // Just below the bound: parsed (sorted once, not inserted one by one) and kept ranged.
  const ok = Array.from({ length: 16000 }, (_, i) => String(32000 - 2 * i)).join(",");
  const s = selectMembers(all, ok, "");
  assertEquals(s.absentRanks.split(",").length, 16000);
  assertEquals(s.absentRanks.slice(0, 8), "2,4,6,8,");
});

Deno.test("selectMembers: host filters match members by host and port, many hosts against many members", () => {
  const all = Array.from({ length: 2000 }, (_, i) => m(i, `node${i}:10001`));
  all.push(m(2000, "localhost:10002"));
  const s = selectMembers(all, "", "node[0-2047],127.0.0.1:10002,node1:9");
  assertEquals(s.members.length, 2001);
  assertEquals(s.absentHosts, "node[2000-2047],node1:9");
});

Deno.test("applyResults: a host's result message is stored cut to the info bound, without control characters", () => {
  const ms = new Map([m(0, "a"), m(1, "a")].map((x) => [x.uuid, x]));
  const res = [
    create(RankResultSchema, { rank: 0, state: "stopped", msg: "y".repeat(3_000_000) }),
    create(RankResultSchema, { rank: 1, state: "stopped", msg: "bad\x1b[2J\nrank\0" }),
  ];
  const up = applyResults(ms, res, "t");
  assertEquals(up[0].info.length, MAX_MEMBER_INFO_LEN);
  assertEquals(up[0].info.endsWith(" ... (3000000 characters)"), true);
  assertEquals(up[1].info, "bad [2J rank ");
});

Deno.test("selectMembers: a host filter with a control character or an entry no host name can have is refused, not echoed", () => {
  const all = [m(0, "10.0.0.1:10001")];
  throws(
    () => selectMembers(all, "", "h\0", 10001, "SystemStartReq"),
    /control character "\\u0000" at offset 1 \(SystemStartReq field hosts\)/,
  );
  throws(() => selectMembers(all, "", "h[1-2]\x1b[2J"), /control character "\\u001b"/);
  throws(
    () => selectMembers(all, "", `h1,${"a".repeat(100_000)}`),
    (e: Error) => /an entry of 100000 characters/.test(e.message) && e.message.length < 400,
  );
  // Tabs separate hosts like commas and spaces.
  assertEquals(selectMembers(all, "", "h1\th2").absentHosts, "h[1-2]");
});
