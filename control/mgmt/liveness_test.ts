import { deepEqual as assertEquals, equal } from "node:assert/strict";
import type { LocalRank } from "./fanout.ts";
import { Liveness, restoredMembers } from "./liveness.ts";
import { host, member as fxMember, opsFixture, summary } from "./testing/fixture.ts";
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

/** The prober over the fixture, with a dead-after bound of `deadAfterMs`. */
function prober(fx: ReturnType<typeof opsFixture>, deadAfterMs: number): Liveness {
  return new Liveness({
    fanout: fx.fanout,
    intervalMs: 50,
    deadAfterMs,
    isLeading: () => fx.store.leading,
    snapshot: () => fx.writes.snapshot(),
    write: (fn) => fx.writes.write(fn),
    log: (m) => fx.logs.push(m),
  });
}

const PROBE_CASES: {
  name: string;
  /** Hosts answering the probe, with their rank reports. */
  answer: Map<string, LocalRank[] | null>;
  leading?: boolean;
  /** Members afterwards, `summary()` lines without the time stamps' "(unchanged)". */
  want: string[];
  logged?: RegExp;
}[] = [
  {
    name: "every host answers: nothing changes",
    answer: new Map([[host(1), null], [host(2), null], [host(3), null]]),
    want: ["0 joined", "1 stopped", "2 unresponsive", "3 excluded"],
  },
  {
    name: "a silent host past the bound: its watched ranks Unresponsive",
    answer: new Map([[host(2), null], [host(3), null]]),
    want: [
      "0 unresponsive daos_server at 10.0.0.1 unreachable",
      "1 stopped", // not watched: a stopped engine has nothing to lose
      "2 unresponsive",
      "3 excluded",
    ],
    logged: /^ranks 0 unresponsive: no answer from 10\.0\.0\.1:10001 for over 0 ms$/,
  },
  {
    name: "a host reporting an Unresponsive rank's engine ready (same incarnation): Joined",
    answer: new Map<string, LocalRank[] | null>([[host(1), null], [host(2), [
      { rank: 2, state: "ready", incarnation: 1n },
    ]], [host(3), null]]),
    want: ["0 joined", "1 stopped", "2 joined", "3 excluded"],
    logged: /^rank 2 on 10\.0\.0\.2:10001 restored to joined: its engine still runs$/,
  },
  {
    name: "a host reporting a new incarnation: the rank stays Unresponsive (it joins itself)",
    answer: new Map<string, LocalRank[] | null>([[host(1), null], [host(2), [
      { rank: 2, state: "ready", incarnation: 2n },
    ]], [host(3), null]]),
    want: ["0 joined", "1 stopped", "2 unresponsive", "3 excluded"],
  },
  {
    name: "not leading: no probe, no change",
    answer: new Map(),
    leading: false,
    want: ["0 joined", "1 stopped", "2 unresponsive", "3 excluded"],
  },
];

for (const c of PROBE_CASES) {
  Deno.test(`liveness probe: ${c.name}`, async () => {
    const fx = opsFixture([
      fxMember(0, 1, "joined"),
      fxMember(1, 1, "stopped"),
      fxMember(2, 2, "unresponsive"),
      fxMember(3, 3, "excluded"),
    ]);
    fx.store.leading = c.leading ?? true;
    for (const [addr, ranks] of c.answer) fx.fanout.probes.set(addr, { ranks });
    // The first round starts every watched host's grace period; the second judges it.
    const p = prober(fx, 0);
    await p.probeOnce();
    await new Promise((r) => setTimeout(r, 5));
    await p.probeOnce();
    assertEquals(summary(fx.store).map((l) => l.replace(" (unchanged)", "")), c.want);
    if (c.logged) equal(fx.logs.filter((l) => c.logged!.test(l)).length, 1);
  });
}

Deno.test("liveness probe: a silent host within its grace period keeps its ranks", async () => {
  const fx = opsFixture([fxMember(0, 1, "joined")]);
  const p = prober(fx, 60_000);
  await p.probeOnce();
  await p.probeOnce();
  assertEquals(summary(fx.store), ["0 joined (unchanged)"]);
  equal(fx.store.commitCalls, 0);
});
