/**
 * Seeded property tests of the rules behind issue 15 items 7 and 9: a system start never
 * reports OK for a rank the system does not have Joined; every host holding an excluded rank
 * is sent the group map; the not-leader text never carries empty hints.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { RankResultSchema } from "../../proto/gen/ts/shared/ranks_pb.ts";
import { prng } from "../../tests/util/prng.ts";
import { NotLeaderError } from "../lib/rpc/error_codec.ts";
import { excludedHosts, mapHosts, mapMembers } from "./group_update.ts";
import {
  MemberState as StateBits,
  type MemberStateWireName as MemberState,
} from "../lib/states.ts";
import type { Member } from "./member.ts";
import { applyResults, checkStarted } from "./system_ops.ts";

const STATES = Object.keys(StateBits).map((k) => k.toLowerCase() as MemberState);

function member(rank: number, state: MemberState, host: number): Member {
  return {
    rank,
    uuid: `u${rank}`,
    addr: `10.0.0.${host}:10001`,
    state,
    fault_domain: "/h",
    incarnation: "1",
    fabric_uri: `ofi+tcp://10.0.0.${host}:${20000 + rank}`,
    secondary_fabric_uris: [],
    fabric_contexts: 1,
    secondary_fabric_contexts: [],
    info: "",
    last_update: "",
  };
}

function randomMembers(rnd: () => number, n: number): Member[] {
  return Array.from(
    { length: n },
    (_, r) => member(r, STATES[Math.floor(rnd() * STATES.length)], 1 + Math.floor(rnd() * 4)),
  );
}

Deno.test("property: system start is OK only for ranks the system has Joined after the results", () => {
  const rnd = prng(15);
  for (let iter = 0; iter < 500; iter++) {
    const members = randomMembers(rnd, 1 + Math.floor(rnd() * 8));
    const results = members.filter(() => rnd() < 0.8).map((m) => {
      const fine = rnd() < 0.7;
      return create(RankResultSchema, {
        rank: m.rank,
        addr: m.addr,
        action: "start",
        state: fine ? "ready" : "errored",
        errored: !fine,
        msg: fine ? "system start" : "system start: rank failed to start: x",
      });
    });
    // As systemStart does: apply the host results, then check against what the system holds.
    const byUuid = new Map(members.map((m) => [m.uuid, m]));
    for (const u of applyResults(byUuid, results, "t")) byUuid.set(u.uuid, u);
    const after = [...byUuid.values()];
    const out = checkStarted(after, results);
    deepEqual(out.map((r) => r.rank), results.map((r) => r.rank));
    out.forEach((r, i) => {
      const m = after.find((x) => x.rank === r.rank)!;
      if (results[i].errored) deepEqual(r, results[i]);
      if (!r.errored) {
        ok(m.state === "joined" || m.state === "checkerstarted", `${m.state} reported OK`);
      } else if (!results[i].errored) {
        equal(r.state, m.state);
        ok(r.msg.includes(`rank ${r.rank} is `), r.msg);
      }
    });
  }
});

Deno.test("property: every host with an excluded rank gets the map; excluded ranks are never in it", () => {
  const rnd = prng(9);
  for (let iter = 0; iter < 500; iter++) {
    const members = randomMembers(rnd, Math.floor(rnd() * 10));
    const sentTo = new Set([...mapHosts(members), ...excludedHosts(members)]);
    for (const m of members) {
      if (m.state === "excluded" || m.state === "adminexcluded") ok(sentTo.has(m.addr));
    }
    for (const m of mapMembers(members)) {
      ok(!["excluded", "adminexcluded", "awaitformat"].includes(m.state), m.state);
      ok(sentTo.has(m.addr));
    }
  }
});

Deno.test("property: the not-leader text never shows an empty hint or replica list", () => {
  const rnd = prng(7);
  const pick = () => ["", "10.0.0.1:10001", "10.0.0.2:10001", ""][Math.floor(rnd() * 4)];
  for (let iter = 0; iter < 300; iter++) {
    const hint = pick();
    const reps = Array.from({ length: Math.floor(rnd() * 4) }, pick);
    const msg = new NotLeaderError(hint, reps).message;
    ok(!/try {2}|try \)|one of \)|one of ,|,,|,\)/.test(msg), msg);
    ok(msg.startsWith("not the DAOS Management Service leader ("), msg);
    if (hint === "" && reps.every((r) => r === "")) ok(/no leader known/.test(msg), msg);
  }
});
