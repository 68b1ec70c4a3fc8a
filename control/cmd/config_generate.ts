/**
 * `daos_server config generate` (reference: cmd/daos_server/auto.go): a daos_server.yml for
 * this host from its own fabric and storage scans, printed on stdout alone (notices and debug
 * go to stderr) or, with -j, as the envelope's response. The generator itself is shared:
 * control/config/generate.ts.
 */
import type { Command } from "commander";
import { create } from "@bufbuild/protobuf";
import { NetworkScanReqSchema } from "../../proto/gen/ts/ctl/network_pb.ts";
import type { GoJsonValue } from "../../cli/output/gojson.ts";
import {
  addGenerateOptions,
  generatedConfigYaml,
  type GenerateFlags,
  generateRequestFromFlags,
  generateServerConfig,
} from "../config/generate.ts";
import { networkScan } from "../ctl/network_scan.ts";
import { wrapError } from "../lib/fault.ts";
import type { CmdContext } from "./context.ts";
import { DEFAULT_EXCLUDE_INTERFACES } from "./network.ts";
import { type Runner, uintArg } from "./runner.ts";
import { localScan } from "./storage.ts";

async function generate(ctx: CmdContext, o: GenerateFlags): Promise<void> {
  const req = generateRequestFromFlags(o, (m) => ctx.log.notice(m));
  let fabric;
  try {
    fabric = await networkScan(
      create(NetworkScanReqSchema, {
        provider: "all",
        excludeinterfaces: DEFAULT_EXCLUDE_INTERFACES,
      }),
      ctx.host.network(""),
    );
  } catch (e) {
    throw wrapError(e, "fetching local fabric interfaces");
  }
  ctx.log.debug(`fetched host fabric info on localhost: ${fabric.interfaces.length} interface(s)`);
  const storage = await localScan(ctx, undefined);
  const cfg = generateServerConfig(req, fabric, storage);
  if (ctx.json) return ctx.writeJson(cfg as GoJsonValue);
  ctx.log.info(generatedConfigYaml(cfg));
}

/** Registers `config generate` (alias gen) under the config group. */
export function registerConfigGenerate(config: Command, run: Runner): void {
  const cmd = config.command("generate").alias("gen")
    .description(
      "Generate DAOS server configuration file based on discoverable locally-attached hardware " +
        "devices",
    )
    .option(
      "-l, --helper-log-file <path>",
      "Log file location for debug from daos_server_helper binary",
    );
  addGenerateOptions(cmd, uintArg)
    .option("--skip-prep", "Skip preparation of devices during scan.")
    .action(run((ctx, o: GenerateFlags) => generate(ctx, o), { config: "reject" }));
}
