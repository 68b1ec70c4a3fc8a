/**
 * `dmg system query|stop|start|exclude|clear-exclude|erase|leader-query` (dmg.md §5.1–§5.6):
 * flag checks, request building, MS requests through msRequest, and printing through
 * cli/output/system.ts. Each action writes its own `-j` envelope (error text without the
 * command prefix) and throws the error with the prefix for the fatal line.
 */
import { type Command, Option } from "commander";
import { create } from "@bufbuild/protobuf";
import { type CallOptions, createClient, type Transport } from "@connectrpc/connect";
import { errorText, wrapError } from "../../control/lib/fault.ts";
import { MAX_EXPANDED_HOSTS, parseHostSet } from "../../control/lib/hostlist.ts";
import { parseRankSet, RankSet } from "../../control/lib/rankset.ts";
import { fanOut } from "../../control/lib/rpc/fanout.ts";
import { msRequest } from "../../control/lib/rpc/ms_request.ts";
import { NotReplicaError } from "../../control/lib/rpc/error_codec.ts";
import {
  ALL_STATES_MASK,
  MemberState,
  NOT_OK_MASK,
  parseStateMask,
} from "../../control/lib/states.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { LeaderQueryReqSchema, type LeaderQueryResp } from "../../proto/gen/ts/mgmt/svc_pb.ts";
import {
  SystemEraseReqSchema,
  SystemExcludeReqSchema,
  SystemQueryReqSchema,
  type SystemQueryResp,
  SystemStartReqSchema,
  SystemStopReqSchema,
} from "../../proto/gen/ts/mgmt/system_pb.ts";
import type { GoJsonValue } from "../output/gojson.ts";
import {
  excludeError,
  leaderQueryJson,
  type Printed,
  printExclude,
  printLeaderQuery,
  printRankResults,
  printSystemQuery,
  rankResultsError,
  rankResultsJson,
  systemQueryError,
  systemQueryJson,
} from "../output/system.ts";
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

function mgmt(transport: Transport) {
  return createClient(MgmtSvc, transport);
}

/** Repeats of an unchanged "still waiting" line on stderr at most this often. */
const WAIT_REPORT_MS = 5_000;

/**
 * Reports on stderr what an MS request waits for (no leader yet, replicas unreachable, …):
 * each new diagnosis at once, an unchanged one again every WAIT_REPORT_MS with the time
 * waited, so a wait for a down MS is never silent.
 */
export function msWaitReporter(
  notice: (msg: string) => void,
  now: () => number = Date.now,
): (diagnosis: string) => void {
  const started = now();
  let last = "";
  let lastAt = 0;
  return (diagnosis) => {
    const t = now();
    if (diagnosis === last && t - lastAt < WAIT_REPORT_MS) return;
    const waited = diagnosis === last ? ` (waiting ${Math.round((t - started) / 1000)}s)` : "";
    notice(`${diagnosis}; retrying${waited}`);
    last = diagnosis;
    lastAt = t;
  };
}

/**
 * Runs an MS request; on failure writes the `-j` envelope (unprefixed error) and throws the
 * error with the command prefix.
 */
async function ms<T>(
  ctx: CommandContext,
  name: string,
  prefix: string,
  call: (t: Transport, o: CallOptions) => Promise<T>,
  extra: { deadlineMs?: number; signal?: AbortSignal } = {},
): Promise<T> {
  try {
    const pool = await ctx.pool();
    const hosts = await ctx.targets();
    // Computed last, so a timeout message shows the duration the user gave.
    return await msRequest(pool, call, {
      hosts,
      deadline: ctx.deadline(extra.deadlineMs),
      name,
      signal: extra.signal,
      onWait: msWaitReporter((m) => ctx.log.notice(m)),
    });
  } catch (e) {
    if (ctx.json) ctx.envelope.write(null, e);
    throw prefix === "" ? e : wrapError(e, prefix);
  }
}

/** Text mode: prints both parts; JSON mode: writes the payload with the command's error. */
function emit(
  ctx: CommandContext,
  printed: () => Printed,
  payload: () => GoJsonValue,
  error: string | undefined,
): void {
  if (ctx.json) {
    ctx.envelope.write(payload(), error === undefined ? undefined : new Error(error));
    return;
  }
  const p = printed();
  if (p.out !== "") ctx.log.info(p.out);
  if (p.err !== "") ctx.log.error(p.err);
}

function fail(prefix: string, error: string | undefined): void {
  if (error !== undefined) throw new Error(prefix === "" ? error : `${prefix}: ${error}`);
}

/** `dmg system query`. */
export async function systemQuery(ctx: CommandContext, f: QueryFlags): Promise<void> {
  const sel = rankHostSelection(f);
  const stateMask = queryStateMask(f);
  const cfg = await ctx.config();
  const req = create(SystemQueryReqSchema, { sys: cfg.name, ...sel, stateMask });
  const resp = await ms(
    ctx,
    "SystemQuery",
    "system query failed",
    (t, o) => mgmt(t).systemQuery(req, o),
    { deadlineMs: DEFAULT_QUERY_MS },
  );
  const error = systemQueryError(resp);
  emit(
    ctx,
    () => printSystemQuery(resp, { verbose: f.verbose === true }),
    () => systemQueryJson(resp),
    error,
  );
  fail("system query failed", error);
}

/** `dmg system stop`. The wire `force` is `!--full` (quirk 1 of dmg.md §11, kept). */
export async function systemStop(ctx: CommandContext, f: StopFlags): Promise<void> {
  checkStopFlags(f);
  const sel = rankHostSelection(f);
  const cfg = await ctx.config();
  const req = create(SystemStopReqSchema, {
    sys: cfg.name,
    ...sel,
    force: !f.full,
    ignoreAdminExcluded: f.ignoreAdminExcluded === true,
  });
  const resp = await ms(
    ctx,
    "SystemStop",
    "system stop failed",
    (t, o) => mgmt(t).systemStop(req, o),
  );
  const error = rankResultsError(resp);
  emit(ctx, () => printRankResults(resp), () => rankResultsJson(resp), error);
  fail("system stop failed", error);
}

/** `dmg system start`. */
export async function systemStart(ctx: CommandContext, f: StartFlags): Promise<void> {
  const sel = rankHostSelection(f);
  const cfg = await ctx.config();
  const req = create(SystemStartReqSchema, {
    sys: cfg.name,
    ...sel,
    checkMode: false,
    ignoreAdminExcluded: f.ignoreAdminExcluded === true,
  });
  const resp = await ms(
    ctx,
    "SystemStart",
    "system start failed",
    (t, o) => mgmt(t).systemStart(req, o),
  );
  const error = rankResultsError(resp);
  emit(ctx, () => printRankResults(resp), () => rankResultsJson(resp), error);
  fail("system start failed", error);
}

/** `dmg system exclude` (`clear` false) / `clear-exclude` (`clear` true). */
export async function systemExclude(
  ctx: CommandContext,
  f: RankHostFlags,
  clear: boolean,
): Promise<void> {
  const sel = excludeSelection(f);
  const cfg = await ctx.config();
  const req = create(SystemExcludeReqSchema, { sys: cfg.name, ...sel, clear });
  const resp = await ms(ctx, "SystemExclude", "", (t, o) => mgmt(t).systemExclude(req, o));
  const error = excludeError(resp);
  emit(ctx, () => printExclude(resp), () => rankResultsJson(resp), error);
  fail("", error);
}

const NOT_READY = /raft service unavailable|system is uninitialized|leader step-up in progress/;

/**
 * An MS request that does not wait for an unavailable MS (erase's "fail fast"): the first
 * not-ready answer aborts the retry loop and is reported as `raft service unavailable (not
 * started yet?)`.
 */
async function failFast<T>(
  ctx: CommandContext,
  name: string,
  call: (t: Transport, o: CallOptions) => Promise<T>,
): Promise<T> {
  const abort = new AbortController();
  let notReady = false;
  const guarded = async (t: Transport, o: CallOptions) => {
    try {
      return await call(t, o);
    } catch (e) {
      if (NOT_READY.test(errorText(e))) {
        notReady = true;
        abort.abort();
      }
      throw e;
    }
  };
  try {
    return await msRequest(await ctx.pool(), guarded, {
      hosts: await ctx.targets(),
      deadline: ctx.deadline(),
      name,
      signal: abort.signal,
    });
  } catch (e) {
    if (notReady) throw new Error("raft service unavailable (not started yet?)", { cause: e });
    throw e;
  }
}

/** Ranks of members that must be stopped before erase (Ready or Joined). */
export function eraseBlockers(resp: SystemQueryResp): RankSet {
  const running = resp.members.filter((m) =>
    m.state.toLowerCase() === "ready" || m.state.toLowerCase() === "joined"
  );
  return RankSet.fromRanks(running.map((m) => m.rank));
}

/** `dmg system erase` (no JSON payload: the envelope is written by the caller at exit). */
export async function systemErase(ctx: CommandContext): Promise<void> {
  const cfg = await ctx.config();
  let query: SystemQueryResp | undefined;
  try {
    query = await failFast(ctx, "SystemQuery", (t, o) =>
      mgmt(t).systemQuery(
        create(SystemQueryReqSchema, {
          sys: cfg.name,
          stateMask: MemberState.Ready | MemberState.Joined,
        }),
        o,
      ));
  } catch (e) {
    // MS not running (not a replica / unavailable): nothing can be running, go on.
    const unavailable = e instanceof Error && NOT_READY.test(errorText(e));
    if (!(e instanceof NotReplicaError) && !unavailable) throw e;
  }
  if (query !== undefined) {
    const blockers = eraseBlockers(query);
    if (blockers.count > 0) {
      throw new Error(
        `system erase requires the following ${blockers.count} ${
          blockers.count === 1 ? "rank" : "ranks"
        } to be stopped: ${blockers.toString()}`,
      );
    }
  }
  const resp = await failFast(
    ctx,
    "SystemErase",
    (t, o) => mgmt(t).systemErase(create(SystemEraseReqSchema, { sys: cfg.name }), o),
  );
  fail("", excludeError(resp));
}

/** `dmg system leader-query`: asks the MS, then every replica; failed ones are "down". */
export async function systemLeaderQuery(ctx: CommandContext, f: LeaderFlags): Promise<void> {
  const cfg = await ctx.config();
  const req = create(LeaderQueryReqSchema, { sys: cfg.name });
  const resp: LeaderQueryResp = await ms(
    ctx,
    "LeaderQuery",
    "leader query failed",
    (t, o) => mgmt(t).leaderQuery(req, o),
    { deadlineMs: DEFAULT_QUERY_MS },
  );
  if (resp.replicas.length > 0) {
    const results = await fanOut(
      await ctx.pool(),
      resp.replicas,
      (t, o) => mgmt(t).leaderQuery(req, o),
      { deadline: ctx.deadline(DEFAULT_QUERY_MS), name: "LeaderQuery" },
    );
    resp.DownReplicas = results.filter((r) => r.error !== undefined).map((r) => r.addr);
  }
  emit(
    ctx,
    () => printLeaderQuery(resp, { downOnly: f.downReplicas === true }),
    () => leaderQueryJson(resp),
    undefined,
  );
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
};
