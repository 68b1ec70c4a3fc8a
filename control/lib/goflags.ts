/**
 * go-flags wording (dmg.md §1.3) for the control plane's commander-based CLIs: the parser's
 * error messages and its help layout. The DAOS tools (dmg, daos_server) are built on
 * github.com/jessevdk/go-flags, and scripts match its messages, so both of ours print them.
 * Kept free of any one program's commands; `daos_server` uses it directly and dmg through
 * cli/commands/parse_errors.ts.
 */
import type { Command, CommanderError, Option } from "commander";

/** Visible sub-command names of `cmd`, sorted (go-flags sorts the command list). */
export function visibleCommandNames(cmd: Command): string[] {
  return cmd.commands.filter((c) => !isHidden(c)).map((c) => c.name()).sort();
}

function isHidden(c: Command): boolean {
  return (c as unknown as { _hidden?: boolean })._hidden === true;
}

/** "a, b or c" (go-flags' list of alternatives). */
export function orList(names: readonly string[]): string {
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
}

/** Levenshtein distance (go-flags suggests a command closer than half the word's length). */
export function editDistance(a: string, b: string): number {
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
 * go-flags' message for a group invoked without a known sub-command: `Please specify one
 * command of: …` (no word), ``Unknown command `x', did you mean `y'?`` (a close name) or
 * ``Unknown command `x'. Please specify one command of: …``.
 */
export function unknownCommandMessage(names: readonly string[], word: string | undefined): string {
  if (word === undefined) return `Please specify one command of: ${orList(names)}`;
  let best: string | undefined;
  let bestDist = Infinity;
  for (const n of names) {
    const dist = editDistance(word, n);
    if (dist < bestDist) [best, bestDist] = [n, dist];
  }
  if (best !== undefined && bestDist < Math.max(word.length, best.length) / 2) {
    return `Unknown command \`${word}', did you mean \`${best}'?`;
  }
  return `Unknown command \`${word}'. Please specify one command of: ${orList(names)}`;
}

/** `-a, --aa <x>` → `` `-a, --aa' `` (go-flags quoting, no value placeholder). */
export function quotedFlag(flags: string): string {
  return `\`${flags.replace(/ [<[][^>\]]*[>\]]$/, "")}'`;
}

/** Translates a commander parse error into go-flags' message. */
export function goFlagsParseError(e: CommanderError): Error {
  const quoted = /'([^']*)'/.exec(e.message)?.[1] ?? "";
  switch (e.code) {
    case "commander.unknownOption":
      return new Error(`unknown flag \`${quoted.replace(/^-+/, "").replace(/=.*$/, "")}'`);
    case "commander.optionMissingArgument":
      return new Error(`expected argument for flag ${quotedFlag(quoted)}`);
    case "commander.missingArgument":
      return new Error(`the required argument \`<${quoted}>\` was not provided`);
    case "commander.missingMandatoryOptionValue":
      return new Error(`the required flag ${quotedFlag(quoted)} was not specified`);
    case "commander.invalidArgument": {
      // commander: "error: option '-S, --x <n>' argument 'q' is invalid. <our message>"
      const m = /^error: option '([^']*)' argument '([^']*)' is invalid\. (.*)$/s.exec(e.message);
      if (m) return new Error(`invalid argument for flag ${quotedFlag(m[1])} ${m[3]}`);
      return new Error(e.message.replace(/^error: /, ""));
    }
    default:
      return new Error(e.message.replace(/^error: /, ""));
  }
}

interface HelpRow {
  left: string;
  text: string;
}

function optionRow(o: Option): HelpRow {
  const short = o.short ? `${o.short}, ` : "    ";
  const value = o.required || o.optional ? "=" : "";
  return { left: `  ${short}${o.long ?? ""}${value}`, text: o.description };
}

function path(cmd: Command): Command[] {
  const out: Command[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) out.unshift(c);
  return out;
}

/**
 * Help in go-flags' layout for `cmd`: `Usage:` (the command path with `[OPTIONS]` and
 * `[<name>-OPTIONS]` where the level has options, then `<command>` or the positional
 * arguments), the description, the root's `Application Options:`, `Help Options:`, each
 * level's `[<name> command options]` and `Available commands:`. Flag columns line up across
 * the option groups, as go-flags aligns them.
 */
export function goFlagsHelp(cmd: Command): string {
  const levels = path(cmd);
  const root = levels[0];
  const usage = levels.map((c, i) => {
    const opts = c.options.filter((o) => !o.hidden).length > 0;
    if (i === 0) return `${c.name()}${opts ? " [OPTIONS]" : ""}`;
    return `${c.name()}${opts ? ` [${c.name()}-OPTIONS]` : ""}`;
  });
  let tail = "";
  if (cmd.commands.length > 0) tail = " <command>";
  else {
    const args =
      (cmd as unknown as { registeredArguments: { name(): string; required: boolean }[] })
        .registeredArguments ?? [];
    tail = args.map((a) => ` [${a.name()}]`).join("");
  }
  const groups: { title: string; rows: HelpRow[] }[] = [];
  const rootRows = root.options.filter((o) => !o.hidden).map(optionRow);
  if (rootRows.length > 0) groups.push({ title: "Application Options:", rows: rootRows });
  groups.push({
    title: "Help Options:",
    rows: [{ left: "  -h, --help", text: "Show this help message" }],
  });
  for (const c of levels.slice(1)) {
    // Command option groups are indented one more level in go-flags.
    const rows = c.options.filter((o) => !o.hidden).map(optionRow)
      .map((r) => ({ left: `    ${r.left}`, text: r.text }));
    if (rows.length > 0) groups.push({ title: `[${c.name()} command options]`, rows });
  }
  const width = Math.max(...groups.flatMap((g) => g.rows.map((r) => r.left.length)));
  let out = `Usage:\n  ${usage.join(" ")}${tail}\n\n`;
  const desc = cmd.description();
  if (desc !== "") out += `${desc}\n\n`;
  for (const g of groups) {
    out += `${g.title}\n`;
    for (const r of g.rows) out += `${r.left.padEnd(width)}  ${r.text}`.trimEnd() + "\n";
    out += "\n";
  }
  const subs = cmd.commands.filter((c) => !isHidden(c)).sort((a, b) =>
    a.name() < b.name() ? -1 : 1
  );
  if (subs.length > 0) {
    const w = Math.max(...subs.map((c) => displayName(c).length));
    out += "Available commands:\n";
    for (const c of subs) out += `  ${displayName(c).padEnd(w)}  ${c.description()}\n`;
  }
  return out;
}

/** `name (aliases: a, b)` as go-flags lists a command with aliases. */
function displayName(c: Command): string {
  const aliases = c.aliases();
  return aliases.length > 0 ? `${c.name()} (aliases: ${aliases.join(", ")})` : c.name();
}
