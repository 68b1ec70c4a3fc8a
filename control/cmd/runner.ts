/** How a daos_server sub-command registers its body with the program (see program.ts). */
import { type Command, InvalidArgumentError } from "commander";
import type { CmdContext } from "./context.ts";
import { loadServerConfig } from "../config/load.ts";
import type { ServerConfig } from "../config/types.ts";
import { wrapError } from "../lib/fault.ts";

/**
 * A command body: runs after parsing, with the context, its options and its command. It may
 * return an exit status to fail without an error line (a report that already says why).
 */
export type Body<O> = (ctx: CmdContext, opts: O, cmd: Command) => Promise<void | number>;

/** Whether a command reads daos_server.yml (the reference's cfgLoader commands). */
export interface BodySpec {
  /** "reject": -o is an error for this command (the reference refuses a config it ignores). */
  config: "use" | "reject" | "ignore";
}

/** Wraps a body into a commander action (the program runs it after parsing). */
export type Runner = <O>(fn: Body<O>, spec: BodySpec) => (...args: unknown[]) => void;

/** Parses a non-negative integer flag value (go-flags' uint), naming the value when it is not one. */
export function uintArg(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    // commander reports it as "invalid argument"; goFlagsParseError words it as go-flags.
    throw new InvalidArgumentError(
      `(expected uint): strconv.ParseUint: parsing "${value}": invalid syntax`,
    );
  }
  return Number(value);
}

/**
 * The config of a command that may use one: -o's file, else the default file when it exists,
 * else none. A file given but unreadable or invalid is an error (as the reference's
 * `failed to load config from <path>`).
 */
export async function optionalConfig(ctx: CmdContext): Promise<ServerConfig | undefined> {
  let path = ctx.globals.config;
  if (path === undefined) {
    try {
      await Deno.stat(ctx.host.defaultConfigPath);
      path = ctx.host.defaultConfigPath;
    } catch {
      return undefined;
    }
  }
  try {
    const cfg = await loadServerConfig(path);
    ctx.log.debug(`DAOS Server config loaded from ${path}`);
    return cfg;
  } catch (e) {
    throw wrapError(e, `failed to load config from ${path}`);
  }
}
