/**
 * `dmg system set-attr|get-attr|del-attr|set-prop|get-prop` (the reference's dmg system.go),
 * and the pool-dependent `system rebuild start|stop`, `system self-heal eval` and
 * `system cleanup`, which refuse until the system has pools.
 *
 * Arguments are parsed as the reference's property flags: `key:val[,key:val...]` for set,
 * `key[,key...]` for get/del; properties are checked against lib/system_props.ts before any
 * request (the MS checks again).
 */
import type { Command } from "commander";
import type { Invoker } from "../../control/lib/control/invoker.ts";
import * as api from "../../control/lib/control/system_attrs.ts";
import type { MsOptions } from "../../control/lib/control/system.ts";
import { parseSystemProp, systemProp } from "../../control/lib/system_props.ts";
import * as print from "../printers/system_attrs.ts";
import { render, request } from "../render.ts";
import {
  type CommandContext,
  commandGroup,
  DEFAULT_QUERY_MS,
  type RegisterCommands,
} from "./context.ts";

/** Longest key accepted in a key:val argument (the reference's MaxPropKeyLen). */
export const MAX_KEY_LEN = 20;
/** Longest value accepted in a key:val argument (the reference's MaxPropValLen). */
export const MAX_VALUE_LEN = 128;

/**
 * Parses `key:val[,key:val...]`: every pair needs exactly one `:`, a non-empty key of at most
 * MAX_KEY_LEN characters and a non-empty value of at most MAX_VALUE_LEN.
 */
export function parseKeyValues(arg: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of arg.split(",")) {
    const kv = pair.split(":");
    if (kv.length !== 2) throw new Error(`invalid property "${pair}" (must be key:val)`);
    const [key, value] = kv.map((s) => s.trim());
    if (key === "") throw new Error("key must not be empty");
    if (key.length > MAX_KEY_LEN) {
      throw new Error(`"${key}": key too long (${key.length} > ${MAX_KEY_LEN})`);
    }
    if (value === "") throw new Error(`value of "${key}" must not be empty`);
    if (value.length > MAX_VALUE_LEN) {
      throw new Error(`value of "${key}" too long (${value.length} > ${MAX_VALUE_LEN})`);
    }
    out[key] = value;
  }
  return out;
}

/** Parses `key[,key...]` (no argument: none); keys must be non-empty and short enough. */
export function parseKeys(arg: string | undefined): string[] {
  if (arg === undefined || arg.trim() === "") return [];
  const keys: string[] = [];
  for (const k of arg.split(",").map((s) => s.trim())) {
    if (k === "") throw new Error("key must not be empty");
    if (k.length > MAX_KEY_LEN) {
      throw new Error(`"${k}": key too long (${k.length} > ${MAX_KEY_LEN})`);
    }
    if (!keys.includes(k)) keys.push(k);
  }
  return keys;
}

/** set-prop's argument: properties checked and normalised (unknown, read-only, bad value). */
export function parseSetProps(arg: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parseKeyValues(arg))) {
    const p = parseSystemProp(k, v);
    out[p.name] = p.value;
  }
  return out;
}

/** get-prop's argument: known property names (none: all). */
export function parseGetProps(arg: string | undefined): string[] {
  return parseKeys(arg).map((k) => systemProp(k).name);
}

function askMs<T>(
  ctx: CommandContext,
  prefix: string,
  send: (inv: Invoker, opts: MsOptions, sys: string) => Promise<T>,
  deadlineMs?: number,
): Promise<T> {
  return request(ctx, prefix, async () => {
    const sys = (await ctx.config()).name;
    return send(await ctx.invoker(), await ctx.msOptions(deadlineMs), sys);
  });
}

/** A write whose success is one line (set-attr, del-attr, set-prop); `-j`: no payload. */
function renderDone(ctx: CommandContext, what: string): void {
  render(ctx, { json: () => null, text: () => [["info", `${what} succeeded`]] });
}

/** `dmg system set-attr key:val[,key:val...]`. */
export async function systemSetAttr(ctx: CommandContext, arg: string): Promise<void> {
  const attributes = parseKeyValues(arg);
  await askMs(
    ctx,
    "system set-attr failed",
    (inv, o, sys) => api.systemSetAttr(inv, o, { sys, attributes }),
  );
  renderDone(ctx, "system set-attr");
}

/** `dmg system del-attr key[,key...]`: set-attr with empty values (as the reference). */
export async function systemDelAttr(ctx: CommandContext, arg: string): Promise<void> {
  const keys = parseKeys(arg);
  if (keys.length === 0) throw new Error("key must not be empty");
  const attributes = Object.fromEntries(keys.map((k) => [k, ""]));
  await askMs(
    ctx,
    "system del-attr failed",
    (inv, o, sys) => api.systemSetAttr(inv, o, { sys, attributes }),
  );
  renderDone(ctx, "system del-attr");
}

/** `dmg system get-attr [key[,key...]]`. */
export async function systemGetAttr(ctx: CommandContext, arg?: string): Promise<void> {
  const keys = parseKeys(arg);
  const attrs = await askMs(
    ctx,
    "system get-attr failed",
    (inv, o, sys) => api.systemGetAttr(inv, o, { sys, keys }),
    DEFAULT_QUERY_MS,
  );
  render(ctx, {
    json: () => print.attrsJson(attrs),
    text: () => [["info", print.printAttrs(attrs)]],
  });
}

/** `dmg system set-prop name:val[,name:val...]`. */
export async function systemSetProp(ctx: CommandContext, arg: string): Promise<void> {
  const properties = parseSetProps(arg);
  await askMs(
    ctx,
    "system set-prop failed",
    (inv, o, sys) => api.systemSetProp(inv, o, { sys, properties }),
  );
  renderDone(ctx, "system set-prop");
}

/** `dmg system get-prop [name[,name...]]`. */
export async function systemGetProp(ctx: CommandContext, arg?: string): Promise<void> {
  const keys = parseGetProps(arg);
  const props = await askMs(
    ctx,
    "system get-prop failed",
    (inv, o, sys) => api.systemGetProp(inv, o, { sys, keys }),
    DEFAULT_QUERY_MS,
  );
  render(ctx, {
    json: () => print.propsJson(props),
    text: () => [["info", print.printProps(props)]],
  });
}

/**
 * The refusal of a command that acts on pools: this system has none (pools are not
 * implemented yet), so there is nothing to rebuild, evaluate or clean up. Exit status 1; `-j`
 * carries the error in the envelope. No request is sent.
 */
export function needsPools(ctx: CommandContext, what: string, acts: string): Promise<void> {
  const error = `${what} needs pools: this DAOS system has no pools (pool support is not ` +
    `available yet), so there is nothing to ${acts}`;
  render(ctx, { json: () => null, text: () => [], error });
  return Promise.resolve();
}

/** Registers the attribute, property and pool-dependent commands under `dmg system`. */
export const registerSystemAttrs: RegisterCommands = (program, run) => {
  const system = commandGroup(
    program,
    "system",
    "sys",
    "Perform distributed tasks related to DAOS system",
  );
  const arg = (c: Command, name: string, desc: string) => c.argument(name, desc);

  arg(
    system.command("set-attr").description("Set system attributes"),
    "<attrs>",
    "system attributes to set (key:val[,key:val...])",
  ).action(run((ctx, a: string) => systemSetAttr(ctx, a)));

  arg(
    system.command("get-attr").description("Get system attributes"),
    "[attrs]",
    "system attributes to get (key[,key...])",
  ).action(run((ctx, a: string | undefined) => systemGetAttr(ctx, a)));

  arg(
    system.command("del-attr").description("Delete system attributes"),
    "<attrs>",
    "system attributes to delete (key[,key...])",
  ).action(run((ctx, a: string) => systemDelAttr(ctx, a)));

  arg(
    system.command("set-prop").description("Set system properties"),
    "<props>",
    "system properties to set (key:val[,key:val...])",
  ).action(run((ctx, a: string) => systemSetProp(ctx, a)));

  arg(
    system.command("get-prop").description("Get system properties"),
    "[props]",
    "system properties to get (key[,key...])",
  ).action(run((ctx, a: string | undefined) => systemGetProp(ctx, a)));

  const rebuild = system.command("rebuild").description("Manage rebuild on all pools");
  rebuild.command("start").description("Start or restart rebuild on all pools")
    .action(run((ctx) => needsPools(ctx, "system rebuild start", "rebuild")));
  rebuild.command("stop").description("Stop rebuild on all pools")
    .action(run((ctx) => needsPools(ctx, "system rebuild stop", "stop")));

  system.command("self-heal").description("Manage system self-heal")
    .command("eval").description("Evaluate the self-heal policy on all pools")
    .action(run((ctx) => needsPools(ctx, "system self-heal eval", "evaluate")));

  arg(
    system.command("cleanup").description("Clean up pool handles of a machine")
      .option("-v, --verbose", "output additional cleanup information"),
    "<machine>",
    "machine to clean up",
  ).action(run((ctx) => needsPools(ctx, "system cleanup", "clean up")));
};
