/**
 * Table-driven tests of SystemErase against the in-memory store and a scripted fan-out:
 * members → reset-format results, whether the database was wiped, what the peers and the
 * group updates were told.
 */
import { deepEqual, equal, rejects } from "node:assert/strict";
import { NotLeaderError } from "../../lib/rpc/error_codec.ts";
import type { Member } from "../member.ts";
import { host, member, type OpsFixture, opsFixture, results, summary } from "../testing/fixture.ts";
import { systemErase } from "./erase.ts";

const PEERS = ["10.0.0.8:10001", "10.0.0.9:10001"];

interface Case {
  name: string;
  members?: Member[];
  externalDb?: boolean;
  setup?: (fx: OpsFixture) => void;
  /** Results as `results()` lines, or the error. */
  want: string[] | RegExp;
  /** Stored members afterwards; [] when wiped. */
  stored: string[];
  /** What else happened, in order: halt, resume, step-up, drop. */
  events: string[];
  erasedPeers?: string[];
  logged?: RegExp;
}

const TWO = [member(0, 1, "joined"), member(1, 2, "stopped")];

const CASES: Case[] = [
  {
    name: "every rank reset: wiped, peers told, the local database dropped",
    want: [],
    stored: [],
    events: ["halt", "drop"],
    erasedPeers: PEERS,
  },
  {
    name: "a rank that failed to reset: nothing wiped, states updated, group updates resumed",
    setup: (fx) => fx.fanout.fail("ResetFormatRanks", 1, "rank 1: storage busy"),
    want: ["0 reset format awaitformat", "1 reset format errored ERR rank 1: storage busy"],
    stored: ["0 awaitformat", "1 errored rank 1: storage busy"],
    events: ["halt", "resume"],
  },
  {
    name: "an unreachable host: nothing wiped, its ranks Unresponsive",
    setup: (fx) => fx.fanout.down.add(host(2)),
    want: [
      "0 reset format awaitformat",
      `1 reset format unresponsive ERR ${host(2)}: connection refused`,
    ],
    stored: ["0 awaitformat", `1 unresponsive ${host(2)}: connection refused`],
    events: ["halt", "resume"],
  },
  {
    name: "external etcd: wiped, the new system's step-up written, nothing dropped",
    externalDb: true,
    want: [],
    stored: [],
    events: ["halt", "step-up"],
  },
  {
    name: "a peer that cannot be told is logged; the erase goes on",
    setup: (fx) => fx.fanout.eraseFails.add(PEERS[0]),
    want: [],
    stored: [],
    events: ["halt", "drop"],
    erasedPeers: [PEERS[1]],
    logged: /^erase of replica 10\.0\.0\.8:10001: unreachable$/,
  },
  {
    name: "an empty system is wiped without a fan-out",
    members: [],
    want: [],
    stored: [],
    events: ["halt", "drop"],
    erasedPeers: PEERS,
  },
  {
    name: "deposed before the wipe: NotLeader, nothing wiped or dropped",
    setup: (fx) =>
      fx.fanout.after = () => {
        fx.store.leading = false;
        fx.store.leader = PEERS[1];
      },
    want: /not the DAOS Management Service leader/,
    stored: ["0 joined (unchanged)", "1 stopped (unchanged)"],
    events: ["halt"],
  },
];

for (const c of CASES) {
  Deno.test(`systemErase: ${c.name}`, async () => {
    const fx = opsFixture(c.members ?? TWO);
    c.setup?.(fx);
    const events: string[] = [];
    const op = systemErase({
      ...fx.ctx,
      system: "daos_server",
      haltGroupUpdates: () => Promise.resolve(void events.push("halt")),
      resumeGroupUpdates: () => void events.push("resume"),
      wipe: () => fx.writes.wipe(),
      externalDb: c.externalDb ?? false,
      stepUp: () => Promise.resolve(void events.push("step-up")),
      otherReplicas: PEERS,
      dropLocalDb: () => Promise.resolve(void events.push("drop")),
    });
    if (c.want instanceof RegExp) {
      const want = c.want;
      await rejects(op, (e) => e instanceof NotLeaderError && want.test(e.message));
    } else deepEqual(results(await op), c.want);
    deepEqual(summary(fx.store), c.stored);
    deepEqual(events, c.events);
    deepEqual(fx.fanout.erased, c.erasedPeers ?? []);
    const resets = fx.fanout.calls.filter((x) => x.method === "ResetFormatRanks");
    equal(resets.length, new Set((c.members ?? TWO).map((m) => m.addr)).size);
    if (c.logged) equal(fx.logs.filter((l) => c.logged!.test(l)).length, 1);
  });
}
