/**
 * `daos_server network scan [-p provider]` (reference: cmd/daos_server/network.go): this
 * host's fabric interfaces per NUMA node and provider, printed as dmg prints one host
 * ("localhost"). Provider: -p, else the config's `provider`, else all; `-p all` = all.
 */
import type { Command } from "commander";
import { create } from "@bufbuild/protobuf";
import { NetworkScanReqSchema } from "../../proto/gen/ts/ctl/network_pb.ts";
import { fabricJson, formatNetworkScan } from "../../cli/printers/network_scan.ts";
import { networkScan } from "../ctl/network_scan.ts";
import { parseHostSet } from "../lib/hostlist.ts";
import { wrapError } from "../lib/fault.ts";
import type { CmdContext } from "./context.ts";
import { optionalConfig, type Runner } from "./runner.ts";

/** Interfaces the reference leaves out of the scan (defaultExcludeInterfaces). */
export const DEFAULT_EXCLUDE_INTERFACES = "lo";

async function scan(ctx: CmdContext, opts: { provider?: string }): Promise<void> {
  const cfg = await optionalConfig(ctx);
  let provider = cfg?.fabric.provider ?? "";
  if (opts.provider !== undefined && opts.provider.toLowerCase() === "all") provider = "all";
  else if (opts.provider) provider = opts.provider;
  let resp;
  try {
    resp = await networkScan(
      create(NetworkScanReqSchema, {
        provider: provider === "" ? "all" : provider,
        excludeinterfaces: DEFAULT_EXCLUDE_INTERFACES,
      }),
      ctx.host.network(provider),
    );
  } catch (e) {
    throw wrapError(e, "failed to execute the fabric and device scan");
  }
  if (ctx.json) return ctx.writeJson(fabricJson(resp));
  ctx.log.info(
    formatNetworkScan([{ key: "0", payload: resp, hosts: parseHostSet("localhost") }]),
  );
}

/** Registers `network scan`. */
export function registerNetwork(program: Command, run: Runner): void {
  program.command("network")
    .description("Perform network device scan based on fabric provider")
    .command("scan")
    .description("Scan for network interface devices on local server")
    .option(
      "-p, --provider <provider>",
      "Filter device list to those that support the given OFI provider or 'all' for all " +
        "available (default is the provider specified in daos_server.yml)",
    )
    .action(run((ctx, o: { provider?: string }) => scan(ctx, o), { config: "use" }));
}
