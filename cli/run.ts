/**
 * The run of one dmg invocation over a command tree: commander set-up (exit override, parse
 * error capture), the global flags, the command body after the parse, the fatal error line, the
 * exit status and the -j envelope guarantee. It imports no command module: cli/main.ts passes
 * the full tree, cli/dmg.ts (the launcher's entry) a tree rebuilt from the cached manifest so
 * that `dmg version` and `--help` start without Connect, protobuf or YAML.
 */
import { Command, CommanderError, Option } from "commander";
import { preferLeafFlags } from "./commands/flag_collisions.ts";
import {
  type CommandContext,
  type GlobalOptions,
  type Injected,
  type Runner,
} from "./commands/context.ts";
import { CommandContext as Context } from "./commands/context.ts";
import {
  commandTree,
  missingRequiredFlags,
  parserError,
  unknownCommandError,
} from "./commands/parse_errors.ts";
import { EnvelopeWriter } from "./output/envelope.ts";
import { EXIT_ERROR, EXIT_OK, programName, reportFatal } from "./output/fatal.ts";
import { Logger, stderrSink, stdoutSink, type TextSink } from "./output/logger.ts";

const PROXY_VARS = ["http_proxy", "https_proxy", "ftp_proxy", "socks_proxy", "no_proxy"];

function scrubProxy(allow: boolean | undefined): void {
  const off = /^(1|t|true)$/i.test(Deno.env.get("DAOS_DISABLE_PROXY_SCRUB") ?? "");
  if (allow || off) return;
  for (const v of PROXY_VARS) {
    Deno.env.delete(v);
    Deno.env.delete(v.toUpperCase());
  }
}

/** The global flags and help layout of `dmg`, shared by the full and the cached tree. */
export function newProgram(): Command {
  return new Command("dmg")
    .description("DAOS management tool: administer a DAOS system")
    .option("-o, --config-path <path>", "client config file to load")
    .option("-i, --insecure", "have dmg attempt to connect without certificates")
    .option("-d, --debug", "enable debug output")
    .option("-j, --json", "enable JSON output")
    .option("-J, --json-logging", "enable JSON-formatted log output")
    .option("--log-file <path>", "log command output to the specified file")
    .option("--allow-proxy", "allow proxy configuration via environment")
    .option(
      "--timeout <duration>",
      "give up on a request after this long (e.g. 30s, 2m; default 30s for system query and " +
        "leader-query, 5m otherwise)",
    )
    .addOption(new Option("-l, --host-list <hosts>").hideHelp());
}

/** The full command tree replaces commander's one-level command list in `dmg --help`. */
export function finishProgram(program: Command): Command {
  program.configureHelp({ visibleCommands: () => [] });
  program.addHelpText("after", () => "\nCommands:\n" + commandTree(program));
  return program;
}

/** Commands that need neither configuration nor certificates (they talk to no server). */
const LOCAL_COMMANDS = ["version", "completion bash", "completion zsh"];

/** The words of `cmd` after the program name, e.g. "system query". */
export function commandPath(cmd: Command): string {
  const words: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) words.unshift(c.name());
  return words.join(" ");
}

/** Builds a command tree whose command bodies `run` wraps. */
export type ProgramBuilder = (run: Runner) => Command;

/**
 * Returned by {@link runDmg} when `admit` refused the command the arguments select: nothing
 * was written, the caller runs the arguments again over the full tree.
 */
export const NEED_FULL = -1;

/** Thrown by a cached tree's stand-in option parsers: only the full tree can parse the value. */
export class NeedFullTree extends Error {}

/**
 * Where a run of dmg writes, and what a test puts in place of the configuration file and the
 * transports (a MockInvoker).
 */
export interface MainIO extends Injected {
  stdout?: TextSink;
  stderr?: TextSink;
}

/**
 * Runs dmg with `args` over the tree `build` makes; returns the exit status, or NEED_FULL
 * (having written nothing) when `admit` refuses the selected command or a stand-in parser
 * threw {@link NeedFullTree}.
 */
export async function runDmg(
  build: ProgramBuilder,
  args: string[],
  argv0 = "dmg",
  io: MainIO = {},
  admit: (cmd: Command) => boolean = () => true,
): Promise<number> {
  const prog = programName(argv0);
  const stdout = io.stdout ?? stdoutSink;
  const stderr = io.stderr ?? stderrSink;
  let ctx: CommandContext | undefined;
  let body: (() => Promise<void>) | undefined;
  let selected: Command | undefined;
  // Commander calls the action synchronously during parse; the body runs afterwards so that
  // parse errors and command errors take the same exit path.
  const run: Runner = (fn) => (...a) => {
    selected = a[a.length - 1] as Command;
    body = async () => {
      const globals = program.opts<GlobalOptions>();
      scrubProxy(globals.allowProxy);
      const log = new Logger({
        stdout,
        stderr,
        jsonOutput: globals.json,
        debug: globals.debug,
        logFile: globals.logFile,
        jsonLogging: globals.jsonLogging,
      });
      ctx = new Context(globals, log, new EnvelopeWriter((t) => stdout.write(t)), io);
      const cmd = a[a.length - 1] as Command;
      if (globals.hostList !== undefined && !cmd.options.some((o) => o.long === "--host-list")) {
        throw new Error("unknown flag `l'/`host-list'");
      }
      // Declared positional arguments are the command's; anything beyond them is not.
      const extra = cmd.args.slice(cmd.registeredArguments.length);
      if (extra.length > 0) throw new Error(`unexpected arguments: ${extra.join(" ")}`);
      // dmg.md §2.2: configuration and certificates are loaded before any command runs
      // (`Unable to load Certificate Data: …`); only `version` needs neither.
      if (!LOCAL_COMMANDS.includes(commandPath(cmd))) await ctx.invoker();
      await fn(ctx, ...a);
      if (ctx.json) ctx.envelope.finish();
    };
    return Promise.resolve();
  };
  const program = build(run);
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  // The command commander is parsing, so a parse error can be put in its context.
  let parsing = program;
  for (const c of all(program)) {
    c.exitOverride().allowExcessArguments(true).configureOutput({
      writeErr: () => {},
      outputError: () => {},
    });
    c.hook("preSubcommand", (_self, sub) => {
      parsing = sub;
    });
    if (c.commands.length > 0) {
      c.action((_opts, self: Command) => {
        throw unknownCommandError(self);
      });
    }
  }

  try {
    try {
      await program.parseAsync(preferLeafFlags(program, args), { from: "user" });
    } catch (e) {
      if (e instanceof NeedFullTree) return NEED_FULL;
      if (e instanceof CommanderError) {
        if (e.code === "commander.helpDisplayed" || e.code === "commander.version") {
          return EXIT_OK;
        }
        if (e.code === "commander.missingMandatoryOptionValue") {
          throw missingRequiredFlags(parsing) ?? parserError(e);
        }
        throw parserError(e);
      }
      throw e;
    }
    if (selected && !admit(selected)) return NEED_FULL;
    if (body) await body();
    return EXIT_OK;
  } catch (err) {
    const log = ctx?.log ?? new Logger({ stdout, stderr, jsonOutput: args.includes("-j") });
    const json = ctx?.json ?? (args.includes("-j") || args.includes("--json"));
    if (json) {
      const envelope = ctx?.envelope ?? new EnvelopeWriter((t) => stdout.write(t));
      envelope.finish(err);
    }
    return reportFatal(log, prog, err) || EXIT_ERROR;
  } finally {
    ctx?.close();
  }
}
