/**
 * `dmg system events [--follow] [--since T] [-r R] [--tail N]` and `dmg system audit` (ours):
 * the MS's RAS event log and audit trail. Text: one line per entry; `-j`: one JSON object per
 * line (no envelope), so that `--follow` can feed line-oriented tools. `--follow` streams
 * (SystemFollowEvents) from the MS replicas in turn, resuming after the last event printed
 * when a replica goes away (a change of leader included): nothing is lost or printed twice.
 */
import type { Command } from "commander";
import * as api from "../../control/lib/control/events.ts";
import { errorText } from "../../control/lib/fault.ts";
import { parseRankSet } from "../../control/lib/rankset.ts";
import type { RASLogEntry } from "../../proto/gen/ts/mgmt/events_pb.ts";
import * as print from "../printers/events.ts";
import { type CommandContext, DEFAULT_QUERY_MS, parseTimeout, type Runner } from "./context.ts";

/** Flags of `system events`. */
export interface EventsFlags {
  follow?: boolean;
  since?: string;
  ranks?: string;
  tail?: string;
}

/**
 * `--since`: an RFC 3339 time, or a duration back from `now` (30s, 10m, 2h). Throws naming
 * the value and the forms accepted.
 */
export function parseSince(text: string, now = Date.now()): string {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const t = Date.parse(text);
    if (!Number.isNaN(t)) return new Date(t).toISOString();
  } else {
    try {
      return new Date(now - parseTimeout(text)).toISOString();
    } catch { /* reported below */ }
  }
  throw new Error(
    `invalid --since "${text}": give an RFC 3339 time (2026-01-02T03:04:05Z) or a duration ` +
      "back from now (30s, 10m, 2h)",
  );
}

/** A non-negative whole number flag value. */
function count(flag: string, text: string | undefined): number {
  if (text === undefined) return 0;
  if (!/^\d+$/.test(text)) throw new Error(`invalid ${flag} "${text}": give a whole number`);
  return Number(text);
}

/** Writes `e` as text or as a JSON line. */
function emit(ctx: CommandContext, line: string, json: string): void {
  if (ctx.json) ctx.envelope.writeLine(json);
  else ctx.log.info(line);
}

/** Runs `body`; a failure before any JSON line was written still gets the `-j` envelope. */
async function jsonLines(ctx: CommandContext, prefix: string, body: () => Promise<void>) {
  try {
    await body();
    if (ctx.json) ctx.envelope.claim();
  } catch (e) {
    if (ctx.json && !ctx.envelope.written) ctx.envelope.write(null, e);
    throw new Error(`${prefix}: ${errorText(e)}`, { cause: e });
  }
}

/** `dmg system events`. */
export async function systemEvents(
  ctx: CommandContext,
  f: EventsFlags,
  signal?: AbortSignal,
): Promise<void> {
  const ranks = f.ranks ? parseRankSet(f.ranks).toString() : "";
  const since = f.since === undefined ? "" : parseSince(f.since);
  const tail = count("--tail", f.tail);
  if (f.follow && since !== "") {
    throw new Error("--since may not be mixed with --follow (use --tail to start with the newest)");
  }
  const sys = (await ctx.config()).name;
  const show = (e: RASLogEntry) => emit(ctx, print.eventLine(e), print.eventJson(e));
  await jsonLines(ctx, "system events failed", async () => {
    const inv = await ctx.invoker();
    if (!f.follow) {
      const r = await api.systemGetEvents(inv, await ctx.msOptions(DEFAULT_QUERY_MS), {
        sys,
        since,
        ranks,
      });
      for (const e of tail > 0 ? r.events.slice(-tail) : r.events) show(e);
      return;
    }
    const hosts = (await ctx.msOptions(DEFAULT_QUERY_MS)).hosts;
    await api.followEvents(api.streamSource(inv), { sys, ranks, tail }, {
      hosts,
      signal: signal ?? new AbortController().signal,
      giveUpMs: ctx.timeoutMs(DEFAULT_QUERY_MS),
      onEvent: show,
      onRetry: (addr, err) => ctx.log.debug(`event stream from ${addr} ended: ${errorText(err)}`),
    });
  });
}

/** `dmg system audit`. */
export async function systemAudit(ctx: CommandContext, f: { tail?: string }): Promise<void> {
  const tail = count("--tail", f.tail);
  const sys = (await ctx.config()).name;
  await jsonLines(ctx, "system audit failed", async () => {
    const r = await api.systemGetAudit(
      await ctx.invoker(),
      await ctx.msOptions(DEFAULT_QUERY_MS),
      { sys },
    );
    for (const x of tail > 0 ? r.records.slice(-tail) : r.records) {
      emit(ctx, print.auditLine(x), print.auditJson(x));
    }
  });
}

/** Registers `system events` and `system audit` under the `system` command. */
export function registerEventCommands(system: Command, run: Runner): void {
  system.command("events").description("Show the RAS events stored by the management service")
    .option("-f, --follow", "keep printing new events as they are stored")
    .option("--since <time>", "only events since an RFC 3339 time or a duration back (10m)")
    .option("-r, --ranks <ranks>", "only events of these ranks (e.g. 0,2,4-8)")
    .option("--tail <n>", "only the newest n events (with --follow: to start with)")
    .action(run((ctx, f: EventsFlags) => systemEvents(ctx, f)));
  system.command("audit").description("Show the audit trail of administrative operations")
    .option("--tail <n>", "only the newest n records")
    .action(run((ctx, f: { tail?: string }) => systemAudit(ctx, f)));
}
