/** `dmg network …` (alias `net`): `scan`. */
import type { Command } from "commander";
import { networkScan } from "../../control/lib/control/network.ts";
import { groupPayloads } from "../../control/lib/rpc/group.ts";
import { hostErrorsBlock } from "../printers/host_errors.ts";
import { fabricFingerprint, fabricJson, formatNetworkScan } from "../printers/network_scan.ts";
import { render, request } from "../render.ts";
import { commandGroup, type Runner } from "./context.ts";

interface ScanOptions {
  hostList?: string;
  provider?: string;
}

/** Registers `network scan`. */
export function registerNetwork(program: Command, run: Runner): void {
  commandGroup(
    program,
    "network",
    "net",
    "Perform tasks related to network devices attached to remote servers",
  )
    .command("scan")
    .description("Scan for network interface devices on remote servers")
    .option("-l, --host-list <hosts>", "a list of addresses <ipv4addr/hostname:port> to connect to")
    .option("-p, --provider <name>", "filter device list by provider ('all' for no filtering)")
    .action(run(async (ctx, opts: ScanOptions) => {
      const scan = await request(
        ctx,
        "",
        async () =>
          networkScan(await ctx.invoker(), await ctx.fanOutTargets(opts.hostList), {
            provider: opts.provider,
          }),
      );
      const groups = groupPayloads(scan.answers, fabricFingerprint);
      render(ctx, {
        json: () => ({
          host_errors: scan.hostErrors.json(),
          HostFabrics: new Map(groups.map((g) => [g.key, {
            HostFabric: fabricJson(g.payload),
            HostSet: g.hosts.toString(),
          }])),
        }),
        // Unlike storage scan, the Errors: block goes to stdout with the rest (dmg.md §5.11).
        text: () => [["info", hostErrorsBlock(scan.hostErrors) + formatNetworkScan(groups)]],
        error: scan.hostErrors.summary(),
      });
    }));
}
