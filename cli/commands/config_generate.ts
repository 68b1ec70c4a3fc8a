/**
 * `dmg config generate` (alias `gen`, dmg.md §5.16; DAOS cmd/dmg/auto.go): a daos_server.yml
 * for the hosts from their fabric and storage scans, which must be alike on every host. Only
 * the YAML goes to stdout; with -j the config is the envelope's response.
 */
import type { Command } from "commander";
import {
  configGenerate,
  HardwareMismatchError,
} from "../../control/lib/control/config_generate.ts";
import { stripPorts } from "../../control/lib/hostlist.ts";
import {
  addGenerateOptions,
  type ConfGenerateRequest,
  generatedConfigYaml,
  type GenerateFlags,
  generateRequestFromFlags,
} from "../../control/config/generate.ts";
import type { GoJsonValue } from "../output/gojson.ts";
import { hostErrorsBlock } from "../printers/host_errors.ts";
import { render, request } from "../render.ts";
import { type CommandContext, commandGroup, type Runner } from "./context.ts";

interface GenOptions extends GenerateFlags {
  hostList?: string;
}

/** The generator's request from the flags; throws naming a bad flag value. */
export function generateRequest(ctx: CommandContext, o: GenOptions): ConfGenerateRequest {
  return generateRequestFromFlags(o, (m) => ctx.log.notice(m));
}

/** Registers `config generate` under the `config` group. */
export function registerConfigGenerate(program: Command, run: Runner): void {
  const cmd = commandGroup(
    program,
    "config",
    "cfg",
    "Perform tasks related to configuration of hardware on remote servers",
  )
    .command("generate")
    .alias("gen")
    .description(
      "Generate DAOS server configuration file based on discoverable hardware devices",
    )
    .option(
      "-l, --host-list <hosts>",
      "a list of addresses <ipv4addr/hostname:port> to connect to",
    );
  addGenerateOptions(cmd)
    .action(run(async (ctx, o: GenOptions) => {
      const req = generateRequest(ctx, o);
      const res = await request(ctx, "", async () => {
        try {
          return await configGenerate(
            await ctx.invoker(),
            await ctx.fanOutTargets(o.hostList),
            req,
            (m) => ctx.log.debug(m),
          );
        } catch (e) {
          if (e instanceof HardwareMismatchError && !ctx.json) {
            // The reference logs each variant's host set before failing; without them the
            // error would not say which hosts to look at.
            ctx.log.notice(
              `Heterogeneous ${e.kind} hardware configurations detected, cannot proceed. The ` +
                `following sets of hosts have different ${e.kind} hardware:\n` +
                e.hostSets.map((h) => `  ${stripPorts(h.toString())}`).join("\n"),
            );
          }
          throw e;
        }
      });
      const cfg = res.config;
      render(ctx, {
        json: () =>
          cfg === undefined
            ? { host_errors: res.hostErrors?.json() ?? new Map() }
            : cfg as GoJsonValue,
        text: () =>
          cfg === undefined
            ? [["error", res.hostErrors ? hostErrorsBlock(res.hostErrors) : ""]]
            : [["info", generatedConfigYaml(cfg).replace(/\n$/, "")]],
        error: res.hostErrors?.summary(),
      });
    }));
}
