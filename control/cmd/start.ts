/**
 * `daos_server start` (reference: cmd/daos_server/start.go): loads and checks daos_server.yml
 * (offline and hardware), applies the command-line overrides, then runs the control server,
 * the engines and (on replicas) the MS until SIGINT/SIGTERM. Exit status 0 after a clean stop.
 * Global -b raises the control log to DEBUG, -J makes it JSON lines, --syslog copies it to
 * syslog; --auto-format formats unformatted storage once the engines are up.
 */
import type { Command } from "commander";
import { loadServerConfigForStart } from "../config/validate_command.ts";
import { applyModulesFlag } from "../config/engine_modules.ts";
import type { ServerConfig } from "../config/types.ts";
import { createLogger, type Logger } from "../server/logging.ts";
import { waitForStopSignal } from "../server/signals.ts";
import type { CmdContext } from "./context.ts";
import { type Runner, uintArg } from "./runner.ts";

/** start's own options. */
export interface StartOptions {
  port?: string;
  storage?: string;
  modules?: string;
  targets?: number;
  xshelpernr?: number;
  firstcore?: number;
  group?: string;
  socket_dir?: string;
  insecure?: boolean;
  autoFormat?: boolean;
}

/** Applies start's overrides to a loaded config (the reference's setCLIOverrides). */
export function applyStartOverrides(
  cfg: ServerConfig,
  opts: StartOptions,
  notice: (m: string) => void,
): void {
  if (opts.port !== undefined) {
    const p = Number(opts.port);
    if (!/^\d+$/.test(opts.port) || p <= 0 || p > 65535) {
      throw new Error(`invalid --port "${opts.port}": must be an integer in 1..65535`);
    }
    cfg.port = p;
  }
  if (opts.insecure) cfg.transportConfig.allowInsecure = true;
  if (opts.modules !== undefined) applyModulesFlag(cfg.engines, opts.modules);
  if (opts.group !== undefined) {
    if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(opts.group)) {
      throw new Error(
        `invalid --group "${opts.group}": use 1 to 15 letters, digits or _ . : -`,
      );
    }
    cfg.name = opts.group;
    for (const e of cfg.engines) e.systemName = opts.group;
  }
  if (opts.socket_dir !== undefined) cfg.socketDir = opts.socket_dir;
  if (opts.storage !== undefined) {
    notice("-s/--storage is deprecated: set scm_mount of engine 0's first tier instead");
    const scm = cfg.engines[0]?.scm;
    if (!scm) throw new Error("--storage: engine 0 has no SCM tier to mount there");
    scm.scmMount = opts.storage;
  }
  for (const e of cfg.engines) {
    if (opts.targets !== undefined && opts.targets > 0) e.targets = opts.targets;
    if (opts.xshelpernr !== undefined) e.nrXsHelpers = opts.xshelpernr;
    if (opts.firstcore !== undefined && opts.firstcore > 0) e.firstCore = opts.firstcore;
  }
}

/** The control log for `start`: config settings, raised to DEBUG by -b, JSON by -J, + syslog. */
export function startLogger(cfg: ServerConfig, ctx: CmdContext): Logger {
  const log = createLogger({
    mask: ctx.globals.debug ? "debug" : cfg.controlLogMask,
    file: cfg.controlLogFile,
    json: cfg.controlLogJson || ctx.globals.jsonLogging === true,
  });
  if (!ctx.globals.syslog) return log;
  const sys = ctx.host.syslog();
  return {
    trace: (m) => log.trace(m),
    debug: (m) => log.debug(m),
    info: (m) => (log.info(m), sys.write("info", m)),
    notice: (m) => (log.notice(m), sys.write("notice", m)),
    error: (m) => (log.error(m), sys.write("error", m)),
    close: () => {
      log.close();
      void sys.close();
    },
  };
}

async function start(ctx: CmdContext, opts: StartOptions): Promise<void> {
  let path = ctx.globals.config;
  if (!path) {
    // The reference falls back to its install's config file.
    const dflt = ctx.host.defaultConfigPath;
    const exists = await Deno.stat(dflt).then(() => true, () => false);
    if (!exists) {
      throw new Error(
        `no configuration file given and ${dflt} does not exist: use daos_server start -o ` +
          "<daos_server.yml>",
      );
    }
    path = dflt;
  }
  const cfg = await loadServerConfigForStart(path);
  const notices: string[] = [];
  applyStartOverrides(cfg, opts, (m) => notices.push(m));
  const log = startLogger(cfg, ctx);
  try {
    for (const n of [...cfg.notices, ...notices]) log.notice(n);
    // Listen for stop signals from the start: a signal during start-up still stops cleanly.
    const signal = waitForStopSignal();
    // Loaded here: the server's modules (RPC stacks, etcd client) cost the other commands'
    // start-up time for nothing.
    const { startDaosServer } = await import("../server/daos_server.ts");
    const server = await startDaosServer(cfg, log, { autoFormat: opts.autoFormat === true });
    const sig = await signal;
    log.info(`received ${sig}, shutting down`);
    await server.stop();
  } finally {
    log.close();
  }
}

/** Registers `start`. */
export function registerStart(program: Command, run: Runner): void {
  program.command("start")
    .description("Start daos_server")
    .option("-p, --port <port>", "Port for the gRPC management interfect to listen on")
    .option("-s, --storage <path>", "Storage path (deprecated: engine 0 scm_mount)")
    .option("-m, --modules <list>", "List of server modules to load")
    .option("-t, --targets <n>", "number of targets to use (default use all cores)", uintArg)
    .option("-x, --xshelpernr <n>", "number of helper XS per VOS target", uintArg)
    .option("-f, --firstcore <n>", "index of first core for service thread", uintArg)
    .option("-g, --group <name>", "Server group name")
    .option("-d, --socket_dir <path>", "Location for all daos_server & daos_engine sockets")
    .option("-i, --insecure", "allow for insecure connections")
    .option(
      "--auto-format",
      "Automatically format storage on server start to bring-up engines without requiring " +
        "dmg storage format command",
    )
    .action(run((ctx, o: StartOptions) => start(ctx, o), { config: "use" }));
}
