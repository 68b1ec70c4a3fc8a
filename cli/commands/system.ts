/**
 * `dmg system query|stop|start|exclude|clear-exclude|erase|leader-query` (dmg.md §5.1–§5.6):
 * flags → request → control API (control/lib/control/system.ts) → printers/system.ts through
 * render (the `-j` envelope carries the error without the command prefix, the fatal line has
 * it).
 */
import { type Command, Option } from "commander";
import type { Invoker } from "../../control/lib/control/invoker.ts";
import * as api from "../../control/lib/control/system.ts";
import { MAX_EXPANDED_HOSTS, parseHostSet } from "../../control/lib/hostlist.ts";
import { parseRankSet } from "../../control/lib/rankset.ts";
import { ALL_STATES_MASK, NOT_OK_MASK, parseStateMask } from "../../control/lib/states.ts";
import type { SystemStartResp, SystemStopResp } from "../../proto/gen/ts/mgmt/system_pb.ts";
import * as print from "../printers/system.ts";
import { registerEventCommands } from "./events.ts";
import { registerSystemDrain } from "./pool_ranks.ts";
import { type Line, render, request } from "../render.ts";
import { type CommandContext, DEFAULT_QUERY_MS, type RegisterCommands } from "./context.ts";

/** `-r/--ranks` and `--rank-hosts`, shared by most system commands. */
export interface RankHostFlags {
  ranks?: string;
  rankHosts?: string;
}

/** Flags of `system query`. */
export interface QueryFlags extends RankHostFlags {
  verbose?: boolean;
  notOk?: boolean;
  withStates?: string;
}

/** Flags of `system stop`. */
export interface StopFlags extends RankHostFlags {
  force?: boolean;
  full?: boolean;
  ignoreAdminExcluded?: boolean;
}

/** Flags of `system start`. */
export interface StartFlags extends RankHostFlags {
  ignoreAdminExcluded?: boolean;
}

/** Flags of `system leader-query`. */
export interface LeaderFlags {
  downReplicas?: boolean;
}

/** Rank and host strings as sent on the wire (ranks without brackets, ranged hosts). */
export interface RankHostSelection {
  ranks: string;
  hosts: string;
}

/**
 * Checks and normalises `--ranks` / `--rank-hosts` (both set → error; parse errors from the
 * rank-set and host-list parsers).
 */
export function rankHostSelection(f: RankHostFlags): RankHostSelection {
  const ranks = f.ranks ?? "";
  const hosts = f.rankHosts ?? "";
  if (ranks !== "" && hosts !== "") {
    throw new Error("--ranks and --rank-hosts options cannot be set together");
  }
  const set = parseHostSet(hosts);
  // The MS refuses to expand more than MAX_EXPANDED_HOSTS: say so here, before any request
  // (expand() throws that error at once, without writing a host out).
  if (set.count > MAX_EXPANDED_HOSTS) set.expand();
  return {
    ranks: ranks === "" ? "" : parseRankSet(ranks).toString(),
    hosts: hosts === "" ? "" : set.toString(),
  };
}

/** State mask of `system query`: all, everything but Joined (`--not-ok`), or `--with-states`. */
export function queryStateMask(f: QueryFlags): number {
  if (f.notOk && f.withStates !== undefined) {
    throw new Error("--not-ok and --with-states options cannot be set together");
  }
  if (f.notOk) return NOT_OK_MASK;
  if (f.withStates !== undefined) return parseStateMask(f.withStates);
  return ALL_STATES_MASK;
}

/** Checks the stop flag combinations (dmg.md §5.2). */
export function checkStopFlags(f: StopFlags): void {
  if (f.ranks && f.rankHosts) {
    throw new Error("--ranks and --rank-hosts options cannot be set together");
  }
  if (f.full && f.force) throw new Error("--force may not be mixed with --full");
  if (f.full && f.rankHosts) throw new Error("--full may not be mixed with --rank-hosts");
  if (f.full && f.ranks) throw new Error("--full may not be mixed with --ranks");
}

/** Exclude/clear-exclude need exactly one of `--ranks` / `--rank-hosts`. */
export function excludeSelection(f: RankHostFlags): RankHostSelection {
  const sel = rankHostSelection(f);
  if (sel.ranks === "" && sel.hosts === "") throw new Error("no ranks or hosts specified");
  return sel;
}

/**
 * A system command's MS request (see render.ts `request`): the configured system name, the
 * Invoker and the MS options (deadline `--timeout` or `deadlineMs`) handed to `send`.
 */
function askMs<T>(
  ctx: CommandContext,
  prefix: string,
  send: (inv: Invoker, opts: api.MsOptions, sys: string) => Promise<T>,
  deadlineMs?: number,
): Promise<T> {
  return request(ctx, prefix, async () => {
    const sys = (await ctx.config()).name;
    return send(await ctx.invoker(), await ctx.msOptions(deadlineMs), sys);
  });
}

/** `dmg system query`. */
export async function systemQuery(ctx: CommandContext, f: QueryFlags): Promise<void> {
  const sel = rankHostSelection(f);
  const stateMask = queryStateMask(f);
  const prefix = "system query failed";
  const resp = await askMs(
    ctx,
    prefix,
    (inv, o, sys) => api.systemQuery(inv, o, { sys, ...sel, stateMask }),
    DEFAULT_QUERY_MS,
  );
  render(ctx, {
    json: () => print.systemQueryJson(resp),
    text: () => printed(print.printSystemQuery(resp, { verbose: f.verbose === true })),
    error: print.systemQueryError(resp),
  }, prefix);
}

/** `dmg system stop`. The wire `force` is `!--full` (quirk 1 of dmg.md §11, kept). */
export async function systemStop(ctx: CommandContext, f: StopFlags): Promise<void> {
  checkStopFlags(f);
  const sel = rankHostSelection(f);
  const prefix = "system stop failed";
  const ignoreAdminExcluded = f.ignoreAdminExcluded === true;
  const resp = await askMs(
    ctx,
    prefix,
    (inv, o, sys) => api.systemStop(inv, o, { sys, ...sel, force: !f.full, ignoreAdminExcluded }),
  );
  renderRankResults(ctx, resp, prefix);
}

/** `dmg system start`. */
export async function systemStart(ctx: CommandContext, f: StartFlags): Promise<void> {
  const sel = rankHostSelection(f);
  const prefix = "system start failed";
  const ignoreAdminExcluded = f.ignoreAdminExcluded === true;
  const resp = await askMs(
    ctx,
    prefix,
    (inv, o, sys) =>
      api.systemStart(inv, o, { sys, ...sel, checkMode: false, ignoreAdminExcluded }),
  );
  renderRankResults(ctx, resp, prefix);
}

/** Output of stop/start: the rank results table, `check results for failed rank(s)`. */
function renderRankResults(
  ctx: CommandContext,
  resp: SystemStopResp | SystemStartResp,
  prefix: string,
): void {
  render(ctx, {
    json: () => print.rankResultsJson(resp),
    text: () => printed(print.printRankResults(resp)),
    error: print.rankResultsError(resp),
  }, prefix);
}

/** `dmg system exclude` (`clear` false) / `clear-exclude` (`clear` true). */
export async function systemExclude(
  ctx: CommandContext,
  f: RankHostFlags,
  clear: boolean,
): Promise<void> {
  const sel = excludeSelection(f);
  const resp = await askMs(
    ctx,
    "",
    (inv, o, sys) => api.systemExclude(inv, o, { sys, ...sel, clear }),
  );
  render(ctx, {
    json: () => print.rankResultsJson(resp),
    text: () => printed(print.printExclude(resp)),
    error: print.excludeError(resp),
  });
}

/** `dmg system erase` (no JSON payload: the envelope is written at exit). */
export async function systemErase(ctx: CommandContext): Promise<void> {
  const sys = (await ctx.config()).name;
  const resp = await api.systemErase(await ctx.invoker(), await ctx.msOptions(undefined, true), {
    sys,
  });
  const error = print.excludeError(resp);
  if (error !== undefined) throw new Error(error);
}

/** `dmg system leader-query`: asks the MS, then every replica; failed ones are "down". */
export async function systemLeaderQuery(ctx: CommandContext, f: LeaderFlags): Promise<void> {
  const replicaTimeoutMs = ctx.timeoutMs(DEFAULT_QUERY_MS);
  const resp = await askMs(
    ctx,
    "leader query failed",
    (inv, o, sys) => api.leaderQuery(inv, { ...o, replicaTimeoutMs }, { sys }),
    DEFAULT_QUERY_MS,
  );
  render(ctx, {
    json: () => print.leaderQueryJson(resp),
    text: () => printed(print.printLeaderQuery(resp, { downOnly: f.downReplicas === true })),
  });
}

/** The text records of a system printer: stdout part, then the stderr part. */
function printed(p: print.Printed): Line[] {
  return [["info", p.out], ["error", p.err]];
}

function rankHostOptions(cmd: Command): Command {
  return cmd
    .option("-r, --ranks <ranks>", "comma-separated list of ranks or rank ranges (e.g. 0,2,4-8)")
    .option("--rank-hosts <hosts>", "hostlist of hosts whose ranks are selected (e.g. foo-[1-4])");
}

/** Registers `dmg system` (alias `sys`) and its sub-commands. */
export const registerSystemCommands: RegisterCommands = (program, run) => {
  const system = program.command("system").alias("sys").description(
    "Perform distributed tasks related to DAOS system",
  );

  rankHostOptions(system.command("query").description("Query DAOS system status"))
    .option("-v, --verbose", "display more member details")
    .option("--not-ok", "display only members not in the Joined state")
    .option("--with-states <states>", "only members in these states (e.g. Joined,Excluded)")
    .action(run((ctx, f: QueryFlags) => systemQuery(ctx, f)));

  rankHostOptions(system.command("stop").description("Perform controlled shutdown of DAOS system"))
    .option("--force", "force stop of DAOS system members")
    .option("--ignore-admin-excluded", "skip administratively excluded ranks")
    .addOption(new Option("--full", "graceful two-phase stop").hideHelp())
    .action(run((ctx, f: StopFlags) => systemStop(ctx, f)));

  rankHostOptions(system.command("start").description("Perform start of stopped DAOS system"))
    .option("--ignore-admin-excluded", "skip administratively excluded ranks")
    .action(run((ctx, f: StartFlags) => systemStart(ctx, f)));

  rankHostOptions(system.command("exclude").description("Administratively exclude ranks"))
    .action(run((ctx, f: RankHostFlags) => systemExclude(ctx, f, false)));

  rankHostOptions(
    system.command("clear-exclude").description("Clear administrative exclusion of ranks"),
  ).action(run((ctx, f: RankHostFlags) => systemExclude(ctx, f, true)));

  system.command("erase").description("Erase system metadata prior to reformat")
    .action(run((ctx) => systemErase(ctx)));

  system.command("leader-query").description("Query for current Management Service leader")
    .option("-N, --down-replicas", "show only unresponsive replicas")
    .action(run((ctx, f: LeaderFlags) => systemLeaderQuery(ctx, f)));

  registerEventCommands(system, run);
  registerSystemDrain(system, run);
};
