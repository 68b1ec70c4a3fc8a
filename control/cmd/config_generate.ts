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
  defaultConfGenerateRequest,
  generatedConfigYaml,
  generateServerConfig,
  NET_CLASSES,
} from "../config/generate.ts";
import { networkScan } from "../ctl/network_scan.ts";
import { wrapError } from "../lib/fault.ts";
import type { CmdContext } from "./context.ts";
import { DEFAULT_EXCLUDE_INTERFACES } from "./network.ts";
import { type Runner, uintArg } from "./runner.ts";
import { localScan } from "./storage.ts";

interface GenOptions {
  accessPoints?: string;
  msReplicas: string;
  numEngines?: number;
  scmOnly?: boolean;
  netClass: string;
  netProvider?: string;
  useTmpfsScm?: boolean;
  controlMetadataPath?: string;
  fabricPorts?: string;
}

function parsePorts(text: string | undefined): number[] {
  if (text === undefined || text.trim() === "") return [];
  return text.split(",").map((p) => {
    const n = Number(p.trim());
    if (!/^\d+$/.test(p.trim()) || n < 1 || n > 65535) {
      throw new Error(
        `--fabric-ports: invalid port "${p.trim()}" (want 1..65535, comma-separated)`,
      );
    }
    return n;
  });
}

async function generate(ctx: CmdContext, o: GenOptions): Promise<void> {
  if (!(o.netClass in NET_CLASSES)) {
    throw new Error(
      `Invalid value \`${o.netClass}' for option \`-c, --net-class'. Allowed values are: ` +
        "ethernet or infiniband",
    );
  }
  let replicas = o.msReplicas;
  if (o.accessPoints !== undefined) {
    ctx.log.notice("access-points is deprecated; please use ms-replicas instead");
    replicas = o.accessPoints;
  }
  const req = {
    ...defaultConfGenerateRequest(),
    nrEngines: o.numEngines ?? 0,
    scmOnly: o.scmOnly === true,
    netClass: o.netClass as keyof typeof NET_CLASSES,
    netProvider: o.netProvider ?? "",
    msReplicas: replicas.split(",").map((r) => r.trim()),
    useTmpfsScm: o.useTmpfsScm === true,
    controlMetadataPath: o.controlMetadataPath ?? "",
    fabricPorts: parsePorts(o.fabricPorts),
  };
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
  config.command("generate").alias("gen")
    .description(
      "Generate DAOS server configuration file based on discoverable locally-attached hardware " +
        "devices",
    )
    .option(
      "-l, --helper-log-file <path>",
      "Log file location for debug from daos_server_helper binary",
    )
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
      uintArg,
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
    .option("--skip-prep", "Skip preparation of devices during scan.")
    .action(run((ctx, o: GenOptions) => generate(ctx, o), { config: "reject" }));
}
