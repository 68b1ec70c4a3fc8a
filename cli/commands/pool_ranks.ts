/**
 * `dmg pool exclude|drain|reintegrate|extend` and `dmg system drain|reintegrate` (the
 * reference's dmg pool.go poolRanksCmd family and system drain): ranks given as a rank set,
 * results printed as the reference's Pool/Ranks/Result/Reason table (PrintPoolRankResults).
 */
import type { Command } from "commander";
import * as api from "../../control/lib/control/pool.ts";
import { DaosStatusError, daosStatusString } from "../../control/lib/fault.ts";
import { parseRankSet, RankSet } from "../../control/lib/rankset.ts";
import { formatTable } from "../../control/lib/txtfmt.ts";
import type { GoJsonValue } from "../output/gojson.ts";
import { render, request } from "../render.ts";
import { type CommandContext, type RegisterCommands } from "./context.ts";
import { type RankHostFlags, rankHostSelection } from "./system.ts";

/** One row of the results table: an operation's outcome on some ranks of one pool. */
export interface PoolRanksResult {
  status: number;
  msg: string;
  poolId: string;
  /** Ranged rank set text, e.g. `0-2,5`. */
  ranks: string;
}

/** The reference's PrintPoolRankResults: `Pool Ranks Result Reason` (OK/-, FAIL/msg). */
export function printPoolRankResults(results: readonly PoolRanksResult[]): string {
  if (results.length === 0) return "No pool ranks processed";
  const rows = results.map((r) => ({
    Pool: r.poolId,
    Ranks: r.ranks,
    Result: r.status === 0 ? "OK" : "FAIL",
    Reason: r.status === 0 ? "-" : r.msg,
  }));
  // The reference prints the table and then a newline: an empty line follows it.
  return formatTable(["Pool", "Ranks", "Result", "Reason"], rows) + "\n";
}

/** The command's error when any result failed: names each failed pool and its ranks. */
export function poolRankResultsError(
  op: string,
  results: readonly PoolRanksResult[],
): string | undefined {
  const failed = results.filter((r) => r.status !== 0);
  if (failed.length === 0) return undefined;
  return failed.map((r) => `${op} failed on pool ${r.poolId} rank(s) ${r.ranks}: ${r.msg}`)
    .join("; ");
}

/** `-j` payload of the result rows (reference PoolRankResult field names). */
export function poolRankResultsJson(results: readonly PoolRanksResult[]): GoJsonValue {
  return results.map((r) => ({
    status: r.status,
    msg: r.msg,
    pool_id: r.poolId,
    ranks: r.ranks,
  }));
}

/**
 * `--target-idx`: a comma-separated list of target indexes (the reference's
 * ParseNumberList); empty = every target of the rank.
 */
export function parseTargetIdx(text: string | undefined): number[] {
  if (text === undefined || text.trim() === "") return [];
  return text.split(",").map((t) => {
    const s = t.trim();
    if (!/^\d+$/.test(s) || Number(s) > 0xFFFFFFFF) {
      throw new Error(
        `parsing target list: invalid target index "${s}" in "${text}" ` +
          "(want comma-separated numbers, e.g. 0,1,2)",
      );
    }
    return Number(s);
  });
}

/** `--ranks`: a non-empty rank set (required, as the reference's `required:"1"`). */
export function parsePoolRanks(text: string | undefined): RankSet {
  if (text === undefined || text.trim() === "") {
    throw new Error("the required flag `--ranks' was not specified");
  }
  const set = parseRankSet(text);
  if (set.empty) throw new Error(`--ranks ${JSON.stringify(text)} selects no ranks`);
  return set;
}

/** Splits requested ranks into an OK row (the `done` ones) and a FAIL row (the rest). */
export function splitRankResults(
  poolId: string,
  requested: RankSet,
  done: readonly number[] | undefined,
  status: number,
): PoolRanksResult[] {
  const ok = status === 0 || done === undefined ? undefined : RankSet.fromRanks(done);
  const out: PoolRanksResult[] = [];
  if (status === 0) {
    out.push({ status: 0, msg: "", poolId, ranks: requested.toString() });
    return out;
  }
  if (ok && !ok.empty) out.push({ status: 0, msg: "", poolId, ranks: ok.toString() });
  const failed = ok ? requested.minus(ok) : requested;
  if (!failed.empty) {
    out.push({ status, msg: daosStatusString(status), poolId, ranks: failed.toString() });
  }
  return out;
}

/** The three per-pool rank operations. */
export type PoolRanksOp = "exclude" | "drain" | "reintegrate";

async function msArgs(ctx: CommandContext) {
  return {
    sys: (await ctx.config()).name,
    inv: await ctx.invoker(),
    opts: await ctx.msOptions(),
  };
}

/** `dmg pool exclude|drain|reintegrate <pool> --ranks R [--target-idx T]`. */
export async function poolRanksOp(
  ctx: CommandContext,
  op: PoolRanksOp,
  id: string,
  flags: { ranks?: string; targetIdx?: string },
): Promise<void> {
  // Both are checked before any request.
  const targetIdx = parseTargetIdx(flags.targetIdx);
  const ranks = parsePoolRanks(flags.ranks);
  const results = await request(ctx, "", async () => {
    const { sys, inv, opts } = await msArgs(ctx);
    const req = { sys, id, ranks: ranks.ranks(), targetIdx };
    if (op === "exclude") {
      const r = await api.poolExclude(inv, opts, req);
      return splitRankResults(id, ranks, undefined, r.status);
    }
    if (op === "drain") {
      const r = await api.poolDrain(inv, opts, req);
      return splitRankResults(id, ranks, r.drainedRanks, r.status);
    }
    const r = await api.poolReintegrate(inv, opts, req);
    return splitRankResults(id, ranks, r.reintedRanks, r.status);
  });
  render(ctx, {
    json: () => poolRankResultsJson(results),
    text: () => [["info", printPoolRankResults(results)]],
    error: poolRankResultsError(`pool ${op}`, results),
  });
}

/** `dmg pool extend <pool> --ranks R`: `Extend command succeeded|failed: <error>`. */
export async function poolExtend(
  ctx: CommandContext,
  id: string,
  flags: { ranks?: string },
): Promise<void> {
  const ranks = parsePoolRanks(flags.ranks);
  let error: Error | undefined;
  try {
    const { sys, inv, opts } = await msArgs(ctx);
    const r = await api.poolExtend(inv, opts, { sys, id, ranks: ranks.ranks() });
    if (r.status !== 0) throw new DaosStatusError(r.status);
  } catch (e) {
    error = e instanceof Error ? e : new Error(String(e));
  }
  render(ctx, {
    json: () => null,
    text: () => [[
      "info",
      error ? `Extend command failed: ${error.message}` : "Extend command succeeded",
    ]],
    error,
  });
}

/** `dmg system drain|reintegrate --ranks R | --rank-hosts H`: drains them in every pool. */
export async function systemDrain(
  ctx: CommandContext,
  flags: RankHostFlags,
  reint: boolean,
): Promise<void> {
  const sel = rankHostSelection(flags);
  if (sel.ranks === "" && sel.hosts === "") {
    throw new Error("no ranks or hosts specified (use --ranks or --rank-hosts)");
  }
  const resp = await request(ctx, "", async () => {
    const { sys, inv, opts } = await msArgs(ctx);
    return await api.systemDrain(inv, opts, { sys, ...sel, reint });
  });
  const results: PoolRanksResult[] = resp.results.map((r) => ({
    status: r.status,
    msg: r.msg,
    poolId: r.poolId,
    ranks: r.ranks,
  }));
  render(ctx, {
    json: () => ({ reint: resp.reint, results: poolRankResultsJson(results) }),
    text: () => [["info", printPoolRankResults(results)]],
    error: poolRankResultsError(reint ? "system reintegrate" : "system drain", results),
  });
}

const RANKS_HELP = "Comma-separated list of rank-range strings to operate on for a single pool";

/** Registers exclude/drain/reintegrate/extend under `dmg pool`. */
export function registerPoolRanks(pool: Command, run: Parameters<RegisterCommands>[1]): void {
  const ops: Array<[PoolRanksOp, string, string]> = [
    ["exclude", "Exclude targets from a rank", "excluded from each rank"],
    ["drain", "Drain targets from a rank", "drained on each rank"],
    ["reintegrate", "Reintegrate targets for a rank", "reintegrated into each rank"],
  ];
  for (const [op, desc, idx] of ops) {
    pool.command(op).description(desc)
      .option("--ranks <ranks>", RANKS_HELP)
      .option("--target-idx <idx>", `Comma-separated list of target index(es) to be ${idx}`)
      .argument("<pool>", "pool label or UUID")
      .action(
        run((ctx, id: string, f: { ranks?: string; targetIdx?: string }) =>
          poolRanksOp(ctx, op, id, f)
        ),
      );
  }
  pool.command("extend").description("Extend a DAOS pool to include new ranks.")
    .option("--ranks <ranks>", RANKS_HELP)
    .argument("<pool>", "pool label or UUID")
    .action(run((ctx, id: string, f: { ranks?: string }) => poolExtend(ctx, id, f)));
}

/** Registers `dmg system drain` and `dmg system reintegrate`. */
export function registerSystemDrain(system: Command, run: Parameters<RegisterCommands>[1]): void {
  for (
    const [name, reint, desc] of [
      ["drain", false, "Drain ranks or hosts from all relevant pools"],
      ["reintegrate", true, "Reintegrate ranks or hosts to all relevant pools"],
    ] as const
  ) {
    system.command(name).description(desc)
      .option("-r, --ranks <ranks>", "comma-separated list of ranks or rank ranges (e.g. 0,2,4-8)")
      .option("--rank-hosts <hosts>", "hostlist of hosts whose ranks are selected (e.g. foo-[1-4])")
      .action(run((ctx, f: RankHostFlags) => systemDrain(ctx, f, reint)));
  }
}
