/**
 * Table-driven tests of ClusterEvent handling against the in-memory store: RAS event → stored
 * member afterwards (engine_died → Errored, swim_rank_dead → Excluded when self-heal says so;
 * unknown ranks, illegal transitions and stale incarnations change nothing).
 */
import { deepEqual, equal } from "node:assert/strict";
import type { MemberStateWireName } from "../../lib/states.ts";
import { member, opsFixture, summary } from "../testing/fixture.ts";
import { type ClusterEvent, clusterEvent, RAS_ENGINE_DIED, RAS_SWIM_RANK_DEAD } from "./events.ts";

interface Case {
  name: string;
  /** State of rank 1 (incarnation 5) before the event. */
  state: MemberStateWireName;
  ev: Partial<ClusterEvent>;
  /** prop.self_heal, when set. */
  selfHeal?: string;
  /** Rank 1 afterwards as a `summary()` line; unchanged when absent. */
  want?: string;
  /** A line the log must hold. */
  logged?: RegExp;
}

const DIED = { id: RAS_ENGINE_DIED, rank: 1, incarnation: 5n, msg: "engine exited: signal 9" };
const DEAD = { id: RAS_SWIM_RANK_DEAD, rank: 1, incarnation: 5n, msg: "SWIM: rank dead" };

const CASES: Case[] = [
  {
    name: "engine_died: Joined → Errored with the event's message",
    state: "joined",
    ev: DIED,
    want: "1 errored engine exited: signal 9",
  },
  {
    name: "engine_died: a newer incarnation counts too",
    state: "joined",
    ev: { ...DIED, incarnation: 6n },
    want: "1 errored engine exited: signal 9",
  },
  {
    name: "engine_died: Stopped → Errored",
    state: "stopped",
    ev: DIED,
    want: "1 errored engine exited: signal 9",
  },
  {
    name: "engine_died: an older incarnation (the rank rejoined since) is ignored and logged",
    state: "joined",
    ev: { ...DIED, incarnation: 4n },
    logged: /engine_died event for rank 1 ignored: incarnation 4 is older than the member's 5/,
  },
  {
    name: "engine_died: incarnation 0 (anyone could send it) is ignored",
    state: "joined",
    ev: { ...DIED, incarnation: 0n },
    logged: /incarnation 0 is older/,
  },
  {
    name: "engine_died: an unknown rank changes nothing",
    state: "joined",
    ev: { ...DIED, rank: 9 },
  },
  { name: "engine_died: Excluded stays Excluded", state: "excluded", ev: DIED },
  { name: "engine_died: AdminExcluded stays AdminExcluded", state: "adminexcluded", ev: DIED },
  { name: "engine_died: Errored is no transition", state: "errored", ev: DIED },
  {
    name: "swim_rank_dead: Joined → Excluded by the default self-heal",
    state: "joined",
    ev: DEAD,
    want: "1 excluded SWIM: rank dead",
  },
  {
    name: "swim_rank_dead: self-heal listing exclude (comma-separated)",
    state: "joined",
    ev: DEAD,
    selfHeal: "pool_rebuild,exclude",
    want: "1 excluded SWIM: rank dead",
  },
  {
    name: "swim_rank_dead: self-heal without exclude changes nothing",
    state: "joined",
    ev: DEAD,
    selfHeal: "pool_exclude;pool_rebuild",
  },
  {
    name: "swim_rank_dead: an older incarnation is ignored",
    state: "joined",
    ev: { ...DEAD, incarnation: 4n },
  },
  { name: "swim_rank_dead: AwaitFormat may not go to Excluded", state: "awaitformat", ev: DEAD },
  {
    name: "swim_rank_dead: an unknown rank changes nothing",
    state: "joined",
    ev: { ...DEAD, rank: 0 },
  },
  { name: "other events change nothing", state: "joined", ev: { ...DIED, id: 5 } },
];

for (const c of CASES) {
  Deno.test(`clusterEvent: ${c.name}`, async () => {
    const attrs = new Map(c.selfHeal === undefined ? [] : [["prop.self_heal", c.selfHeal]]);
    const fx = opsFixture([
      member(1, 1, c.state, { incarnation: "5" }),
      member(2, 1, "joined"),
    ], { attrs });
    const before = summary(fx.store);
    await clusterEvent(fx.ctx, { ...DIED, ...c.ev });
    deepEqual(summary(fx.store), [c.want ?? before[0], before[1]]);
    equal(fx.store.commitCalls, c.want === undefined ? 0 : 1);
    if (c.logged) equal(fx.logs.filter((l) => c.logged!.test(l)).length, 1);
  });
}
