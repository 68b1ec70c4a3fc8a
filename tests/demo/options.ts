/**
 * The demo's command line: `demo [up] [--servers N] [--engines N] [--replicas N]
 * [--targets N] [--state-dir DIR]`, `demo down [--state-dir DIR]`, `demo status`.
 * Bad values are errors naming the flag, the value and the allowed range.
 */
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { resolve } from "node:path";

/** Default state dir (overridden by DAOS_DEMO_DIR, then by --state-dir). */
export const DEFAULT_STATE_DIR = "/tmp/daos-demo";

/** Shape of the local system to bring up. */
export interface UpOptions {
  kind: "up";
  stateDir: string;
  servers: number;
  engines: number;
  replicas: number;
  targets: number;
  /** Bound on each wait for all ranks to join, in seconds. */
  joinTimeout: number;
}

/** A parsed demo command line. */
export type DemoCommand =
  | UpOptions
  | { kind: "down"; stateDir: string }
  | { kind: "status"; stateDir: string }
  | { kind: "help"; text: string };

/** A command line the demo cannot run; the message names the input and the fix. */
export class UsageError extends Error {}

function intIn(flag: string, lo: number, hi: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !Number.isInteger(n) || n < lo || n > hi) {
      throw new InvalidArgumentError(`${flag} "${v}": must be an integer from ${lo} to ${hi}`);
    }
    return n;
  };
}

/** Parses the demo's arguments (without the program name). */
export function parseDemoArgs(
  args: readonly string[],
  env: { get(name: string): string | undefined } = Deno.env,
): DemoCommand {
  const defaultDir = env.get("DAOS_DEMO_DIR") || DEFAULT_STATE_DIR;
  let result: DemoCommand | undefined;
  let help = "";
  const dirOpt = (c: Command) =>
    c.option(
      "--state-dir <dir>",
      "where the demo keeps configs, logs, storage and state.json (env DAOS_DEMO_DIR)",
      defaultDir,
    );
  const program = new Command("demo")
    .description("A local DAOS system on loopback in one command")
    .exitOverride()
    .configureOutput({ writeOut: (s) => (help += s), writeErr: (s) => (help += s) })
    .addHelpText(
      "after",
      "\nUp is the default command; 'demo up --help' lists the system's shape flags " +
        "(--servers, --engines, --replicas, --targets).",
    );

  dirOpt(
    program.command("up", { isDefault: true })
      .description("bring up the system (default); says so if one is already running")
      .option("--servers <n>", "daos_servers on 127.0.0.[1-n]", intIn("--servers", 1, 32), 3)
      .option("--engines <n>", "engines per server", intIn("--engines", 1, 4), 2)
      .option(
        "--replicas <n>",
        "MS replicas (1 or 3; 3 needs 3 servers)",
        intIn("--replicas", 1, 7),
      )
      .option("--targets <n>", "targets per engine", intIn("--targets", 1, 16), 1)
      .option(
        "--join-timeout <s>",
        "seconds to wait for all ranks to join",
        intIn("--join-timeout", 5, 3600),
        180,
      ),
  ).action((o: Omit<UpOptions, "kind" | "replicas"> & { replicas?: number }) => {
    const replicas = o.replicas ?? (o.servers >= 3 ? 3 : 1);
    if (replicas % 2 === 0 || replicas > o.servers) {
      throw new UsageError(
        `--replicas ${replicas}: must be odd and at most --servers (${o.servers}); ` +
          `use --replicas 1, or 3 with at least 3 servers`,
      );
    }
    result = { kind: "up", ...o, stateDir: resolve(o.stateDir), replicas };
  });
  dirOpt(program.command("down").description("stop everything and remove every file and mount"))
    .action((o: { stateDir: string }) => {
      result = { kind: "down", stateDir: resolve(o.stateDir) };
    });
  dirOpt(program.command("status").description("say whether a demo system is running"))
    .action((o: { stateDir: string }) => {
      result = { kind: "status", stateDir: resolve(o.stateDir) };
    });

  try {
    program.parse([...args], { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return { kind: "help", text: help };
      throw new UsageError(help.trim().replace(/^error: /, "") || e.message);
    }
    throw e;
  }
  if (!result) throw new UsageError("no command given; try: demo --help");
  return result;
}
