/**
 * `dmg storage query usage [-l HOSTS] [-u] [--mem-ratio R]` (dmg.md §5.10): flags → the
 * control API's storageUsage → printers/storage_usage.ts through render.
 */
import type { Command } from "commander";
import { storageUsage } from "../../control/lib/control/storage.ts";
import { printUsage, usageHostStorage } from "../printers/storage_usage.ts";
import { render, request } from "../render.ts";
import { commandGroup, type Runner } from "./context.ts";
import { storageGroup } from "./storage.ts";

/** Flags of the command. */
export interface UsageFlags {
  showUsable: boolean;
  memRatio?: number;
}

/** Checks flag combinations with the reference text. */
export function checkUsageFlags(f: UsageFlags): void {
  if (f.memRatio !== undefined && !f.showUsable) {
    throw new Error("--mem-ratio is only supported with --show-usable flag");
  }
}

interface UsageOptions {
  hostList?: string;
  showUsable?: boolean;
  memRatio?: string;
}

/** Parses --mem-ratio (a fraction in (0, 1] or a percentage like 50%). */
export function parseMemRatio(s: string): number {
  const pct = s.endsWith("%");
  const v = Number(pct ? s.slice(0, -1) : s);
  const r = pct ? v / 100 : v;
  if (!Number.isFinite(r) || r <= 0 || r > 1) {
    throw new Error(
      `invalid --mem-ratio "${s}": use a fraction in (0, 1] or a percentage, e.g. 0.5 or 50%`,
    );
  }
  return r;
}

/** Registers `dmg storage query usage`. */
export function registerStorageQueryUsage(program: Command, run: Runner): void {
  commandGroup(storageGroup(program), "query", undefined, "Query storage commands")
    .command("usage")
    .description("Show SCM & NVMe storage space utilization per storage server")
    .option("-l, --host-list <hosts>", "a list of addresses <ipv4addr/hostname:port> to connect to")
    .option("-u, --show-usable", "show usable capacity (MD-on-SSD)")
    .option("--mem-ratio <ratio>", "ratio of meta-blob size to VOS file size (with -u)")
    .action(run(async (ctx, opts: UsageOptions) => {
      const flags: UsageFlags = {
        showUsable: opts.showUsable === true,
        memRatio: opts.memRatio === undefined ? undefined : parseMemRatio(opts.memRatio),
      };
      checkUsageFlags(flags);
      const usage = await request(
        ctx,
        "",
        async () =>
          storageUsage(await ctx.invoker(), await ctx.fanOutTargets(opts.hostList), {
            memRatio: flags.memRatio,
          }),
      );
      render(ctx, {
        json: () => ({
          host_errors: usage.hostErrors.json(),
          HostStorage: usageHostStorage(usage.answers),
        }),
        text: () => {
          const p = printUsage(usage, flags);
          return [["notice", p.notice], ["error", p.err], ["info", p.out]];
        },
        error: usage.hostErrors.summary(),
        // JSON mode: host errors only in host_errors; exit 0 (dmg.md §5.10).
        jsonErrorInPayload: true,
      });
    }));
}
