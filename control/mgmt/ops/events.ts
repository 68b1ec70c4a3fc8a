/**
 * RAS events forwarded to the MS leader (ClusterEvent) turned into member state changes:
 * `engine_died` → Errored, `swim_rank_dead` → Excluded when self-heal includes "exclude".
 */
import { memberInfo } from "../../lib/member_fields.ts";
import { isLegalTransition } from "../../lib/states.ts";
import { type DbChanges, type DbState, noChanges } from "../db.ts";
import type { OpsContext } from "./context.ts";
import { ATTR_SELF_HEAL, SELF_HEAL_DEFAULT } from "./system.ts";

/** RAS event id of an engine that died (DAOS RAS_ENGINE_DIED). */
export const RAS_ENGINE_DIED = 2;
/** RAS event id of a rank SWIM declared dead (DAOS RAS_SWIM_RANK_DEAD). */
export const RAS_SWIM_RANK_DEAD = 17;

/** The fields of a RAS event the MS uses. */
export interface ClusterEvent {
  id: number;
  rank: number;
  incarnation: bigint;
  msg: string;
}

/**
 * The member update event `ev` makes of state `s` (none for other events, unknown ranks,
 * illegal transitions, and events about an older incarnation than the member's). Pure but for
 * `log`, which hears why a stale engine_died was ignored.
 */
export function eventChanges(
  s: DbState,
  ev: ClusterEvent,
  now: string,
  log: (msg: string) => void,
): DbChanges {
  const m = [...s.members.values()].find((x) => x.rank === ev.rank);
  if (ev.id === RAS_ENGINE_DIED) {
    if (!m || !isLegalTransition(m.state, "errored")) return noChanges();
    // A late event about an engine the rank has since replaced (it rejoined) is stale; so
    // is one naming no incarnation (0), as in DAOS: anyone could send that for any rank.
    if (ev.incarnation < BigInt(m.incarnation)) {
      log(
        `engine_died event for rank ${ev.rank} ignored: incarnation ${ev.incarnation} is ` +
          `older than the member's ${m.incarnation}`,
      );
      return noChanges();
    }
    return {
      ...noChanges(),
      put: [{ ...m, state: "errored", info: memberInfo(ev.msg), last_update: now }],
    };
  }
  if (ev.id === RAS_SWIM_RANK_DEAD) {
    const heal = s.attrs.get(ATTR_SELF_HEAL) ?? SELF_HEAL_DEFAULT;
    if (!m || !heal.split(/[;,]/).includes("exclude")) return noChanges();
    if (ev.incarnation < BigInt(m.incarnation)) return noChanges();
    if (!isLegalTransition(m.state, "excluded")) return noChanges();
    return {
      ...noChanges(),
      put: [{ ...m, state: "excluded", info: memberInfo(ev.msg), last_update: now }],
    };
  }
  return noChanges();
}

/** Applies a RAS event forwarded by a server (the caller checked leadership). */
export async function clusterEvent(ctx: OpsContext, ev: ClusterEvent): Promise<void> {
  if (ev.id !== RAS_ENGINE_DIED && ev.id !== RAS_SWIM_RANK_DEAD) return;
  const now = ctx.now();
  await ctx.write((s) => eventChanges(s, ev, now, ctx.log));
}
