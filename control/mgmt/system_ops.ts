/**
 * Pure helpers for system operations (server.md §4.5–4.6): resolve rank/host filters against
 * the membership, group targets by host, fold operation results into member updates.
 */
import type { RankResult } from "../../proto/gen/ts/shared/ranks_pb.ts";
import type { InvalidRecord } from "./db.ts";
import { addrHost, isLegalTransition, type Member, parseState } from "./member.ts";
import { HostSet, parseHostList } from "../lib/hostlist.ts";
import { parseRankSet } from "../lib/rankset.ts";

/** Members selected by a request's filters, plus what the filters named but did not match. */
export interface Selection {
  members: Member[];
  absentRanks: string;
  absentHosts: string;
  /** True when the request named ranks or hosts explicitly. */
  explicit: boolean;
}

function normHost(h: string): string {
  return h === "localhost" ? "127.0.0.1" : h;
}

function hostMatches(member: { addr: string }, host: string, defaultPort: number): boolean {
  const i = host.lastIndexOf(":");
  const hasPort = i > 0 && /^\d+$/.test(host.slice(i + 1));
  const name = hasPort ? host.slice(0, i) : host;
  const port = hasPort ? host.slice(i + 1) : String(defaultPort);
  return normHost(addrHost(member.addr)) === normHost(name) &&
    member.addr.slice(member.addr.lastIndexOf(":") + 1) === port;
}

/** Resolves `ranks` / `hosts` filter strings (empty = all) against `all` members. */
export function selectMembers(
  all: Iterable<Member>,
  ranks: string,
  hosts: string,
  defaultPort = 10001,
): Selection {
  const members = [...all].sort((a, b) => a.rank - b.rank);
  const rankSet = parseRankSet(ranks);
  const hostList = [...new Set(parseHostList(hosts).expand())];
  if (rankSet.empty && hostList.length === 0) {
    return { members, absentRanks: "", absentHosts: "", explicit: false };
  }
  const chosen = new Map<number, Member>();
  // Absent = requested minus present, without expanding the requested ranges.
  const absentRanks = rankSet.clone();
  for (const m of members) {
    if (!rankSet.contains(m.rank)) continue;
    chosen.set(m.rank, m);
    absentRanks.delete(m.rank);
  }
  const absentHosts: string[] = [];
  for (const h of hostList) {
    const hits = members.filter((m) => hostMatches(m, h, defaultPort));
    if (hits.length === 0) absentHosts.push(h);
    for (const m of hits) chosen.set(m.rank, m);
  }
  return {
    members: [...chosen.values()].sort((a, b) => a.rank - b.rank),
    absentRanks: absentRanks.toString(),
    absentHosts: absentHosts.length === 0 ? "" : HostSet.fromHosts(absentHosts).toString(),
    explicit: true,
  };
}

/** Groups members' ranks by control address. */
export function ranksByHost(members: Member[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const m of members) {
    const l = out.get(m.addr) ?? [];
    l.push(m.rank);
    out.set(m.addr, l);
  }
  return out;
}

/**
 * Member updates implied by operation results: a result moves its member to the result's state
 * (info = message) when the transition is legal; illegal ones are skipped.
 */
export function applyResults(
  members: Map<string, Member>,
  results: RankResult[],
  now: string,
): Member[] {
  const byRank = new Map([...members.values()].map((m) => [m.rank, m]));
  const updates = new Map<number, Member>();
  for (const r of results) {
    const m = updates.get(r.rank) ?? byRank.get(r.rank);
    if (!m) continue;
    let to = parseState(r.state);
    if (r.errored && to !== "errored" && to !== "unresponsive") to = "errored";
    if (to === "unknown" || !isLegalTransition(m.state, to)) continue;
    updates.set(r.rank, { ...m, state: to, info: r.msg, last_update: now });
  }
  return [...updates.values()];
}

/** Invalid member records named by `ranks` / `hosts`, and which requested ranks/hosts hit one. */
export function selectInvalid(
  records: InvalidRecord[],
  ranks: string,
  hosts: string,
  defaultPort = 10001,
): { records: InvalidRecord[]; ranks: Set<number>; hosts: Set<string> } {
  const rankSet = parseRankSet(ranks);
  const hostList = [...new Set(parseHostList(hosts).expand())];
  const out = {
    records: [] as InvalidRecord[],
    ranks: new Set<number>(),
    hosts: new Set<string>(),
  };
  for (const r of records) {
    let hit = false;
    if (r.rank !== null && rankSet.contains(r.rank)) {
      out.ranks.add(r.rank);
      hit = true;
    }
    for (const h of hostList) {
      if (r.addr !== "" && hostMatches(r, h, defaultPort)) {
        out.hosts.add(h);
        hit = true;
      }
    }
    if (hit) out.records.push(r);
  }
  return out;
}

/**
 * System start results checked against the membership after they were applied: a rank the
 * host started counts as started only when the system has it Joined (or CheckerStarted);
 * otherwise (e.g. still Excluded: its engine was up but the system map has it out) the result
 * is an error naming the state the rank is in, never "OK".
 */
export function checkStarted(members: Iterable<Member>, results: RankResult[]): RankResult[] {
  const byRank = new Map([...members].map((m) => [m.rank, m]));
  return results.map((r) => {
    if (r.errored) return r;
    const m = byRank.get(r.rank);
    if (m === undefined || m.state === "joined" || m.state === "checkerstarted") return r;
    const why = m.info !== "" ? ` (${m.info})` : "";
    return {
      ...r,
      errored: true,
      state: m.state,
      msg: `system start: rank ${r.rank} is ${stateLabel(m.state)} in the system, not joined${why}`,
    };
  });
}

/** A member state as dmg prints it (Joined, AdminExcluded, ...). */
function stateLabel(state: string): string {
  const names: Record<string, string> = {
    adminexcluded: "AdminExcluded",
    awaitformat: "AwaitFormat",
  };
  return names[state] ?? state.charAt(0).toUpperCase() + state.slice(1);
}
