/**
 * The daos_server command line (reference: cmd/daos_server/main.go): global options, one
 * registration per sub-command group, go-flags' parser messages and help layout, the
 * `ERROR: daos_server: …` fatal line (+ the fault's resolution line), exit status 0/1, and
 * under -j exactly one JSON document on stdout, also for errors.
 */
import { Command, CommanderError } from "commander";
import { errorText, isFault, rootCause } from "../lib/fault.ts";
import {
  goFlagsHelp,
  goFlagsParseError,
  unknownCommandMessage,
  visibleCommandNames,
} from "../lib/goflags.ts";
import { hostNetworkSource } from "../ctl/network_scan.ts";
import { hostStorageSource } from "../ctl/storage_scan.ts";
import { readPmem } from "../sysinfo/pmem.ts";
import {
  CmdContext,
  type CmdIO,
  CmdLogger,
  type GlobalOptions,
  type HostDeps,
  loggerSyslog,
  processIO,
} from "./context.ts";
import { controlPortAnswers, postJson, registerMs } from "./ms.ts";
import { registerNetwork } from "./network.ts";
import type { Body, BodySpec, Runner } from "./runner.ts";
import { registerStart } from "./start.ts";
import { registerStorage, SPDK_SETUP_SCRIPTS } from "./storage.ts";
import { registerVersion } from "./version.ts";
import { registerConfigGenerate } from "./config_generate.ts";
import { registerConfigValidate } from "./config_validate.ts";

/** The real host. */
export const realHost: HostDeps = {
  storage: (engines) => hostStorageSource(engines),
  network: (provider) => hostNetworkSource(provider),
  pmem: () => readPmem(),
  spdkSetup: async () => {
    for (const p of SPDK_SETUP_SCRIPTS) {
      try {
        if ((await Deno.stat(p)).isFile) return p;
      } catch { /* not there */ }
    }
    return undefined;
  },
  httpPost: postJson,
  tcpProbe: (addr) => controlPortAnswers(addr),
  syslog: () => loggerSyslog(),
  defaultConfigPath: "/etc/daos/daos_server.yml",
};

const PROXY_VARS = ["http_proxy", "https_proxy", "ftp_proxy", "socks_proxy", "no_proxy"];

/** The reference's ScrubProxyVariables (skipped with --allow-proxy). */
function scrubProxy(): void {
  for (const v of PROXY_VARS) {
    Deno.env.delete(v);
    Deno.env.delete(v.toUpperCase());
  }
}

/** Builds the command tree; `run` wraps each command body. */
export function buildProgram(run: Runner): Command {
  const program = new Command("daos_server")
    .description("DAOS Control Server")
    .option("--allow-proxy", "Allow proxy configuration via environment")
    .option("-o, --config <path>", "Server config file path")
    .option("-b, --debug", "Enable debug output")
    .option("-j, --json", "enable JSON output")
    .option("-J, --json-logging", "Enable JSON-formatted log output")
    .option("--syslog", "Enable logging to syslog");
  const config = program.command("config").alias("cfg").description(
    "Perform tasks related to configuration of hardware on the local server",
  );
  registerConfigValidate(config, run);
  registerConfigGenerate(config, run);
  registerMs(program, run);
  registerNetwork(program, run);
  registerStorage(program, run);
  registerStart(program, run);
  registerVersion(program, run);
  return program;
}

/** The fatal lines (without `ERROR: `): the error, then the fault's resolution if any. */
export function fatalLines(err: unknown): string[] {
  const lines = [`daos_server: ${errorText(err)}`];
  const root = rootCause(err);
  if (isFault(root) && root.resolutionLine()) lines.push(`daos_server: ${root.resolutionLine()}`);
  return lines;
}

function allCommands(c: Command): Command[] {
  return [c, ...c.commands.flatMap(allCommands)];
}

/** Runs daos_server with `args`; returns the exit status. */
export async function main(
  args: string[],
  io: CmdIO = processIO,
  host: HostDeps = realHost,
): Promise<number> {
  let body: (() => Promise<void | number>) | undefined;
  let ctx: CmdContext | undefined;
  // Commander calls the action during parsing; the body runs afterwards so that parse errors
  // and command errors leave by the same path.
  const run: Runner = <O>(fn: Body<O>, spec: BodySpec) => (...a: unknown[]) => {
    const cmd = a[a.length - 1] as Command;
    const opts = a[a.length - 2] as O;
    body = async () => {
      const globals = program.opts<GlobalOptions>();
      const nargs = cmd.registeredArguments.length;
      if (cmd.args.length > nargs) {
        throw new Error(`unexpected commandline arguments: [${cmd.args.slice(nargs).join(" ")}]`);
      }
      if (spec.config === "reject" && globals.config !== undefined) {
        throw new Error(
          "DAOS Server config filepath has been supplied but this command will not use it",
        );
      }
      if (!globals.allowProxy) scrubProxy();
      const log = new CmdLogger(io, {
        debug: globals.debug,
        jsonLogging: globals.jsonLogging,
        // start logs through its control log (which copies to syslog itself).
        syslog: globals.syslog && cmd.name() !== "start" ? host.syslog() : undefined,
      });
      ctx = new CmdContext(globals, log, io, host);
      return await fn(ctx, opts, cmd);
    };
  };
  const program: Command = buildProgram(run);
  for (const c of allCommands(program)) {
    c.exitOverride()
      .helpCommand(false)
      .allowExcessArguments(true)
      .configureHelp({ formatHelp: (cmd) => goFlagsHelp(cmd as Command) })
      .configureOutput({ writeOut: (s) => io.out(s), writeErr: () => {}, outputError: () => {} });
    if (c.commands.length > 0) {
      c.action((_opts, self: Command) => {
        throw new Error(unknownCommandMessage(visibleCommandNames(self), self.args[0]));
      });
    }
  }

  const jsonWanted = () => ctx?.json ?? (args.includes("-j") || args.includes("--json"));
  try {
    if (args.length === 0) {
      // The reference (go-flags, sub-commands required) fails with "Please specify one
      // command of: …" and exit 1; the help shows what those commands do.
      io.out(goFlagsHelp(program));
      throw new Error(unknownCommandMessage(visibleCommandNames(program), undefined));
    }
    try {
      await program.parseAsync(args, { from: "user" });
    } catch (e) {
      if (e instanceof CommanderError) {
        if (e.code === "commander.helpDisplayed" || e.code === "commander.help") return 0;
        throw goFlagsParseError(e);
      }
      throw e;
    }
    const code = body ? await body() : undefined;
    ctx?.finishJson();
    return code ?? 0;
  } catch (err) {
    if (jsonWanted()) {
      if (ctx) ctx.finishJson(err);
      else new CmdContext({ json: true }, new CmdLogger(io, {}), io, host).finishJson(err);
    }
    for (const l of fatalLines(err)) io.err(`ERROR: ${l}\n`);
    return 1;
  } finally {
    await ctx?.log.close();
  }
}
