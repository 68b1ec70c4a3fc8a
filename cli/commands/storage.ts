/** `dmg storage …` (alias `sto`): `scan` here; format and query usage register their own. */
import type { Command } from "commander";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { StorageScanReqSchema, type StorageScanResp } from "../../proto/gen/ts/ctl/storage_pb.ts";
import { fanOut } from "../../control/lib/rpc/fanout.ts";
import { groupErrors, groupPayloads } from "../../control/lib/rpc/group.ts";
import { formatHostErrors, groupHostErrors, hostErrorsSummary } from "../output/host_errors.ts";
import { hostErrorsJson } from "../printers/host_block.ts";
import {
  formatScanHealth,
  formatScanTable,
  formatScanVerbose,
  scanResultParts,
  storageFingerprint,
  storageJson,
} from "../printers/storage_scan.ts";
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
      const targets = await ctx.targets(opts.hostList);
      const pool = await ctx.pool();
      const verbose = opts.verbose === true;
      const health = opts.nvmeHealth === true;
      const req = create(StorageScanReqSchema, {
        scm: { usage: false },
        nvme: { Basic: !(verbose || health), Health: health, linkStats: health },
      });
      const results = await fanOut(
        pool,
        targets,
        (t, callOpts) => createClient(CtlSvc, t).storageScan(req, callOpts),
        { deadline: ctx.deadline(), name: "StorageScan" },
      );
      const failures: { addr: string; error: Error }[] = [];
      const answered: { addr: string; payload: StorageScanResp }[] = [];
      for (const r of results) {
        if (r.error) {
          failures.push({ addr: r.addr, error: r.error });
          continue;
        }
        const { errors, storage } = scanResultParts(r.response);
        for (const error of errors) failures.push({ addr: r.addr, error });
        answered.push({ addr: r.addr, payload: storage });
      }
      const groups = groupPayloads(answered, storageFingerprint);
      const errorGroups = groupHostErrors(failures);
      const summary = hostErrorsSummary(errorGroups);
      if (ctx.json) {
        ctx.envelope.write({
          host_errors: hostErrorsJson(groupErrors(failures)),
          HostStorage: groups.length > 0
            ? new Map(groups.map((g) => [g.key, {
              storage: storageJson(g.payload),
              hosts: g.hosts.toString(),
            }]))
            : null,
        }, summary === undefined ? undefined : new Error(summary));
      } else {
        if (errorGroups.length > 0) ctx.log.error(formatHostErrors(errorGroups));
        // When no host answered there is nothing to print besides the Errors: block.
        if (groups.length > 0) {
          const format = verbose ? formatScanVerbose : health ? formatScanHealth : formatScanTable;
          ctx.log.info(format(groups));
        }
      }
      if (summary !== undefined) throw new Error(summary);
    }));
}
