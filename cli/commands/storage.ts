/** `dmg storage …` (alias `sto`): `scan` here; format and query usage register their own. */
import type { Command } from "commander";
import { storageScan } from "../../control/lib/control/storage.ts";
import { groupPayloads } from "../../control/lib/rpc/group.ts";
import { hostErrorsBlock } from "../printers/host_errors.ts";
import {
  formatScanHealth,
  formatScanTable,
  formatScanVerbose,
  storageFingerprint,
  storageJson,
} from "../printers/storage_scan.ts";
import { render, request } from "../render.ts";
import { commandGroup, type Runner } from "./context.ts";

/** Returns the `storage` group (creating it), for modules adding sub-commands. */
export function storageGroup(program: Command): Command {
  return commandGroup(
    program,
    "storage",
    "sto",
    "Perform tasks related to storage attached to remote servers",
  );
}

interface ScanOptions {
  hostList?: string;
  verbose?: boolean;
  nvmeHealth?: boolean;
}

/** Registers `storage scan`. */
export function registerStorage(program: Command, run: Runner): void {
  storageGroup(program).command("scan")
    .description("Scan SCM and NVMe storage attached to remote servers")
    .option("-l, --host-list <hosts>", "a list of addresses <ipv4addr/hostname:port> to connect to")
    .option("-v, --verbose", "list SCM & NVMe device details")
    .option("-n, --nvme-health", "display NVMe device health statistics")
    .action(run(async (ctx, opts: ScanOptions) => {
      if (opts.verbose && opts.nvmeHealth) {
        throw new Error("cannot use --verbose with --nvme-health");
      }
      const verbose = opts.verbose === true;
      const health = opts.nvmeHealth === true;
      const scan = await request(
        ctx,
        "",
        async () =>
          storageScan(await ctx.invoker(), await ctx.fanOutTargets(opts.hostList), {
            verbose,
            nvmeHealth: health,
          }),
      );
      const groups = groupPayloads(scan.answers, storageFingerprint);
      const format = verbose ? formatScanVerbose : health ? formatScanHealth : formatScanTable;
      render(ctx, {
        json: () => ({
          host_errors: scan.hostErrors.json(),
          HostStorage: groups.length > 0
            ? new Map(groups.map((g) => [g.key, {
              storage: storageJson(g.payload),
              hosts: g.hosts.toString(),
            }]))
            : null,
        }),
        // When no host answered there is nothing to print besides the Errors: block.
        text: () => [
          ["error", hostErrorsBlock(scan.hostErrors)],
          ["info", groups.length > 0 ? format(groups) : ""],
        ],
        error: scan.hostErrors.summary(),
      });
    }));
}
