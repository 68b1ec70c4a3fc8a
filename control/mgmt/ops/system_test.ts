/**
 * Table-driven tests of SystemStop, SystemStart, SystemExclude and SystemQuery against the
 * in-memory store and a scripted fan-out: initial members → request → results and the stored
 * members afterwards. Expected values follow today's rules (system_ops.ts, dmg.md §9.2).
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { MsUnavailableError } from "../../lib/rpc/error_codec.ts";
import { MemberState } from "../../lib/states.ts";
import type { InvalidRecord } from "../db.ts";
import type { Member } from "../member.ts";
import {
  type FakeFanout,
  host,
  member,
  NOW,
  type OpsFixture,
  opsFixture,
  results,
  summary,
} from "../testing/fixture.ts";
import { type OpResults, query, systemExclude, systemStart, systemStop } from "./system.ts";

/** r0, r1 on host 1 joined; r2 joined and r3 admin-excluded on host 2; r4 stopped on host 3. */
function members(): Member[] {
  return [
    member(0, 1, "joined"),
    member(1, 1, "joined"),
    member(2, 2, "joined"),
    member(3, 2, "adminexcluded"),
    member(4, 3, "stopped"),
  ];
}

/** An invalid record with rank 7 on host 4 (set aside on read: bad JSON). */
const BAD: InvalidRecord = {
  key: "/daos/daos_server/members/bad",
  uuid: "bad",
  rank: 7,
  addr: host(4),
  problem: "not JSON",
};

interface Case<R> {
  name: string;
  req: R;
  /** Fan-out script (failures, other replies) and store setup. */
  setup?: (fx: OpsFixture) => void;
  /** Results as `results()` lines, or the error the request fails with. */
  want: string[] | RegExp;
  /** Stored members afterwards as `summary()` lines (default: unchanged). */
  stored?: string[];
  /** The fan-out calls as `method host ranks [force]`. */
  calls?: string[];
  absent?: [string, string];
}

const UNCHANGED = summary(opsFixture(members()).store);

function calls(f: FakeFanout): string[] {
  return f.calls.map((c) => `${c.method} ${c.addr} ${c.ranks.join(",")}${c.force ? " force" : ""}`);
}

async function run<R>(
  c: Case<R>,
  op: (fx: OpsFixture, req: R) => Promise<{ results: string[]; absent?: [string, string] }>,
  init: Member[] = members(),
): Promise<void> {
  const fx = opsFixture(init, { invalid: [{ ...BAD }] });
  c.setup?.(fx);
  if (c.want instanceof RegExp) {
    await rejects(op(fx, c.req), c.want, c.name);
  } else {
    const got = await op(fx, c.req);
    deepEqual(got.results, c.want, c.name);
    if (c.absent) deepEqual(got.absent, c.absent, c.name);
  }
  deepEqual(summary(fx.store), c.stored ?? UNCHANGED, c.name);
  if (c.calls) deepEqual(calls(fx.fanout), c.calls, c.name);
}

type StopReq = Parameters<typeof systemStop>[1];
const stop = (over: Partial<StopReq>): StopReq => ({
  ranks: "",
  hosts: "",
  force: false,
  ignoreAdminExcluded: false,
  ...over,
});

const STOP_CASES: Case<StopReq>[] = [
  {
    name: "stop all: prep shutdown, then stop; admin-excluded ranks left out",
    req: stop({}),
    setup: (fx) => fx.fanout.reply("PrepShutdownRanks", 4, { state: "stopped" }),
    want: [
      "0 stop stopped system stop",
      "1 stop stopped system stop",
      "2 stop stopped system stop",
      "4 stop stopped system stop",
    ],
    stored: [
      "0 stopped system stop",
      "1 stopped system stop",
      "2 stopped system stop",
      "3 adminexcluded (unchanged)",
      "4 stopped (unchanged)", // Stopped → Stopped is no transition
    ],
    calls: [
      `PrepShutdownRanks ${host(1)} 0,1`,
      `PrepShutdownRanks ${host(2)} 2`,
      `PrepShutdownRanks ${host(3)} 4`,
      `StopRanks ${host(1)} 0,1`,
      `StopRanks ${host(2)} 2`,
      `StopRanks ${host(3)} 4`,
    ],
  },
  {
    name: "forced stop skips prep shutdown",
    req: stop({ ranks: "0", force: true }),
    want: ["0 stop stopped system stop"],
    stored: ["0 stopped system stop", ...UNCHANGED.slice(1)],
    calls: [`StopRanks ${host(1)} 0 force`],
  },
  {
    name: "a failed prep shutdown ends the operation with the prep results",
    req: stop({ ranks: "0-1" }),
    setup: (fx) => fx.fanout.fail("PrepShutdownRanks", 1, "rank 1: busy"),
    want: ["0 prep shutdown stopping", "1 prep shutdown errored ERR rank 1: busy"],
    stored: ["0 stopping", "1 errored rank 1: busy", ...UNCHANGED.slice(2)],
    calls: [`PrepShutdownRanks ${host(1)} 0,1`],
  },
  {
    name: "an unreachable host gives Unresponsive results",
    req: stop({ ranks: "2" }),
    setup: (fx) => fx.fanout.down.add(host(2)),
    want: [`2 prep shutdown unresponsive ERR ${host(2)}: connection refused`],
    stored: [
      ...UNCHANGED.slice(0, 2),
      `2 unresponsive ${host(2)}: connection refused`,
      ...UNCHANGED.slice(3),
    ],
  },
  {
    name: "a rank the host left out of its answer is Unresponsive",
    req: stop({ ranks: "0-1", force: true }),
    setup: (fx) => fx.fanout.reply("StopRanks", 1, "omit"),
    want: [
      "0 stop stopped system stop",
      `1 stop unresponsive ERR no result for rank 1 from ${host(1)}`,
    ],
    stored: [
      "0 stopped system stop",
      `1 unresponsive no result for rank 1 from ${host(1)}`,
      ...UNCHANGED.slice(2),
    ],
  },
  {
    name: "naming an admin-excluded rank is refused, nothing called",
    req: stop({ ranks: "2-3" }),
    want: /rank \[3\] is administratively excluded/,
    calls: [],
  },
  {
    name: "naming several admin-excluded ranks by host is refused",
    req: stop({ hosts: "10.0.0.2" }),
    setup: (fx) => fx.store.concurrentWrite({ put: [member(2, 2, "adminexcluded")] }),
    want: /ranks \[2-3\] are administratively excluded/,
    stored: [...UNCHANGED.slice(0, 2), "2 adminexcluded (unchanged)", ...UNCHANGED.slice(3)],
    calls: [],
  },
  {
    name: "ignoring admin-excluded ranks acts on the others",
    req: stop({ ranks: "2-3", force: true, ignoreAdminExcluded: true }),
    want: ["2 stop stopped system stop"],
    stored: [...UNCHANGED.slice(0, 2), "2 stopped system stop", ...UNCHANGED.slice(3)],
    calls: [`StopRanks ${host(2)} 2 force`],
  },
  {
    name: "only admin-excluded ranks selected: nothing to do",
    req: stop({ ranks: "3", ignoreAdminExcluded: true }),
    want: [],
    calls: [],
  },
  {
    name: "ranks and hosts the system does not have are reported absent",
    req: stop({ ranks: "0,7-8", hosts: "10.0.0.5", force: true }),
    want: ["0 stop stopped system stop"],
    absent: ["7-8", "10.0.0.5"],
    stored: ["0 stopped system stop", ...UNCHANGED.slice(1)],
  },
  {
    name: "a bad rank filter is refused naming the request field",
    req: stop({ ranks: "3-1" }),
    want: /SystemStopReq field ranks/,
    calls: [],
  },
];

/** Registers the cases of an operation answering results with absent ranks and hosts. */
function operationCases<R>(
  name: string,
  cases: Case<R>[],
  op: (ctx: OpsFixture["ctx"], req: R) => Promise<OpResults>,
): void {
  for (const c of cases) {
    Deno.test(`${name}: ${c.name}`, () =>
      run(c, async (fx, req) => {
        const r = await op(fx.ctx, req);
        return { results: results(r.results), absent: [r.absentRanks, r.absentHosts] };
      }));
  }
}

operationCases("systemStop", STOP_CASES, systemStop);

type StartReq = Parameters<typeof systemStart>[1];
const start = (over: Partial<StartReq>): StartReq => ({
  ranks: "",
  hosts: "",
  ignoreAdminExcluded: false,
  ...over,
});

const START_CASES: Case<StartReq>[] = [
  {
    name: "a started rank that joined meanwhile is OK",
    req: start({ ranks: "4" }),
    // The engine joins while StartRanks runs: the result (Ready) is no transition from Joined.
    setup: (fx) =>
      fx.fanout.after = () =>
        fx.store.concurrentWrite({ put: [member(4, 3, "joined", { last_update: NOW })] }),
    want: ["4 start ready system start"],
    stored: [...UNCHANGED.slice(0, 4), "4 joined"],
    calls: [`StartRanks ${host(3)} 4`],
  },
  {
    name: "a started rank not joined yet is an error naming its state",
    req: start({ ranks: "4" }),
    want: [
      "4 start ready ERR system start: rank 4 is Ready in the system, not joined (system start)",
    ],
    stored: [...UNCHANGED.slice(0, 4), "4 ready system start"],
  },
  {
    name: "a started rank the system holds Excluded is an error naming why",
    req: start({ ranks: "4" }),
    setup: (fx) =>
      fx.store.concurrentWrite({ put: [member(4, 3, "excluded", { info: "swim: rank dead" })] }),
    want: [
      "4 start excluded ERR system start: rank 4 is Excluded in the system, not joined (swim: rank dead)",
    ],
    stored: [...UNCHANGED.slice(0, 4), "4 excluded swim: rank dead (unchanged)"],
  },
  {
    name: "an unreachable host gives Unresponsive results",
    req: start({ hosts: "10.0.0.3:10001" }),
    setup: (fx) => fx.fanout.down.add(host(3)),
    want: [`4 start unresponsive ERR ${host(3)}: connection refused`],
    stored: [...UNCHANGED.slice(0, 4), `4 unresponsive ${host(3)}: connection refused`],
  },
  {
    name: "naming an admin-excluded rank by host is refused",
    req: start({ hosts: "10.0.0.2" }),
    want: /rank \[3\] is administratively excluded/,
    calls: [],
  },
  {
    name: "start all leaves admin-excluded ranks out silently",
    req: start({}),
    setup: (fx) => fx.fanout.down.add(host(1)).add(host(2)).add(host(3)),
    want: [0, 1, 2, 4].map((r) =>
      `${r} start unresponsive ERR ${host(r < 2 ? 1 : r < 4 ? 2 : 3)}: connection refused`
    ),
    stored: [
      `0 unresponsive ${host(1)}: connection refused`,
      `1 unresponsive ${host(1)}: connection refused`,
      `2 unresponsive ${host(2)}: connection refused`,
      "3 adminexcluded (unchanged)",
      `4 unresponsive ${host(3)}: connection refused`,
    ],
    calls: [`StartRanks ${host(1)} 0,1`, `StartRanks ${host(2)} 2`, `StartRanks ${host(3)} 4`],
  },
];

operationCases("systemStart", START_CASES, systemStart);

type ExcludeReq = Parameters<typeof systemExclude>[1];
const exclude = (ranks: string, hosts = "", clear = false): ExcludeReq => ({ ranks, hosts, clear });
const REMOVED = `7 remove invalid member record  ${BAD.key}: ${BAD.problem}`;

const EXCLUDE_CASES: (Case<ExcludeReq> & { invalidLeft?: string[] })[] = [
  {
    name: "exclude sets AdminExcluded",
    req: exclude("0"),
    want: ["0 set admin-excluded state adminexcluded"],
    stored: ["0 adminexcluded", ...UNCHANGED.slice(1)],
  },
  {
    name: "exclude by host sets all its ranks",
    req: exclude("", "10.0.0.1"),
    want: [
      "0 set admin-excluded state adminexcluded",
      "1 set admin-excluded state adminexcluded",
    ],
    stored: ["0 adminexcluded", "1 adminexcluded", ...UNCHANGED.slice(2)],
  },
  {
    name: "excluding an admin-excluded rank reports it and writes nothing",
    req: exclude("3"),
    want: ["3 set admin-excluded state adminexcluded"],
  },
  {
    name: "clear moves an admin-excluded rank to Excluded",
    req: exclude("3", "", true),
    want: ["3 clear admin-excluded state excluded"],
    stored: [...UNCHANGED.slice(0, 3), "3 excluded", UNCHANGED[4]],
  },
  {
    name: "clear bypasses the transition rules (Joined → Excluded)",
    req: exclude("0", "", true),
    want: ["0 clear admin-excluded state excluded"],
    stored: ["0 excluded", ...UNCHANGED.slice(1)],
  },
  {
    name: "no ranks and no hosts is refused",
    req: exclude(""),
    want: /^Error: no hosts or ranks specified$/,
  },
  {
    name: "a rank the system does not have is refused, nothing written",
    req: exclude("0,9"),
    want: /invalid rank\(s\): 9$/,
  },
  {
    name: "a host the system does not have is refused, nothing written",
    req: exclude("0", "10.0.0.7"),
    want: /invalid host\(s\): 10\.0\.0\.7$/,
  },
  {
    name: "an invalid record named by rank is removed",
    req: exclude("7"),
    want: [REMOVED],
    invalidLeft: [],
  },
  {
    name: "an invalid record named by host is removed, with the members named",
    req: exclude("4", "10.0.0.4"),
    want: ["4 set admin-excluded state adminexcluded", REMOVED],
    stored: [...UNCHANGED.slice(0, 4), "4 adminexcluded"],
    invalidLeft: [],
  },
  {
    name: "clear never removes invalid records: their rank is unknown",
    req: exclude("7", "", true),
    want: /invalid rank\(s\): 7$/,
    invalidLeft: ["bad"],
  },
];

for (const c of EXCLUDE_CASES) {
  Deno.test(`systemExclude: ${c.name}`, async () => {
    let fx: OpsFixture | undefined;
    await run(c, async (f, req) => {
      fx = f;
      return { results: results(await systemExclude(f.ctx, req)) };
    });
    if (c.invalidLeft && fx) {
      deepEqual(fx.store.state.invalid.map((r) => r.uuid), c.invalidLeft, c.name);
      const logged = fx.logs.some((l) => l.includes(`${BAD.key} removed (system exclude)`));
      equal(logged, c.invalidLeft.length === 0, c.name);
    }
  });
}

Deno.test("systemExclude: nothing to change makes no commit", async () => {
  const fx = opsFixture(members());
  await systemExclude(fx.ctx, { ranks: "3", hosts: "", clear: false });
  equal(fx.store.commitCalls, 0);
});

Deno.test("query: filters, state mask, attributes; an empty system is unavailable", async () => {
  const fx = opsFixture(members(), {
    attrs: new Map([["mgmt.fabric_providers", "ofi+tcp,ofi+verbs"]]),
  });
  const all = await query(fx.ctx, { ranks: "", hosts: "", stateMask: 0 });
  deepEqual(all.members.map((m) => m.rank), [0, 1, 2, 3, 4]);
  deepEqual(all.providers, ["ofi+tcp", "ofi+verbs"]);
  equal(all.selfHeal, "exclude;pool_exclude;pool_rebuild");
  const joined = await query(fx.ctx, { ranks: "1-9", hosts: "", stateMask: MemberState.Joined });
  deepEqual(joined.members.map((m) => m.rank), [1, 2]);
  equal(joined.absentRanks, "5-9");
  const empty = opsFixture([]);
  await rejects(
    query(empty.ctx, { ranks: "", hosts: "", stateMask: 0 }),
    (e) => e instanceof MsUnavailableError,
  );
  // With filters an empty system answers (the named ranks are absent).
  equal((await query(empty.ctx, { ranks: "1", hosts: "", stateMask: 0 })).absentRanks, "1");
  ok(fx.store.commitCalls === 0);
});
