/**
 * `dmg pool list` and `dmg system list-pools` (spec/dmg.md §5.13, §5.7): ListPools, then a
 * PoolQuery per Ready pool unless `-n`; failed queries become stderr warnings (exit 1 in text
 * mode, never in JSON); sorting by label; the default, no-space and `-v` tables.
 */
import type { Command } from "commander";
import * as api from "../../control/lib/control/pool.ts";
import {
  type PoolInfo,
  poolInfoFromList,
  poolInfoFromQuery,
  poolInfoJson,
  poolName,
  poolUsage,
} from "../../control/lib/control/pool_info.ts";
import { DaosStatusError, daosStatusString, errorText } from "../../control/lib/fault.ts";
import { RankSet } from "../../control/lib/rankset.ts";
import { formatBytes } from "../../control/lib/sizes.ts";
import { formatTable, type TableRow } from "../../control/lib/txtfmt.ts";
import { render, request } from "../render.ts";
import { type CommandContext, commandGroup, DEFAULT_QUERY_MS, type Runner } from "./context.ts";

/** `pool list` flags. */
export interface PoolListFlags {
  verbose?: boolean;
  noQuery?: boolean;
  rebuildOnly?: boolean;
}

/** PoolQuery calls `pool list` keeps in flight at once. */
export const LIST_QUERY_CONCURRENCY = 8;

/** A listed pool and, when its query failed, why. */
export interface ListedPool {
  info: PoolInfo;
  /** `error: "<text>"` or `status: "<DER string>"` of a failed query. */
  queryFailure?: string;
}

/**
 * The pools of the system: ListPools, then (unless `noQuery`) a PoolQuery of every Ready
 * pool, {@link LIST_QUERY_CONCURRENCY} at a time, each failure remembered; sorted by label
 * unless `noQuery`.
 */
export async function listPools(
  ctx: CommandContext,
  noQuery: boolean,
): Promise<ListedPool[]> {
  return await request(ctx, "list pools failed", async () => {
    const sys = (await ctx.config()).name;
    const inv = await ctx.invoker();
    const resp = await api.listPools(inv, await ctx.msOptions(DEFAULT_QUERY_MS), { sys });
    if (resp.status !== 0) throw new DaosStatusError(resp.status);
    const pools: ListedPool[] = resp.pools.map((p) => ({ info: poolInfoFromList(p) }));
    if (noQuery) return pools;
    const query = async (p: ListedPool) => {
      try {
        const q = await api.poolQuery(inv, await ctx.msOptions(DEFAULT_QUERY_MS), {
          sys,
          id: p.info.uuid,
          queryMask: 0n,
        });
        if (q.status !== 0) {
          p.queryFailure = `status: ${JSON.stringify(daosStatusString(q.status))}`;
          return;
        }
        if (q.uuid !== p.info.uuid) {
          throw new Error("pool query response uuid does not match request");
        }
        const { label, svcReps, state } = p.info;
        p.info = poolInfoFromQuery(q);
        // The list entry names the pool and gives its state (§5.13 shows `Ready` even with
        // disabled targets: no TargetsExcluded fix-up here); the reply may leave these empty.
        p.info.state = state;
        if (p.info.label === "") p.info.label = label;
        if (p.info.svcReps.length === 0) p.info.svcReps = svcReps;
      } catch (e) {
        if (e instanceof Error && e.message.startsWith("pool query response uuid")) throw e;
        p.queryFailure = `error: ${JSON.stringify(errorText(e) || "unknown error")}`;
      }
    };
    // A few at a time, started in list order (the reference queries one after the other: 100
    // pools took ~1 s that way); what is printed does not depend on the order answers come in.
    const ready = pools.filter((p) => p.info.state === "Ready");
    let next = 0;
    const worker = async () => {
      while (next < ready.length) await query(ready[next++]);
    };
    await Promise.all(
      Array.from({ length: Math.min(LIST_QUERY_CONCURRENCY, ready.length) }, worker),
    );
    // Stable sort by label, byte-wise (unlabelled first).
    pools.sort((a, b) => a.info.label < b.info.label ? -1 : a.info.label > b.info.label ? 1 : 0);
    return pools;
  });
}

function upgradeText(pi: PoolInfo): string {
  return pi.poolLayoutVer < pi.upgradeLayoutVer
    ? `${pi.poolLayoutVer}->${pi.upgradeLayoutVer}`
    : "None";
}

function hasSpace(pi: PoolInfo): boolean {
  return (pi.tierStats?.length ?? 0) > 0;
}

/** The pool list table(s) of §5.13 ("No pools in system" when empty), with the final blank line. */
export function printPoolList(pools: readonly PoolInfo[], verbose: boolean): string {
  if (pools.length === 0) return "No pools in system\n";
  const space = pools.some(hasSpace);
  const upgrade = pools.some((p) => p.poolLayoutVer < p.upgradeLayoutVer);
  if (!verbose) {
    const titles = space
      ? [
        "Pool",
        "Size",
        "State",
        "Used",
        "Imbalance",
        "Disabled",
        ...(upgrade ? ["UpgradeNeeded?"] : []),
      ]
      : ["Pool", "State"];
    const rows: TableRow[] = pools.map((p) => {
      const row: Record<string, string> = { Pool: poolName(p), State: p.state };
      if (space) {
        // The last non-empty tier.
        const tiers = poolUsage(p).filter((u) => u.size > 0n);
        const t = tiers[tiers.length - 1];
        row.Size = formatBytes(t?.size ?? 0n);
        row.Used = `${t ? api.usedPercent(t.size, t.free) : 0}%`;
        row.Imbalance = `${t?.imbalance ?? 0}%`;
        row.Disabled = `${p.disabledTargets}/${p.totalTargets}`;
        row["UpgradeNeeded?"] = upgradeText(p);
      }
      return row;
    });
    return formatTable(titles, rows) + "\n";
  }
  const rebuild = pools.some((p) => p.rebuild !== undefined);
  const md = pools.some((p) => p.mdOnSsdActive);
  const tierNames = md ? ["Meta", "Data"] : ["SCM", "NVME"];
  const titles = ["Label", "UUID", "State", "SvcReps"];
  if (space) {
    for (const n of tierNames) titles.push(`${n} Size`, `${n} Used`, `${n} Imbalance`);
    titles.push("Disabled", "UpgradeNeeded?");
  }
  if (rebuild) titles.push("Rebuild State");
  const rows: TableRow[] = pools.map((p) => {
    const row: Record<string, string> = {
      Label: p.label === "" ? "-" : p.label,
      UUID: p.uuid,
      State: p.state,
      SvcReps: p.svcReps.length === 0 ? "N/A" : RankSet.fromRanks(p.svcReps).toRangedString(),
    };
    if (space) {
      const usage = poolUsage(p);
      tierNames.forEach((n, i) => {
        const u = usage[i];
        row[`${n} Size`] = formatBytes(u?.size ?? 0n);
        row[`${n} Used`] = formatBytes(u ? (u.size > u.free ? u.size - u.free : 0n) : 0n);
        row[`${n} Imbalance`] = `${u?.imbalance ?? 0}%`;
      });
      row.Disabled = `${p.disabledTargets}/${p.totalTargets}`;
      row["UpgradeNeeded?"] = upgradeText(p);
    }
    if (rebuild) row["Rebuild State"] = p.rebuild?.state ?? "Unknown";
    return row;
  });
  return formatTable(titles, rows) + "\n";
}

/** `dmg pool list` / `dmg system list-pools`. */
export async function poolList(ctx: CommandContext, f: PoolListFlags): Promise<void> {
  const all = await listPools(ctx, f.noQuery === true);
  let pools = all;
  if (f.rebuildOnly) {
    pools = pools.filter((p) => p.info.rebuild !== undefined && p.info.rebuild.state !== "idle");
  }
  const failed = pools.filter((p) => p.queryFailure !== undefined);
  const warnings = failed.map((p) =>
    `Query on pool "${poolName(p.info)}" unsuccessful, ${p.queryFailure}`
  );
  const shown = pools.filter((p) => p.queryFailure === undefined).map((p) => p.info);
  render(ctx, {
    json: () => ({ status: 0, pools: pools.map((p) => poolInfoJson(p.info)) }),
    text: () => [
      // The warnings, then an empty line (§5.13 example).
      ["error", warnings.length ? warnings.join("\n") + "\n\n" : ""],
      ["info", printPoolList(shown, f.verbose === true)],
    ],
    error: warnings.length ? warnings.join("\n") : undefined,
    // JSON mode: query failures are not reported, exit 0 (dmg.md §5.13).
    jsonErrorInPayload: true,
  });
}

function listCommand(group: Command, name: string, run: Runner): Command {
  return group.command(name)
    .option("-v, --verbose", "add pool UUIDs and service replica lists to display")
    .option("-n, --no-query", "disable query of listed pools")
    .option("-r, --rebuild-only", "list only pools which rebuild stats is not idle")
    .action(
      run((ctx, o: { verbose?: boolean; query?: boolean; rebuildOnly?: boolean }) =>
        poolList(ctx, {
          verbose: o.verbose,
          noQuery: o.query === false,
          rebuildOnly: o.rebuildOnly,
        })
      ),
    );
}

/** Registers `dmg pool list` (alias `ls`) and `dmg system list-pools`. */
export function registerPoolList(program: Command, pool: Command, run: Runner): void {
  listCommand(pool, "list", run).alias("ls").description("List DAOS pools");
  const system = commandGroup(
    program,
    "system",
    "sys",
    "Perform distributed tasks related to DAOS system",
  );
  listCommand(system, "list-pools", run).description("List all pools in the DAOS system");
}
