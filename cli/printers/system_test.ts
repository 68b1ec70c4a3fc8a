import { deepEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import {
  create,
  fromBinary,
  fromJsonString,
  type MessageInitShape,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import { LeaderQueryRespSchema } from "../../proto/gen/ts/mgmt/svc_pb.ts";
import {
  SystemEraseRespSchema,
  SystemExcludeRespSchema,
  type SystemMember,
  SystemMemberSchema,
  SystemQueryRespSchema,
  SystemStartRespSchema,
  SystemStopRespSchema,
} from "../../proto/gen/ts/mgmt/system_pb.ts";
import { type RankResult, RankResultSchema } from "../../proto/gen/ts/shared/ranks_pb.ts";
import { formatEnvelope } from "../output/envelope.ts";
import {
  excludeError,
  leaderQueryJson,
  printExclude,
  printLeaderQuery,
  printRankResults,
  printSystemQuery,
  rankResultsError,
  rankResultsJson,
  selfHealLine,
  systemQueryError,
  systemQueryJson,
} from "./system.ts";

const ALL_HEAL = "exclude;pool_exclude;pool_rebuild";

function member(
  rank: number,
  state: string,
  extra: MessageInitShape<typeof SystemMemberSchema> = {},
): SystemMember {
  return create(SystemMemberSchema, { ...extra, rank, state });
}

function mixedMembers(): SystemMember[] {
  return [
    member(0, "joined"),
    member(1, "joined"),
    member(2, "stopped"),
    member(3, "excluded"),
    member(4, "stopped"),
    member(5, "joined"),
    member(6, "joined"),
  ];
}

function result(rank: number, action: string, msg = "", errored = false, state = ""): RankResult {
  return create(RankResultSchema, { rank, action, msg, errored, state });
}

Deno.test("system query default, mixed states", () => {
  const resp = create(SystemQueryRespSchema, {
    members: mixedMembers(),
    sysSelfHealPolicy: ALL_HEAL,
  });
  assertEquals(printSystemQuery(resp, { verbose: false }), {
    out: "Rank      State    \n" +
      "----      -----    \n" +
      "[0-1,5-6] Joined   \n" +
      "[2,4]     Stopped  \n" +
      "3         Excluded \n" +
      "\n",
    err: "",
  });
  assertEquals(systemQueryError(resp), undefined);
});

Deno.test("system query default with absent ranks and hosts", () => {
  const resp = create(SystemQueryRespSchema, {
    members: mixedMembers(),
    absentranks: "7-9",
    absenthosts: "foo[7-9]",
    sysSelfHealPolicy: ALL_HEAL,
  });
  assertEquals(printSystemQuery(resp, { verbose: false }), {
    out: "Rank      State        \n" +
      "----      -----        \n" +
      "[0-1,5-6] Joined       \n" +
      "[7-9]     Unknown Rank \n" +
      "[2,4]     Stopped      \n" +
      "3         Excluded     \n" +
      "\n",
    err: "Unknown 3 hosts: foo[7-9]\n",
  });
  assertEquals(systemQueryError(resp), "non-existent hosts foo[7-9], non-existent ranks 7-9");
});

Deno.test("system query verbose, single member", () => {
  const resp = create(SystemQueryRespSchema, {
    members: [
      member(0, "joined", {
        uuid: "00000000-0000-0000-0000-000000000000",
        addr: "127.0.0.0:10001",
      }),
    ],
    sysSelfHealPolicy: ALL_HEAL,
  });
  assertEquals(
    printSystemQuery(resp, { verbose: true }).out,
    "Rank UUID                                 Control Address Fault Domain State  Reason \n" +
      "---- ----                                 --------------- ------------ -----  ------ \n" +
      "0    00000000-0000-0000-0000-000000000000 127.0.0.0:10001 /            Joined        \n" +
      "\n",
  );
});

Deno.test("system query: nothing matched, unknown hosts and ranks", () => {
  const resp = create(SystemQueryRespSchema, {
    absentranks: "7-9",
    absenthosts: "foo[7-9]",
    sysSelfHealPolicy: ALL_HEAL,
  });
  assertEquals(printSystemQuery(resp, { verbose: false }), {
    out: "Query matches no ranks in system\n",
    err: "Unknown 3 hosts: foo[7-9]\nUnknown 3 ranks: 7-9\n",
  });
});

Deno.test("system query: self_heal partly disabled", () => {
  const resp = create(SystemQueryRespSchema, {
    members: mixedMembers(),
    sysSelfHealPolicy: "pool_rebuild",
  });
  assertEquals(
    printSystemQuery(resp, { verbose: false }).out,
    "Rank      State    \n" +
      "----      -----    \n" +
      "[0-1,5-6] Joined   \n" +
      "[2,4]     Stopped  \n" +
      "3         Excluded \n" +
      "\n" +
      "System property self_heal flags disabled: exclude, pool_exclude\n",
  );
  assertEquals(
    selfHealLine("exclude;pool_rebuild"),
    "System property self_heal flag disabled: pool_exclude\n",
  );
  assertEquals(
    selfHealLine(""),
    "System property self_heal flags disabled: exclude, pool_exclude, pool_rebuild\n",
  );
  assertEquals(selfHealLine("none"), selfHealLine(""));
  assertEquals(selfHealLine(ALL_HEAL), "");
});

Deno.test("system query: duplicate member rank is an error", () => {
  const resp = create(SystemQueryRespSchema, {
    members: [member(4, "joined"), member(4, "stopped")],
  });
  assertThrows(() => printSystemQuery(resp, { verbose: false }), {
    message: "member with rank 4 already exists",
  });
});

Deno.test("system query JSON matches the spec's document", () => {
  const resp = create(SystemQueryRespSchema, {
    members: [
      member(0, "joined", {
        addr: "10.8.1.11:10001",
        faultDomain: "/wolf-11",
        incarnation: 10n,
        uuid: "e7f2cb06-a111-4d55-a6a5-b494b70d62ab",
        fabricUri: "ofi+tcp://192.168.100.11:31416",
        fabricContexts: 17,
        lastUpdate: "2024-05-01T10:20:30.123456789Z",
      }),
    ],
    providers: ["ofi+tcp"],
    sysSelfHealPolicy: ALL_HEAL,
  });
  assertEquals(
    formatEnvelope(systemQueryJson(resp)),
    `{
  "response": {
    "members": [
      {
        "addr": "10.8.1.11:10001",
        "state": "joined",
        "fault_domain": "/wolf-11",
        "rank": 0,
        "incarnation": 10,
        "uuid": "e7f2cb06-a111-4d55-a6a5-b494b70d62ab",
        "fabric_uri": "ofi+tcp://192.168.100.11:31416",
        "secondary_fabric_uris": null,
        "fabric_contexts": 17,
        "secondary_fabric_contexts": null,
        "info": "",
        "last_update": "2024-05-01T10:20:30.123456789Z"
      }
    ],
    "providers": [
      "ofi+tcp"
    ],
    "sys_self_heal_policy": "exclude;pool_exclude;pool_rebuild"
  },
  "error": null,
  "status": 0
}
`,
  );
  const empty = create(SystemQueryRespSchema, { absentranks: "7-9", sysSelfHealPolicy: ALL_HEAL });
  assertEquals(
    formatEnvelope(systemQueryJson(empty), new Error(systemQueryError(empty))),
    `{
  "response": {
    "members": null,
    "providers": null,
    "sys_self_heal_policy": "exclude;pool_exclude;pool_rebuild"
  },
  "error": "non-existent ranks 7-9",
  "status": -1025
}
`,
  );
});

Deno.test("system stop: all OK", () => {
  const resp = create(SystemStopRespSchema, {
    results: [0, 1, 2, 3].map((r) => result(r, "stop", "system stop")),
  });
  assertEquals(printRankResults(resp), {
    out: "Rank  Operation Result \n" +
      "----  --------- ------ \n" +
      "[0-3] stop      OK     \n" +
      "\n",
    err: "",
  });
  assertEquals(rankResultsError(resp), undefined);
});

Deno.test("system stop: failures grouped by message, TABs become spaces", () => {
  const resp = create(SystemStopRespSchema, {
    results: [
      result(0, "stop", "failed", true),
      result(1, "stop"),
      result(2, "stop", "fail,\t\t/", true),
      result(3, "stop"),
    ],
  });
  assertEquals(
    printRankResults(resp).out,
    "Rank  Operation Result   \n" +
      "----  --------- ------   \n" +
      "[1,3] stop      OK       \n" +
      "2     stop      fail,  / \n" +
      "0     stop      failed   \n" +
      "\n",
  );
  assertEquals(rankResultsError(resp), "check results for failed ranks 0,2");
});

Deno.test("system stop: unknown ranks row and unknown hosts line", () => {
  const resp = create(SystemStopRespSchema, {
    results: [0, 1, 2, 3].map((r) => result(r, "stop")),
    absentranks: "7-9",
    absenthosts: "foo[7-9]",
  });
  assertEquals(printRankResults(resp), {
    out: "Rank  Operation Result       \n" +
      "----  --------- ------       \n" +
      "[0-3] stop      OK           \n" +
      "[7-9] ----      Unknown Rank \n" +
      "\n",
    err: "Unknown 3 hosts: foo[7-9]\n",
  });
  assertEquals(rankResultsError(resp), "non-existent hosts foo[7-9], non-existent ranks 7-9");
});

Deno.test("system stop: single ranks and singular failed rank", () => {
  const resp = create(SystemStopRespSchema, {
    results: [result(3, "stop"), result(4, "stop", "failure 2", true)],
  });
  assertEquals(
    printRankResults(resp).out,
    "Rank Operation Result    \n" +
      "---- --------- ------    \n" +
      "3    stop      OK        \n" +
      "4    stop      failure 2 \n" +
      "\n",
  );
  assertEquals(rankResultsError(resp), "check results for failed rank 4");
});

Deno.test("system stop: no results, empty action rejected", () => {
  const none = create(SystemStopRespSchema, { absentranks: "7-9", absenthosts: "foo[7-9]" });
  assertEquals(printRankResults(none), {
    out: "No results returned\n",
    err: "Unknown 3 hosts: foo[7-9]\nUnknown 3 ranks: 7-9\n",
  });
  const bad = create(SystemStopRespSchema, { results: [result(5, "")] });
  assertThrows(() => printRankResults(bad), { message: "action field empty for rank 5 result" });
});

Deno.test("system start: failed message with tabs", () => {
  const resp = create(SystemStartRespSchema, {
    results: [
      result(0, "start", "failed\t\tnow", true),
      result(1, "start"),
      result(2, "start", "fail", true),
      result(3, "start"),
    ],
  });
  assertEquals(
    printRankResults(resp).out,
    "Rank  Operation Result      \n" +
      "----  --------- ------      \n" +
      "[1,3] start     OK          \n" +
      "2     start     fail        \n" +
      "0     start     failed  now \n" +
      "\n",
  );
});

Deno.test("stop JSON matches the spec's document", () => {
  const resp = create(SystemStopRespSchema, {
    results: [
      create(RankResultSchema, {
        state: "stopped",
        addr: "10.8.1.11:10001",
        rank: 0,
        action: "stop",
        msg: "system stop",
      }),
      create(RankResultSchema, {
        state: "errored",
        addr: "10.8.1.12:10001",
        rank: 2,
        action: "stop",
        errored: true,
        msg: "system stop: rank failed to stop",
      }),
    ],
  });
  assertEquals(
    formatEnvelope(rankResultsJson(resp), new Error(rankResultsError(resp))),
    `{
  "response": {
    "Results": [
      {
        "state": "stopped",
        "Addr": "10.8.1.11:10001",
        "Rank": 0,
        "Action": "stop",
        "Errored": false,
        "Msg": "system stop"
      },
      {
        "state": "errored",
        "Addr": "10.8.1.12:10001",
        "Rank": 2,
        "Action": "stop",
        "Errored": true,
        "Msg": "system stop: rank failed to stop"
      }
    ]
  },
  "error": "check results for failed rank 2",
  "status": -1025
}
`,
  );
});

Deno.test("exclude: updated ranks, errors line and error text", () => {
  const ok = create(SystemExcludeRespSchema, {
    results: [0, 1, 4].map((r) =>
      result(r, "set admin-excluded state", "", false, "adminexcluded")
    ),
  });
  assertEquals(printExclude(ok), { out: "updated ranks: 0-1,4\n", err: "" });
  assertEquals(excludeError(ok), undefined);
  const bad = create(SystemExcludeRespSchema, {
    results: [result(0, "x"), result(1, "x", "boom", true), result(3, "x", "boom", true)],
  });
  assertEquals(printExclude(bad), {
    out: "updated ranks: 0-1,3\n",
    err: "Errors: failed ranks 1,3\n",
  });
  assertEquals(excludeError(bad), "failed ranks 1,3");
  assertEquals(
    JSON.parse(formatEnvelope(rankResultsJson(ok))).response.Results[0],
    {
      state: "adminexcluded",
      Addr: "",
      Rank: 0,
      Action: "set admin-excluded state",
      Errored: false,
      Msg: "",
    },
  );
});

Deno.test("erase: failed rank(s) error", () => {
  const resp = create(SystemEraseRespSchema, {
    results: [
      result(1, "reset format", "want AwaitFormat, got Joined", true),
      result(2, "reset format"),
    ],
  });
  assertEquals(excludeError(resp), "failed rank 1");
  assertEquals(excludeError(create(SystemEraseRespSchema, {})), undefined);
});

Deno.test("leader query text and JSON", () => {
  const resp = create(LeaderQueryRespSchema, {
    currentLeader: "10.0.0.1:10001",
    replicas: ["10.0.0.1:10001", "10.0.0.2:10001", "10.0.0.3:10001"],
  });
  assertEquals(
    printLeaderQuery(resp, { downOnly: false }).out,
    "Current Leader: 10.0.0.1:10001\n" +
      "   Replica Set: 10.0.0.1:10001, 10.0.0.2:10001, 10.0.0.3:10001\n" +
      "  Unresponsive Replicas: \n",
  );
  const down = create(LeaderQueryRespSchema, { ...resp, DownReplicas: ["10.0.0.3:10001"] });
  assertEquals(
    printLeaderQuery(down, { downOnly: true }).out,
    "Unresponsive Replicas: 10.0.0.3:10001\n",
  );
  const two = create(LeaderQueryRespSchema, {
    currentLeader: "10.8.1.11:10001",
    replicas: ["10.8.1.11:10001", "10.8.1.12:10001"],
  });
  assertEquals(
    formatEnvelope(leaderQueryJson(two)),
    `{
  "response": {
    "current_leader": "10.8.1.11:10001",
    "replicas": [
      "10.8.1.11:10001",
      "10.8.1.12:10001"
    ],
    "down_replicas": null
  },
  "error": null,
  "status": 0
}
`,
  );
});

Deno.test("system query JSON: incarnations above 2^53 exact through the wire and the encoder", () => {
  // Nanoseconds since the epoch (~1.8e18) and the u64 maximum: a JS number would round both.
  const incs = [1795626950531852977n, 18446744073709551615n];
  const sent = create(SystemQueryRespSchema, {
    members: incs.map((incarnation, r) => member(r, "joined", { incarnation })),
  });
  // As dmg receives it: binary protobuf (TransportPool) and Connect's JSON codec.
  const viaBinary = fromBinary(SystemQueryRespSchema, toBinary(SystemQueryRespSchema, sent));
  const viaJson = fromJsonString(SystemQueryRespSchema, toJsonString(SystemQueryRespSchema, sent));
  for (const resp of [viaBinary, viaJson]) {
    const text = formatEnvelope(systemQueryJson(resp));
    const got = [...text.matchAll(/"incarnation": (\d+),/g)].map((m) => m[1]);
    assertEquals(got, incs.map(String));
  }
});
