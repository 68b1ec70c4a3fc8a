/**
 * Flag-parser messages in go-flags wording (dmg.md §1.3), translated from commander's errors,
 * and the command tree shown by `dmg --help`.
 */
import type { Command, CommanderError } from "commander";

function visibleNames(cmd: Command): string[] {
  return cmd.commands.filter((c) => !(c as unknown as { _hidden: boolean })._hidden)
    .map((c) => c.name()).sort();
}

/** "a, b or c" */
function orList(names: string[]): string {
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
}

function editDistance(a: string, b: string): number {
  const d: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length];
}

/**
 * The error for a group command invoked without a known sub-command:
 * `Please specify one command of: …` or ``Unknown command `x', did you mean `y'?``.
 */
export function unknownCommandError(cmd: Command): Error {
  const names = visibleNames(cmd);
  const word = cmd.args[0];
  if (word === undefined) return new Error(`Please specify one command of: ${orList(names)}`);
  let best: string | undefined;
  let bestDist = Infinity;
  for (const n of names) {
    const dist = editDistance(word, n);
    if (dist < bestDist) [best, bestDist] = [n, dist];
  }
  if (best !== undefined && bestDist < Math.max(word.length, best.length) / 2) {
    return new Error(`Unknown command \`${word}', did you mean \`${best}'?`);
  }
  return new Error(`Unknown command \`${word}'. Please specify one command of: ${orList(names)}`);
}

/** Translates a commander parse error into dmg's message. */
export function parserError(e: CommanderError): Error {
  const quoted = /'([^']*)'/.exec(e.message)?.[1] ?? "";
  switch (e.code) {
    case "commander.unknownOption":
      return new Error(`unknown flag \`${quoted.replace(/^-+/, "").replace(/=.*$/, "")}'`);
    case "commander.optionMissingArgument":
      return new Error(`expected argument for flag \`${quoted.replace(/ <[^>]*>$/, "")}'`);
    case "commander.missingArgument":
      return new Error(`the required argument \`<${quoted}>\` was not provided`);
    case "commander.missingMandatoryOptionValue":
      return new Error(`the required flag ${quotedFlag(quoted)} was not specified`);
    default:
      return new Error(e.message.replace(/^error: /, ""));
  }
}

/** `-a, --aa <x>` → `` `-a, --aa' `` (go-flags quoting, no value placeholder). */
function quotedFlag(flags: string): string {
  return `\`${flags.replace(/ [<[][^>\]]*[>\]]$/, "")}'`;
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
