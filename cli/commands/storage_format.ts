/**
 * `dmg storage format [-l HOSTS] [--force] [--replace] [-v]` (dmg.md §5.9): flags → the
 * control API's storageFormat (running-system guard, fault 509, then the StorageFormat
 * fan-out) → printers/storage_format.ts through render.
 */
import type { Command } from "commander";
import { checkFormatRequest, storageFormat } from "../../control/lib/control/storage.ts";
import { formatJson, printFormatResults } from "../printers/storage_format.ts";
import { render, request } from "../render.ts";
import type { Runner } from "./context.ts";
import { storageGroup } from "./storage.ts";

interface FormatOptions {
  hostList?: string;
  verbose?: boolean;
  force?: boolean;
  replace?: boolean;
}

/** Registers `dmg storage format`. */
export function registerStorageFormat(program: Command, run: Runner): void {
  storageGroup(program).command("format")
    .description("Format SCM and NVMe storage attached to remote servers")
    .option("-l, --host-list <hosts>", "a list of addresses <ipv4addr/hostname:port> to connect to")
    .option("-v, --verbose", "show results of each SCM & NVMe device format operation")
    .option("--force", "force storage format on a host, stopping any running engines")
    .option("--replace", "replace an excluded rank's storage, reusing its rank number")
    .action(run(async (ctx, opts: FormatOptions) => {
      const req = {
        sys: (await ctx.config()).name,
        reformat: opts.force === true,
        replace: opts.replace === true,
      };
      const fan = await ctx.fanOutTargets(opts.hostList);
      // Flag errors come before any connection.
      checkFormatRequest(req, fan.targets.length);
      const res = await request(ctx, "", async () => storageFormat(await ctx.invoker(), fan, req));
      render(ctx, {
        json: () => ({
          host_errors: res.hostErrors.json(),
          HostStorage: res.hosts.length > 0 ? formatJson(res) : null,
        }),
        text: () => {
          const p = printFormatResults(res, opts.verbose === true);
          return [["error", p.err], ["info", p.out]];
        },
        error: res.hostErrors.summary(),
      });
    }));
}
