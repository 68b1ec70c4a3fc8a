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
  type ConfGenerateRequest,
  defaultConfGenerateRequest,
  generatedConfigYaml,
  NET_CLASSES,
} from "../../control/config/generate.ts";
import type { GoJsonValue } from "../output/gojson.ts";
import { hostErrorsBlock } from "../printers/host_errors.ts";
import { render, request } from "../render.ts";
import { type CommandContext, commandGroup, type Runner } from "./context.ts";

interface GenOptions {
  hostList?: string;
  accessPoints?: string;
  msReplicas: string;
  numEngines?: string;
  scmOnly?: boolean;
  netClass: string;
  netProvider?: string;
  useTmpfsScm?: boolean;
  controlMetadataPath?: string;
  fabricPorts?: string;
}

function invalidValue(value: string, flag: string, want: string): Error {
  return new Error(`invalid argument for flag \`${flag}': ${want} (got "${value}")`);
}

/** The generator's request from the flags; throws naming a bad flag value. */
export function generateRequest(ctx: CommandContext, o: GenOptions): ConfGenerateRequest {
  if (!(o.netClass in NET_CLASSES)) {
    throw new Error(
      `Invalid value \`${o.netClass}' for option \`-c, --net-class'. Allowed values are: ` +
        "ethernet or infiniband",
    );
  }
  let engines = 0;
  if (o.numEngines !== undefined) {
    if (!/^\d+$/.test(o.numEngines.trim())) {
      throw invalidValue(o.numEngines, "-e, --num-engines", "want a whole number");
    }
    engines = Number(o.numEngines.trim());
  }
  let replicas = o.msReplicas;
  if (o.accessPoints !== undefined) {
    ctx.log.notice("access-points is deprecated; please use ms-replicas instead");
    replicas = o.accessPoints;
  }
  const ports = (o.fabricPorts ?? "").trim() === "" ? [] : o.fabricPorts!.split(",").map((p) => {
    const n = Number(p.trim());
    if (!/^\d+$/.test(p.trim()) || n < 1 || n > 65535) {
      throw invalidValue(p.trim(), "-f, --fabric-ports", "want ports 1..65535, comma-separated");
    }
    return n;
  });
  return {
    ...defaultConfGenerateRequest(),
    nrEngines: engines,
    scmOnly: o.scmOnly === true,
    netClass: o.netClass as keyof typeof NET_CLASSES,
    netProvider: o.netProvider ?? "",
    msReplicas: replicas.split(",").map((r) => r.trim()),
    useTmpfsScm: o.useTmpfsScm === true,
    controlMetadataPath: o.controlMetadataPath ?? "",
    fabricPorts: ports,
  };
}

/** Registers `config generate` under the `config` group. */
export function registerConfigGenerate(program: Command, run: Runner): void {
  commandGroup(
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
    .option("-l, --host-list <hosts>", "a list of addresses <ipv4addr/hostname:port> to connect to")
    .option(
      "-a, --access-points <list>",
      "Comma separated list of access point addresses <ipv4addr/hostname> (deprecated, use " +
        "--ms-replicas)",
    )
    .option(
      "-r, --ms-replicas <list>",
      "Comma separated list of MS replica addresses <ipv4addr/hostname>",
      "localhost",
    )
    .option(
      "-e, --num-engines <n>",
      "Set the number of DAOS Engine sections to be populated in the config file output. If " +
        "unset then the value will be set to the number of NUMA nodes on storage hosts in the " +
        "DAOS system.",
    )
    .option("-s, --scm-only", "Create a SCM-only config without NVMe SSDs.")
    .option(
      "-c, --net-class <class>",
      "Set the network class to be used (ethernet or infiniband)",
      "infiniband",
    )
    .option("-p, --net-provider <provider>", "Set the network provider to be used")
    .option("-t, --use-tmpfs-scm", "Use tmpfs for scm rather than PMem")
    .option(
      "-m, --control-metadata-path <path>",
      "External storage path to store control metadata in MD-on-SSD mode",
    )
    .option(
      "-f, --fabric-ports <list>",
      "Comma separated list of fabric ports, one per engine (default 31416, 32416, ...)",
    )
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
