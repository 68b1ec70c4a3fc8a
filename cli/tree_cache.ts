/**
 * The cached command tree: the names, aliases, descriptions, flags and help texts of every dmg
 * command, taken from the full tree (cli/main.ts) when bin/dmg's bundle is built and rebuilt
 * into commander commands at start-up without importing a single command module. `dmg
 * --help`, `dmg <cmd> --help`, `dmg version` and every parse error then cost commander alone;
 * any other command runs again over the full tree (see cli/dmg.ts).
 *
 * The copy is generic (every plain-data field of commander's Command, Option and Argument), so
 * a new command or flag needs nothing here; what cannot be copied as data (a custom option
 * parser) gets a stand-in that sends the run to the full tree, and what cannot be stood in for
 * (a life-cycle hook, a help configuration) fails the build with the command's name.
 */
import { Argument, Command, Option } from "commander";
import type { EventEmitter } from "node:events";
import { NeedFullTree } from "./run.ts";

/** JSON data. */
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** One option or argument: its plain-data fields; `parseArg` true where it had a parser. */
type Fields = Record<string, Json>;

/** One command of the cached tree. */
export interface TreeNode {
  fields: Fields;
  options: Fields[];
  args: Fields[];
  /** Help texts (`addHelpText`) by event name, e.g. "afterHelp". */
  helpText: Record<string, string[]>;
  /** The command has an action (a leaf that runs something). */
  action: boolean;
  commands: TreeNode[];
}

// Per-run state of commander, set again by every parse and by cli/run.ts.
const RUNTIME = new Set([
  "parent",
  "commands",
  "options",
  "registeredArguments",
  "_args",
  "args",
  "rawArgs",
  "processedArgs",
  "_scriptPath",
  "_optionValues",
  "_optionValueSources",
  "_outputConfiguration",
  "_savedState",
  "_events",
  "_eventsCount",
  "_maxListeners",
  "_actionHandler",
  "_exitCallback",
]);
const HELP_EVENTS = ["beforeAllHelp", "beforeHelp", "afterHelp", "afterAllHelp"];

function isJson(v: unknown): v is Json {
  if (v === null || ["string", "number", "boolean"].includes(typeof v)) return true;
  if (Array.isArray(v)) return v.every(isJson);
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.values(v as object).every(isJson);
  }
  return false;
}

function where(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** Plain-data fields of an Option or Argument; `parseArg: true` marks a custom parser. */
function dataFields(obj: object, cmd: Command): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    if (k === "parseArg") {
      out.parseArg = true;
    } else if (isJson(v)) {
      out[k] = v;
    } else {
      throw new Error(
        `cannot cache the command tree: "${where(cmd)}" has a ${k} that is not plain data; ` +
          `give it a JSON-able value or extend cli/tree_cache.ts`,
      );
    }
  }
  return out;
}

/** Captures the command tree `root` (before cli/run.ts's finishProgram) as JSON data. */
export function captureTree(cmd: Command): TreeNode {
  const fields: Fields = {};
  const node = cmd as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(node)) {
    if (RUNTIME.has(k) || v === undefined) continue;
    if (isJson(v)) {
      fields[k] = v;
    } else if (
      !(typeof v === "object" && v !== null && Object.keys(v).length === 0) &&
      !(k === "_lifeCycleHooks" && Object.keys(v as object).length === 0)
    ) {
      throw new Error(
        `cannot cache the command tree: "${where(cmd)}" sets ${k}, which is not plain data; ` +
          `extend cli/tree_cache.ts to carry it`,
      );
    }
  }
  const helpText: Record<string, string[]> = {};
  // A commander Command is an EventEmitter (its typings do not say so).
  const emitter = cmd as unknown as EventEmitter;
  for (const ev of emitter.eventNames()) {
    const name = String(ev);
    if (name.startsWith("option:")) continue;
    if (!HELP_EVENTS.includes(name)) {
      throw new Error(
        `cannot cache the command tree: "${where(cmd)}" listens to ${name}; ` +
          `extend cli/tree_cache.ts to carry it`,
      );
    }
    helpText[name] = emitter.listeners(ev).map((fn) => {
      let text = "";
      (fn as (ctx: unknown) => void)({
        error: false,
        command: cmd,
        write: (t: string) => text += t,
      });
      return text;
    });
  }
  return {
    fields,
    options: cmd.options.map((o) => dataFields(o, cmd)),
    args: cmd.registeredArguments.map((a) => dataFields(a, cmd)),
    helpText,
    action: typeof node._actionHandler === "function",
    commands: cmd.commands.map(captureTree),
  };
}

function standInParser(): never {
  throw new NeedFullTree();
}

function restore<T extends object>(target: T, fields: Fields): T {
  const { parseArg, ...rest } = fields;
  Object.assign(target, structuredClone(rest));
  if (parseArg) (target as { parseArg?: unknown }).parseArg = standInParser;
  return target;
}

/**
 * Rebuilds commander commands from `tree`; `action(cmd)` gives each leaf that had an action
 * its handler.
 */
export function rebuildTree(
  tree: TreeNode,
  action: (cmd: Command) => Parameters<Command["action"]>[0],
): Command {
  const cmd = new Command();
  Object.assign(cmd, structuredClone(tree.fields));
  for (const o of tree.options) {
    cmd.addOption(restore(new Option(String(o.flags), String(o.description ?? "")), o));
  }
  for (const a of tree.args) {
    cmd.addArgument(restore(new Argument(String(a._name)), a));
  }
  for (const [ev, texts] of Object.entries(tree.helpText)) {
    for (const text of texts) cmd.on(ev, (ctx: { write(t: string): void }) => ctx.write(text));
  }
  for (const child of tree.commands) cmd.addCommand(rebuildTree(child, action));
  if (tree.action) cmd.action(action(cmd));
  return cmd;
}
