/**
 * Pure helpers for system operations (server.md §4.5–4.6): resolve rank/host filters against
 * the membership, group targets by host, fold operation results into member updates.
 */
import type { RankResult } from "../../proto/gen/ts/shared/ranks_pb.ts";
import type { InvalidRecord } from "./db.ts";
import { addrHost, type Member } from "./member.ts";
import {
  isLegalTransition,
  type MemberStateWireName,
  parseWireState,
  stateName,
  wireStateValue,
} from "../lib/states.ts";
import { HostSet } from "../lib/hostlist.ts";
import { RankSet } from "../lib/rankset.ts";
import { hostFilter, rankFilter } from "../lib/filter_fields.ts";
import { memberInfo } from "../lib/member_fields.ts";

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

/**
 * The key a host filter entry and a member address match on: host (localhost = 127.0.0.1) and
 * port, the entry's port defaulting to `defaultPort`. Matching by key keeps a filter of many
 * hosts against many members linear instead of hosts x members.
 */
function hostKey(host: string, defaultPort: number): string {
  const i = host.lastIndexOf(":");
  const hasPort = i > 0 && /^\d+$/.test(host.slice(i + 1));
  const name = hasPort ? host.slice(0, i) : host;
  const port = hasPort ? host.slice(i + 1) : String(defaultPort);
  return `${normHost(name)}\n${port}`;
}

function memberKey(addr: string): string {
  return `${normHost(addrHost(addr))}\n${addr.slice(addr.lastIndexOf(":") + 1)}`;
}

/** Index of `items` by the key of their address. */
function byAddrKey<T extends { addr: string }>(items: Iterable<T>): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const m of items) {
    const k = memberKey(m.addr);
    const l = out.get(k);
    if (l) l.push(m);
    else out.set(k, [m]);
  }
  return out;
}

/**
 * Resolves `ranks` / `hosts` filter strings (empty = all) against `all` members. `req` names
 * the request in errors (e.g. "SystemStopReq"); filters are bounded (filter_fields.ts).
 */
export function selectMembers(
  all: Iterable<Member>,
  ranks: string,
  hosts: string,
  defaultPort = 10001,
  req = "request",
): Selection {
  const members = [...all].sort((a, b) => a.rank - b.rank);
  const rankSet = rankFilter(ranks, `${req} field ranks`);
  const hostList = [...new Set(hostFilter(hosts, `${req} field hosts`).expand())];
  if (rankSet.empty && hostList.length === 0) {
    return { members, absentRanks: "", absentHosts: "", explicit: false };
  }
  const chosen = new Map<number, Member>();
  for (const m of members) if (rankSet.contains(m.rank)) chosen.set(m.rank, m);
  // Absent = requested minus present, without expanding the requested ranges.
  const absentRanks = rankSet.minus(RankSet.fromRanks(chosen.keys()));
  const absentHosts: string[] = [];
  const index = byAddrKey(members);
  for (const h of hostList) {
    const hits = index.get(hostKey(h, defaultPort)) ?? [];
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
    let to = parseWireState(r.state);
    if (r.errored && to !== "errored" && to !== "unresponsive") to = "errored";
    if (to === "unknown" || !isLegalTransition(m.state, to)) continue;
    updates.set(r.rank, { ...m, state: to, info: memberInfo(r.msg), last_update: now });
  }
  return [...updates.values()];
}

/** Invalid member records named by `ranks` / `hosts`, and which requested ranks/hosts hit one. */
export function selectInvalid(
  records: InvalidRecord[],
  ranks: string,
  hosts: string,
  defaultPort = 10001,
  req = "request",
): { records: InvalidRecord[]; ranks: Set<number>; hosts: Set<string> } {
  const rankSet = rankFilter(ranks, `${req} field ranks`);
  const hostList = [...new Set(hostFilter(hosts, `${req} field hosts`).expand())];
  const out = {
    records: [] as InvalidRecord[],
    ranks: new Set<number>(),
    hosts: new Set<string>(),
  };
  const hit = new Set<InvalidRecord>();
  for (const r of records) {
    if (r.rank !== null && rankSet.contains(r.rank)) {
      out.ranks.add(r.rank);
      hit.add(r);
    }
  }
  const index = byAddrKey(records.filter((r) => r.addr !== ""));
  for (const h of hostList) {
    const hits = index.get(hostKey(h, defaultPort));
    if (!hits) continue;
    out.hosts.add(h);
    for (const r of hits) hit.add(r);
  }
  out.records = records.filter((r) => hit.has(r));
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
function stateLabel(state: MemberStateWireName): string {
  return stateName(wireStateValue(state));
}
