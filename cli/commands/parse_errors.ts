/**
 * Flag-parser messages in go-flags wording (dmg.md §1.3), translated from commander's errors
 * by control/lib/goflags.ts (shared with daos_server), and the command tree of `dmg --help`.
 */
import type { Command, CommanderError } from "commander";
import {
  goFlagsParseError,
  quotedFlag,
  unknownCommandMessage,
  visibleCommandNames,
} from "../../control/lib/goflags.ts";

/**
 * The error for a group command invoked without a known sub-command:
 * `Please specify one command of: …` or ``Unknown command `x', did you mean `y'?``.
 */
export function unknownCommandError(cmd: Command): Error {
  return new Error(unknownCommandMessage(visibleCommandNames(cmd), cmd.args[0]));
}

/**
 * Translates a commander parse error into dmg's message (the go-flags wording daos_server
 * prints too, so the two binaries cannot drift apart).
 */
export function parserError(e: CommanderError): Error {
  return goFlagsParseError(e);
}

/**
 * go-flags' error for the required flags of `cmd` that were not given — ``the required flag
 * `-a, --aa' was not specified`` or ``the required flags `-a', `-b' and `-c' were not
 * specified`` — or undefined when none is missing. Commander reports only the first.
 */
export function missingRequiredFlags(cmd: Command): Error | undefined {
  const names = cmd.options
    .filter((o) => o.mandatory && cmd.getOptionValue(o.attributeName()) === undefined)
    .map((o) => quotedFlag(o.flags));
  if (names.length === 0) return undefined;
  if (names.length === 1) return new Error(`the required flag ${names[0]} was not specified`);
  const list = `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
  return new Error(`the required flags ${list} were not specified`);
}

/** The command tree, indented by depth, with aliases: `  storage (sto)` / `    scan`. */
export function commandTree(root: Command, depth = 1): string {
  let out = "";
  for (const c of root.commands) {
    if ((c as unknown as { _hidden: boolean })._hidden) continue;
    const aliases = c.aliases().length > 0 ? ` (${c.aliases().join(", ")})` : "";
    const head = `${"  ".repeat(depth)}${c.name()}${aliases}`;
    out += `${head.padEnd(28)} ${c.description()}\n` + commandTree(c, depth + 1);
  }
  return out;
}
