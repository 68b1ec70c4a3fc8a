/**
 * System queries and operations of the MS (server.md §4.5–4.6): SystemQuery, LeaderQuery,
 * SystemStop, SystemStart, SystemExclude, and the fold of rank results into member states.
 * The pure selection and folding rules are system_ops.ts's.
 */
import { create } from "@bufbuild/protobuf";
import { type RankResult, RankResultSchema } from "../../../proto/gen/ts/shared/ranks_pb.ts";
import { faults } from "../../lib/fault.ts";
import { SELF_HEAL_DEFAULT } from "../../lib/system_props.ts";
import { HostSet, parseHostList } from "../../lib/hostlist.ts";
import { NilRank, parseRankSet, RankSet } from "../../lib/rankset.ts";
import { MsUnavailableError } from "../../lib/rpc/error_codec.ts";
import { ALL_STATES_MASK, type MemberStateWireName, wireStateValue } from "../../lib/states.ts";
import { type DbChanges, type DbState, type InvalidRecord, noChanges } from "../db.ts";
import { fanRanks, type RanksMethod } from "../fanout.ts";
import { ATTR_PROVIDERS } from "../join.ts";
import type { Member } from "../member.ts";
import type { MembershipStore } from "../store.ts";
import {
  applyResults,
  checkStarted,
  selectInvalid,
  type Selection,
  selectMembers,
} from "../system_ops.ts";
import type { OpsContext } from "./context.ts";

/** System property naming the self-heal actions (`dmg system get-prop self_heal`). */
export const ATTR_SELF_HEAL = "prop.self_heal";
/** self_heal when the property was never set (lib/system_props.ts). */
export { SELF_HEAL_DEFAULT };

/** Ranks selected by a request's filters, with what they named but did not match. */
export interface OpResults {
  results: RankResult[];
  absentRanks: string;
  absentHosts: string;
}

/** What SystemQuery answers. */
export interface QueryResult {
  members: Member[];
  absentRanks: string;
  absentHosts: string;
  dataVersion: bigint;
  providers: string[];
  selfHeal: string;
}

/** SystemQuery: members by filters and state mask (0 = all), with the system's attributes. */
export async function query(
  ctx: OpsContext,
  req: { ranks: string; hosts: string; stateMask: number },
): Promise<QueryResult> {
  const s = await ctx.state();
  if (s.members.size === 0 && req.ranks === "" && req.hosts === "") {
    throw new MsUnavailableError("unavailable");
  }
  const sel = selectMembers(
    s.members.values(),
    req.ranks,
    req.hosts,
    ctx.controlPort,
    "SystemQueryReq",
  );
  const mask = req.stateMask === 0 ? ALL_STATES_MASK : req.stateMask;
  const prov = s.attrs.get(ATTR_PROVIDERS) ?? "";
  return {
    members: sel.members.filter((m) => (wireStateValue(m.state) & mask) !== 0),
    absentRanks: sel.absentRanks,
    absentHosts: sel.absentHosts,
    dataVersion: s.version,
    providers: prov === "" ? [] : prov.split(","),
    selfHeal: s.attrs.get(ATTR_SELF_HEAL) ?? SELF_HEAL_DEFAULT,
  };
}

/**
 * LeaderQuery: the leader, the replicas, and the replicas not campaigning (down); when the
 * campaigners cannot be read, every other replica counts as down.
 */
export async function leaderQuery(
  store: MembershipStore,
  replicas: string[],
  self: string,
): Promise<{ leader: string; replicas: string[]; down: string[] }> {
  let down: string[];
  try {
    const up = new Set(await store.campaigners());
    down = replicas.filter((r) => !up.has(r));
  } catch {
    down = replicas.filter((r) => r !== self);
  }
  return { leader: store.view().leader, replicas: [...replicas], down };
}

/** Members selected by the filters of request `req` (named in errors). */
async function select(
  ctx: OpsContext,
  ranks: string,
  hosts: string,
  req: string,
): Promise<Selection> {
  const s = await ctx.state();
  return selectMembers(s.members.values(), ranks, hosts, ctx.controlPort, req);
}

/** Fans `method` out to the hosts of `members`, each result labelled with `action`. */
export async function fanAction(
  ctx: OpsContext,
  method: RanksMethod,
  action: string,
  members: Member[],
  force: boolean,
): Promise<RankResult[]> {
  return (await fanRanks(ctx.fanout, method, members, force)).map((r) => ({ ...r, action }));
}

/** Moves the members of `results` to the states the results report, where that is legal. */
export async function applyRankResults(ctx: OpsContext, results: RankResult[]): Promise<void> {
  const now = ctx.now();
  await ctx.write((s) => ({ ...noChanges(), put: applyResults(s.members, results, now) }));
}

/**
 * The members an operation acts on: AdminExcluded ones are left out, and naming one explicitly
 * is refused (fault) unless the request ignores them.
 */
function adminExcludedCheck(sel: Selection, ignore: boolean): Member[] {
  const ax = sel.members.filter((m) => m.state === "adminexcluded");
  if (sel.explicit && !ignore && ax.length > 0) {
    throw faults.ServerRankAdminExcluded(
      RankSet.fromRanks(ax.map((m) => m.rank)).toString(),
      ax.length > 1,
    );
  }
  return sel.members.filter((m) => m.state !== "adminexcluded");
}

/** SystemStop: prep shutdown unless forced (stopping there when a rank failed), then stop. */
export async function systemStop(
  ctx: OpsContext,
  req: { ranks: string; hosts: string; force: boolean; ignoreAdminExcluded: boolean },
): Promise<OpResults> {
  const sel = await select(ctx, req.ranks, req.hosts, "SystemStopReq");
  const targets = adminExcludedCheck(sel, req.ignoreAdminExcluded);
  const out = (results: RankResult[]) => ({
    results,
    absentRanks: sel.absentRanks,
    absentHosts: sel.absentHosts,
  });
  if (targets.length === 0) return out([]);
  if (!req.force) {
    const prep = await fanAction(ctx, "PrepShutdownRanks", "prep shutdown", targets, false);
    await applyRankResults(ctx, prep);
    if (prep.some((r) => r.errored)) return out(prep);
  }
  const stop = await fanAction(ctx, "StopRanks", "stop", targets, req.force);
  await applyRankResults(ctx, stop);
  return out(stop);
}

/** SystemStart: start, then "OK" only for ranks the system now has Joined. */
export async function systemStart(
  ctx: OpsContext,
  req: { ranks: string; hosts: string; ignoreAdminExcluded: boolean },
): Promise<OpResults> {
  const sel = await select(ctx, req.ranks, req.hosts, "SystemStartReq");
  const targets = adminExcludedCheck(sel, req.ignoreAdminExcluded);
  const started = targets.length === 0
    ? []
    : await fanAction(ctx, "StartRanks", "start", targets, false);
  await applyRankResults(ctx, started);
  // "OK" only for ranks the system now has Joined (a ready engine may still be excluded).
  const results = checkStarted((await ctx.state()).members.values(), started);
  return { results, absentRanks: sel.absentRanks, absentHosts: sel.absentHosts };
}

/** The result reporting an invalid member record removed by SystemExclude. */
function removedResult(r: InvalidRecord): RankResult {
  return create(RankResultSchema, {
    rank: r.rank ?? NilRank,
    action: "remove invalid member record",
    state: "",
    // The stored address may be what made the record invalid: report it only when sane.
    addr: r.addr.length <= 260 ? r.addr : "",
    msg: `${r.key}: ${r.problem}`,
  });
}

/**
 * SystemExclude: set or clear the AdminExcluded state. Exclude also removes the invalid member
 * records (see db.ts) it names by rank or host: they cannot be excluded, being no members, and
 * this is how an operator gets rid of them without erasing the system.
 */
export async function systemExclude(
  ctx: OpsContext,
  req: { ranks: string; hosts: string; clear: boolean },
): Promise<RankResult[]> {
  if (req.ranks === "" && req.hosts === "") throw new Error("no hosts or ranks specified");
  const st0 = await ctx.state();
  const port = ctx.controlPort;
  const sel = selectMembers(st0.members.values(), req.ranks, req.hosts, port, "SystemExcludeReq");
  const bad = req.clear
    ? { records: [], ranks: new Set<number>(), hosts: new Set<string>() }
    : selectInvalid(st0.invalid, req.ranks, req.hosts, port, "SystemExcludeReq");
  const absentHosts = sel.absentHosts === ""
    ? []
    : parseHostList(sel.absentHosts).expand().filter((h) => !bad.hosts.has(h));
  const absentRanks = parseRankSet(sel.absentRanks);
  for (const r of bad.ranks) absentRanks.delete(r);
  if (absentHosts.length > 0) {
    throw new Error(`invalid host(s): ${HostSet.fromHosts(absentHosts).toString()}`);
  }
  if (!absentRanks.empty) throw new Error(`invalid rank(s): ${absentRanks.toString()}`);
  const to: MemberStateWireName = req.clear ? "excluded" : "adminexcluded";
  const action = req.clear ? "clear admin-excluded state" : "set admin-excluded state";
  const ranks = new Set(sel.members.map((m) => m.rank));
  const gone = new Set(bad.records.map((r) => r.uuid));
  const now = ctx.now();
  const s = await ctx.write((st) => ({
    ...noChanges(),
    put: [...st.members.values()].filter((m) => ranks.has(m.rank) && m.state !== to)
      .map((m) => ({ ...m, state: to, info: "", last_update: now })),
    remove: st.invalid.filter((r) => gone.has(r.uuid)).map((r) => r.uuid),
  }));
  for (const r of bad.records) {
    ctx.log(`invalid member record ${r.key} removed (system exclude): ${r.problem}`);
  }
  return [
    ...[...s.members.values()].filter((m) => ranks.has(m.rank))
      .map((m) => create(RankResultSchema, { rank: m.rank, action, state: m.state, addr: m.addr })),
    ...bad.records.map((r) => removedResult(r)),
  ].sort((a, b) => a.rank - b.rank);
}

/**
 * The step-up write of a new leader: the system's fabric provider attribute set from this
 * server's configuration when unset, or when it differs and no rank is joined (a provider
 * change while ranks are joined is only logged).
 */
export function providerChanges(
  s: DbState,
  provider: string,
  log: (msg: string) => void,
): DbChanges {
  const c = noChanges();
  const cur = s.attrs.get(ATTR_PROVIDERS);
  if (cur === undefined || cur === "") c.attrs[ATTR_PROVIDERS] = provider;
  else if (cur !== provider) {
    const anyJoined = [...s.members.values()].some((m) => m.state === "joined");
    if (anyJoined) {
      log(
        `configured provider ${provider} differs from system provider ${cur}; not changed while ranks are joined`,
      );
    } else c.attrs[ATTR_PROVIDERS] = provider;
  }
  return c;
}
