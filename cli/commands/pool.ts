/**
 * `dmg pool destroy|get-prop|set-prop` (the reference's dmg pool.go). Properties are checked
 * against control/lib/pool_props.ts before any request (the MS checks again).
 */
import type { Invoker } from "../../control/lib/control/invoker.ts";
import * as api from "../../control/lib/control/pool.ts";
import type { MsOptions } from "../../control/lib/control/system.ts";
import { DaosStatusError, wrapError } from "../../control/lib/fault.ts";
import {
  formatPoolProp,
  parsePoolProps,
  poolPropByName,
  poolPropByNumber,
  poolPropJsonValue,
  type PoolPropValue,
} from "../../control/lib/pool_props.ts";
import { formatTable } from "../../control/lib/txtfmt.ts";
import { registerPoolCreate } from "./pool_create.ts";
import { registerPoolList } from "./pool_list.ts";
import type { GoJsonValue } from "../output/gojson.ts";
import { render, request } from "../render.ts";
import { registerPoolQuery } from "./pool_query.ts";
import { registerPoolRanks } from "./pool_ranks.ts";
import {
  type CommandContext,
  commandGroup,
  DEFAULT_QUERY_MS,
  type RegisterCommands,
} from "./context.ts";

async function msArgs(ctx: CommandContext, deadlineMs?: number) {
  const sys = (await ctx.config()).name;
  const inv: Invoker = await ctx.invoker();
  const opts: MsOptions = await ctx.msOptions(deadlineMs);
  return { sys, inv, opts };
}

/**
 * `dmg pool destroy <pool>` (§5.15): one stdout line either way; a failure is also the
 * command's fatal error, and `-j` carries the DER code of its root cause as status.
 */
export async function poolDestroy(
  ctx: CommandContext,
  id: string,
  flags: { force?: boolean; recursive?: boolean },
): Promise<void> {
  let error: Error | undefined;
  try {
    const { sys, inv, opts } = await msArgs(ctx);
    const resp = await api.poolDestroy(inv, opts, {
      sys,
      id,
      force: flags.force ?? false,
      recursive: flags.recursive ?? false,
    });
    if (resp.status !== 0) throw new DaosStatusError(resp.status);
  } catch (e) {
    error = wrapError(e, "pool destroy failed");
  }
  render(ctx, {
    json: () => null,
    text: () => [[
      "info",
      error ? `Pool-destroy command failed: ${error.message}` : "Pool-destroy command succeeded",
    ]],
    error,
  });
}

/** A property as get-prop reports it. */
interface ShownProp {
  number: number;
  value: PoolPropValue | undefined;
}

/** `Pool <id> properties:` and a Name/Value table (the reference's PrintPoolProperties). */
export function printPoolProps(id: string, props: readonly ShownProp[]): string {
  const rows = props.map((p) => {
    const def = poolPropByNumber(p.number);
    const name = def ? `${def.description} (${def.name})` : `unknown (${p.number})`;
    const value = p.value === undefined ? "not set" : formatPoolProp(p.number, p.value);
    return { Name: name, Value: value };
  });
  return `Pool ${id} properties:\n${formatTable(["Name", "Value"], rows)}`;
}

/** `-j` payload of get-prop: `[{name, description, value}]` as the reference marshals it. */
export function poolPropsJson(props: readonly ShownProp[]): GoJsonValue {
  return props.map((p) => {
    const def = poolPropByNumber(p.number);
    return {
      name: def?.name ?? String(p.number),
      description: def?.description ?? "",
      value: p.value === undefined ? "not set" : poolPropJsonValue(p.number, p.value),
    } as GoJsonValue;
  });
}

/** `dmg pool get-prop <pool> [name[,name...]]`: the named properties (all for none). */
export async function poolGetProp(ctx: CommandContext, id: string, names?: string): Promise<void> {
  // Unknown names are refused before any request.
  const wanted = (names ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")
    .map((n) => poolPropByName(n));
  const resp = await request(ctx, "pool get-prop failed", async () => {
    const { sys, inv, opts } = await msArgs(ctx, DEFAULT_QUERY_MS);
    const r = await api.poolGetProp(inv, opts, {
      sys,
      id,
      properties: wanted.map((d) => ({ number: d.number })),
    });
    if (r.status !== 0) throw new DaosStatusError(r.status);
    return r;
  });
  const props: ShownProp[] = resp.properties.map((p) => ({
    number: p.number,
    value: p.value.case === "numval"
      ? Number(p.value.value)
      : p.value.case === "strval"
      ? p.value.value
      : undefined,
  })).sort((a, b) => {
    const an = poolPropByNumber(a.number)?.name ?? "";
    const bn = poolPropByNumber(b.number)?.name ?? "";
    return an < bn ? -1 : an > bn ? 1 : 0;
  });
  render(ctx, {
    json: () => poolPropsJson(props),
    text: () => [["info", printPoolProps(id, props)]],
  });
}

/** `dmg pool set-prop <pool> name:value[,name:value...]`. */
export async function poolSetProp(ctx: CommandContext, id: string, arg: string): Promise<void> {
  const settings = parsePoolProps(arg, false);
  await request(ctx, "pool set-prop failed", async () => {
    const { sys, inv, opts } = await msArgs(ctx);
    const r = await api.poolSetProp(inv, opts, {
      sys,
      id,
      properties: settings.map((s) => ({
        number: s.def.number,
        value: typeof s.value === "number"
          ? { case: "numval" as const, value: BigInt(s.value) }
          : { case: "strval" as const, value: s.value },
      })),
    });
    if (r.status !== 0) throw new DaosStatusError(r.status);
  });
  render(ctx, { json: () => null, text: () => [["info", "pool set-prop succeeded"]] });
}

/** Registers `dmg pool` and its commands. */
export const registerPool: RegisterCommands = (program, run) => {
  const pool = commandGroup(program, "pool", undefined, "Perform tasks related to DAOS pools");
  registerPoolCreate(pool, run);
  registerPoolList(program, pool, run);

  pool.command("destroy").description("Destroy a DAOS pool")
    .option("-r, --recursive", "remove pool with existing containers")
    .option("-f, --force", "forcibly remove pool with active client connections")
    .argument("<pool>", "pool label or UUID")
    .action(
      run((ctx, id: string, o: { force?: boolean; recursive?: boolean }) =>
        poolDestroy(ctx, id, o)
      ),
    );

  pool.command("get-prop").description("Get pool properties")
    .argument("<pool>", "pool label or UUID")
    .argument("[props]", "pool properties to get (name[,name...])")
    .action(run((ctx, id: string, names: string | undefined) => poolGetProp(ctx, id, names)));

  pool.command("set-prop").description("Set pool properties")
    .argument("<pool>", "pool label or UUID")
    .argument("<props>", "pool properties to set (name:value[,name:value...])")
    .action(run((ctx, id: string, arg: string) => poolSetProp(ctx, id, arg)));

  registerPoolQuery(pool, run);
  registerPoolRanks(pool, run);
};
