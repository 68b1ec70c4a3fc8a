/** `dmg network …` (alias `net`): `scan`. */
import type { Command } from "commander";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { NetworkScanReqSchema } from "../../proto/gen/ts/ctl/network_pb.ts";
import { fanOut } from "../../control/lib/rpc/fanout.ts";
import { groupErrors, groupPayloads, partitionResults } from "../../control/lib/rpc/group.ts";
import { formatHostErrors, groupHostErrors, hostErrorsSummary } from "../output/host_errors.ts";
import { hostErrorsJson } from "../printers/host_block.ts";
import { fabricFingerprint, fabricJson, formatNetworkScan } from "../printers/network_scan.ts";
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
      const targets = await ctx.targets(opts.hostList);
      const pool = await ctx.pool();
      const req = create(NetworkScanReqSchema, { provider: opts.provider ?? "" });
      const results = await fanOut(
        pool,
        targets,
        (t, callOpts) => createClient(CtlSvc, t).networkScan(req, callOpts),
        { deadline: ctx.deadline(), name: "NetworkScan" },
      );
      const { ok, failed } = partitionResults(results);
      const groups = groupPayloads(ok, fabricFingerprint);
      const errorGroups = groupHostErrors(failed);
      const summary = hostErrorsSummary(errorGroups);
      if (ctx.json) {
        ctx.envelope.write({
          host_errors: hostErrorsJson(groupErrors(failed)),
          HostFabrics: new Map(groups.map((g) => [g.key, {
            HostFabric: fabricJson(g.payload),
            HostSet: g.hosts.toString(),
          }])),
        }, summary === undefined ? undefined : new Error(summary));
      } else {
        // Unlike storage scan, the Errors: block goes to stdout with the rest (dmg.md §5.11).
        ctx.log.info(formatHostErrors(errorGroups) + formatNetworkScan(groups));
      }
      if (summary !== undefined) throw new Error(summary);
    }));
}
