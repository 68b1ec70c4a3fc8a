/**
 * Printers for `dmg system …` (dmg.md §5.1–§5.6): pure functions from the MS response
 * messages to the text dmg prints (`out` → INFO/stdout, `err` → one ERROR call/stderr), the
 * command's error, and the `-j` payload shapes.
 */
import type { LeaderQueryResp } from "../../proto/gen/ts/mgmt/svc_pb.ts";
import type {
  SystemEraseResp,
  SystemExcludeResp,
  SystemMember,
  SystemQueryResp,
  SystemStartResp,
  SystemStopResp,
} from "../../proto/gen/ts/mgmt/system_pb.ts";
import type { RankResult } from "../../proto/gen/ts/shared/ranks_pb.ts";
import { compareBytes, parseHostSet } from "../../control/lib/hostlist.ts";
import { groupRanks, parseRankSet, type RankGroup, RankSet } from "../../control/lib/rankset.ts";
import { parseStateName, stateName } from "../../control/lib/states.ts";
import { formatTable } from "../../control/lib/txtfmt.ts";
import { plural } from "../../control/lib/txtfmt.ts";
import type { GoJsonValue } from "../output/gojson.ts";

/** Text for both streams; either may be empty. */
export interface Printed {
  /** For INFO (stdout). */
  out: string;
  /** For one ERROR call (stderr, `ERROR: ` before its first line). */
  err: string;
}

/** Capitalised state name for a wire (lower-case) state; unknown strings give `Unknown`. */
export function displayState(wire: string): string {
  try {
    return stateName(parseStateName(wire));
  } catch {
    return "Unknown";
  }
}

/** Adds a group of `extra` ranks under `key`, keeping the §7.4 order (size desc, key asc). */
function withExtraGroup(groups: RankGroup[], key: string, extra: RankSet): RankGroup[] {
  if (extra.count === 0) return groups;
  return [...groups, { key, ranks: extra }].sort((a, b) =>
    b.ranks.count - a.ranks.count || compareBytes(a.key, b.key)
  );
}

function absentRanks(s: string): RankSet {
  return s.trim() === "" ? RankSet.fromRanks([]) : parseRankSet(s);
}

function absentHostsLine(hosts: string): string {
  if (hosts.trim() === "") return "";
  const hs = parseHostSet(hosts);
  return hs.count === 0 ? "" : `Unknown ${plural(hs.count, "host")}: ${hs.toString()}\n`;
}

function absentRanksLine(ranks: RankSet): string {
  return ranks.count === 0 ? "" : `Unknown ${plural(ranks.count, "rank")}: ${ranks.toString()}\n`;
}

/**
 * Error for requested hosts/ranks the MS does not know: `non-existent hosts X, non-existent
 * ranks Y` (or undefined when nothing is absent).
 */
export function absentError(absenthosts: string, absentranks: string): string | undefined {
  const parts: string[] = [];
  if (absenthosts.trim() !== "") parts.push(`non-existent hosts ${parseHostSet(absenthosts)}`);
  const r = absentRanks(absentranks);
  if (r.count > 0) parts.push(`non-existent ranks ${r.toString()}`);
  return parts.length > 0 ? parts.join(", ") : undefined;
}

const selfHealFlags = ["exclude", "pool_exclude", "pool_rebuild"] as const;

/** The self_heal warning line (empty when all flags are enabled). */
export function selfHealLine(policy: string): string {
  const enabled = new Set(policy.split(/[;,]/).map((f) => f.trim().toLowerCase()));
  const disabled = selfHealFlags.filter((f) => !enabled.has(f));
  if (disabled.length === 0) return "";
  const word = disabled.length === 1 ? "flag" : "flags";
  return `System property self_heal ${word} disabled: ${disabled.join(", ")}\n`;
}

/** Options of `system query` printing. */
export interface QueryPrintOptions {
  verbose: boolean;
}

/** Text output of `dmg system query` (§5.1). */
export function printSystemQuery(resp: SystemQueryResp, opts: QueryPrintOptions): Printed {
  const absent = absentRanks(resp.absentranks);
  let out: string;
  if (resp.members.length === 0) {
    out = "Query matches no ranks in system\n";
  } else if (opts.verbose) {
    out = formatTable(
      ["Rank", "UUID", "Control Address", "Fault Domain", "State", "Reason"],
      resp.members.map((m) => ({
        "Rank": String(m.rank),
        "UUID": m.uuid,
        "Control Address": m.addr,
        "Fault Domain": m.faultDomain === "" ? "/" : m.faultDomain,
        "State": displayState(m.state),
        "Reason": m.info,
      })),
    ) + "\n";
  } else {
    const groups = withExtraGroup(
      groupRanks(
        resp.members.map((m) => [m.rank, displayState(m.state)] as const),
        (r) => `member with rank ${r} already exists`,
      ),
      "Unknown Rank",
      absent,
    );
    out = formatTable(
      ["Rank", "State"],
      groups.map((g) => ({ Rank: g.ranks.toRangedString(), State: g.key })),
    ) + "\n";
  }
  let err = absentHostsLine(resp.absenthosts);
  if (opts.verbose || resp.members.length === 0) err += absentRanksLine(absent);
  out += selfHealLine(resp.sysSelfHealPolicy);
  return { out, err };
}

/** The error `system query` returns (absent hosts/ranks), or undefined. */
export function systemQueryError(resp: SystemQueryResp): string | undefined {
  return absentError(resp.absenthosts, resp.absentranks);
}

function memberJson(m: SystemMember): GoJsonValue {
  return {
    addr: m.addr,
    state: m.state.toLowerCase(),
    fault_domain: m.faultDomain,
    rank: m.rank,
    incarnation: m.incarnation,
    uuid: m.uuid,
    fabric_uri: m.fabricUri,
    secondary_fabric_uris: m.secondaryFabricUris.length > 0 ? [...m.secondaryFabricUris] : null,
    fabric_contexts: m.fabricContexts,
    // Not carried by our proto; DAOS writes null when there are no secondary providers.
    secondary_fabric_contexts: null,
    info: m.info,
    last_update: m.lastUpdate,
  };
}

/** `-j` payload of `system query`. */
export function systemQueryJson(resp: SystemQueryResp): GoJsonValue {
  return {
    members: resp.members.length > 0 ? resp.members.map(memberJson) : null,
    providers: resp.providers.length > 0 ? [...resp.providers] : null,
    sys_self_heal_policy: resp.sysSelfHealPolicy,
  };
}

function resultGroups(results: readonly RankResult[]) {
  return groupRanks(
    results.map((r) => {
      if (r.action === "") throw new Error(`action field empty for rank ${r.rank} result`);
      const outcome = r.errored ? r.msg.replace(/\t/g, " ") : "OK";
      return [r.rank, `${r.action}\t${outcome}`] as const;
    }),
    () => "duplicate result for rank",
  );
}

/** Text output of `system stop` / `system start` (§5.2, §5.3). */
export function printRankResults(resp: SystemStopResp | SystemStartResp): Printed {
  const absent = absentRanks(resp.absentranks);
  const err = absentHostsLine(resp.absenthosts);
  if (resp.results.length === 0) {
    return { out: "No results returned\n", err: err + absentRanksLine(absent) };
  }
  const groups = withExtraGroup(resultGroups(resp.results), "----\tUnknown Rank", absent);
  const out = formatTable(
    ["Rank", "Operation", "Result"],
    groups.map((g) => {
      const [op, result] = g.key.split("\t");
      return { Rank: g.ranks.toRangedString(), Operation: op, Result: result };
    }),
  ) + "\n";
  return { out, err };
}

/** `failed rank 4` / `failed ranks 0-2,5`, or undefined when nothing errored. */
export function failedRanksText(results: readonly RankResult[]): string | undefined {
  const failed = RankSet.fromRanks(results.filter((r) => r.errored).map((r) => r.rank));
  if (failed.count === 0) return undefined;
  return `failed ${failed.count === 1 ? "rank" : "ranks"} ${failed.toString()}`;
}

/**
 * The error of `system stop`/`start` (without the command prefix): absent part, then
 * `check results for failed rank(s) …`, joined with `, `.
 */
export function rankResultsError(resp: SystemStopResp | SystemStartResp): string | undefined {
  const parts: string[] = [];
  const absent = absentError(resp.absenthosts, resp.absentranks);
  if (absent !== undefined) parts.push(absent);
  const failed = failedRanksText(resp.results);
  if (failed !== undefined) parts.push(`check results for ${failed}`);
  return parts.length > 0 ? parts.join(", ") : undefined;
}

function rankResultJson(r: RankResult): GoJsonValue {
  return {
    state: r.state.toLowerCase(),
    Addr: r.addr,
    Rank: r.rank,
    Action: r.action,
    Errored: r.errored,
    Msg: r.msg,
  };
}

/** `-j` payload of stop/start/exclude: `{"Results": [...]}` (Go field name, no tag). */
export function rankResultsJson(
  resp: SystemStopResp | SystemStartResp | SystemExcludeResp,
): GoJsonValue {
  return { Results: resp.results.length > 0 ? resp.results.map(rankResultJson) : null };
}

/** Text of `system exclude` / `clear-exclude` (§5.4). */
export function printExclude(resp: SystemExcludeResp): Printed {
  const failed = failedRanksText(resp.results);
  const all = RankSet.fromRanks(resp.results.map((r) => r.rank));
  return {
    out: `updated ranks: ${all.toString()}\n`,
    err: failed === undefined ? "" : `Errors: ${failed}\n`,
  };
}

/** Error of `system exclude`/`erase`: `failed rank(s) …`, or undefined. */
export function excludeError(resp: SystemExcludeResp | SystemEraseResp): string | undefined {
  return failedRanksText(resp.results);
}

/** Options of `leader-query` printing. */
export interface LeaderPrintOptions {
  /** `-N`: only the unresponsive replicas line. */
  downOnly: boolean;
}

/** Text of `system leader-query` (§5.6). */
export function printLeaderQuery(resp: LeaderQueryResp, opts: LeaderPrintOptions): Printed {
  const down = `Unresponsive Replicas: ${resp.DownReplicas.join(", ")}\n`;
  if (opts.downOnly) return { out: down, err: "" };
  return {
    out: `Current Leader: ${resp.currentLeader}\n` +
      `   Replica Set: ${resp.replicas.join(", ")}\n` +
      `  ${down}`,
    err: "",
  };
}

/** `-j` payload of `leader-query`. */
export function leaderQueryJson(resp: LeaderQueryResp): GoJsonValue {
  return {
    current_leader: resp.currentLeader,
    replicas: resp.replicas.length > 0 ? [...resp.replicas] : null,
    down_replicas: resp.DownReplicas.length > 0 ? [...resp.DownReplicas] : null,
  };
}
