/**
 * daos_server: `daos_server start -o daos_server.yml` runs the control server, the engines
 * and (on replicas) the management service until SIGINT or SIGTERM. Exit status 0 after a clean stop, 1 on any start-up error (printed as
 * `ERROR: daos_server: <error>` plus the fault's resolution line).
 */
import { Command, CommanderError } from "commander";
import { loadServerConfigForStart, registerConfigValidate } from "./config/validate_command.ts";
import { applyModulesFlag } from "./config/engine_modules.ts";
import { errorText, isFault, rootCause } from "./lib/fault.ts";
import { startDaosServer } from "./server/daos_server.ts";
import { createLogger } from "./server/logging.ts";
import { waitForStopSignal } from "./server/signals.ts";
import { DAOS_VERSION } from "./lib/rpc/version.ts";

function fatal(err: unknown): number {
  const lines = [`daos_server: ${errorText(err)}`];
  const root = rootCause(err);
  if (isFault(root) && root.resolutionLine()) lines.push(`daos_server: ${root.resolutionLine()}`);
  for (const l of lines) console.error(`ERROR: ${l}`);
  return 1;
}

interface StartOptions {
  port?: string;
  insecure?: boolean;
  modules?: string;
}

async function start(configPath: string | undefined, opts: StartOptions): Promise<number> {
  if (!configPath) {
    throw new Error("no configuration file given: use daos_server start -o <daos_server.yml>");
  }
  const cfg = await loadServerConfigForStart(configPath);
  if (opts.port !== undefined) {
    const p = Number(opts.port);
    if (!Number.isInteger(p) || p <= 0 || p > 65535) {
      throw new Error(`invalid --port "${opts.port}": must be an integer in 1..65535`);
    }
    cfg.port = p;
  }
  if (opts.insecure) cfg.transportConfig.allowInsecure = true;
  if (opts.modules !== undefined) applyModulesFlag(cfg.engines, opts.modules);
  const log = createLogger({
    mask: cfg.controlLogMask,
    file: cfg.controlLogFile,
    json: cfg.controlLogJson,
  });
  try {
    for (const n of cfg.notices) log.notice(n);
    // Listen for stop signals from the start: a signal during start-up still stops cleanly.
    const signal = waitForStopSignal();
    const server = await startDaosServer(cfg, log);
    const sig = await signal;
    log.info(`received ${sig}, shutting down`);
    await server.stop();
    return 0;
  } finally {
    log.close();
  }
}

/** Runs the CLI and returns the exit status. */
export async function main(args: string[]): Promise<number> {
  let action: Promise<number> = Promise.resolve(0);
  const program = new Command("daos_server")
    .description("DAOS Control Server")
    .option("-o, --config <path>", "server config file (daos_server.yml)")
    .exitOverride()
    .showHelpAfterError("(add --help for the commands and options)")
    .configureOutput({ writeErr: (s) => Deno.stderr.writeSync(new TextEncoder().encode(s)) });
  program.command("start")
    .description("Start daos_server")
    .option("-p, --port <port>", "port for the control API (overrides the config)")
    .option("-i, --insecure", "allow insecure (plain-text) control connections")
    .option("-m, --modules <list>", "engine modules to load, e.g. mgmt (overrides the config)")
    .action((opts: StartOptions) => {
      action = start(program.opts<{ config?: string }>().config, opts);
    });
  registerConfigValidate(program, (p) => (action = p));
  program.command("version")
    .description("Print daos_server version")
    .action(() => {
      console.log(`daos_server version ${DAOS_VERSION}`);
    });
  try {
    program.parse(args, { from: "user" });
    return await action;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 1;
    return fatal(err);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
