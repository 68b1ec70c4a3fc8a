/**
 * System properties in the MS (`dmg system set-prop|get-prop`, the reference's SystemSetProp /
 * SystemGetProp over its user-property attributes): each settable property is the attribute
 * `prop.<name>`; the read-only ones (`daos_system`, `daos_version`) are computed here. The
 * names, defaults and value rules are control/lib/system_props.ts's, which dmg checks too.
 */
import { makeFault } from "../../lib/fault.ts";
import {
  type ComputedProps,
  parseSystemProp,
  SYSTEM_PROPS,
  systemProp,
  SystemPropError,
} from "../../lib/system_props.ts";
import { noChanges } from "../db.ts";
import { PROP_PREFIX } from "./attrs.ts";
import type { OpsContext } from "./context.ts";

/** A property error as the fault the request fails with (the message names the fix). */
function propFault(e: unknown): unknown {
  if (!(e instanceof SystemPropError)) return e;
  return makeFault(
    "SystemUnknown",
    e.message,
    "list the properties and their values with dmg system get-prop",
  );
}

/**
 * SystemSetProp (leader): checks every property first (unknown, read-only or bad value →
 * nothing is written), then stores the normalised values in one fenced write.
 */
export async function setProps(
  ctx: OpsContext,
  props: Readonly<Record<string, string>>,
): Promise<void> {
  const entries = Object.entries(props);
  if (entries.length === 0) {
    throw makeFault(
      "SystemUnknown",
      "no system properties in the request (SystemSetPropReq.properties is empty)",
      "name at least one property as name:value",
    );
  }
  const attrs: Record<string, string> = {};
  try {
    for (const [k, v] of entries.sort(([a], [b]) => a < b ? -1 : 1)) {
      const p = parseSystemProp(k, v);
      attrs[PROP_PREFIX + p.name] = p.value;
    }
  } catch (e) {
    throw propFault(e);
  }
  await ctx.write((s) => {
    const c = noChanges();
    for (const [k, v] of Object.entries(attrs)) if (s.attrs.get(k) !== v) c.attrs[k] = v;
    return c;
  });
}

/**
 * SystemGetProp (any replica): the named properties, or all of them when `names` is empty;
 * unset ones with their default, computed ones from `computed`. An unknown name fails the
 * request.
 */
export async function getProps(
  ctx: OpsContext,
  names: readonly string[],
  computed: ComputedProps,
): Promise<Record<string, string>> {
  let defs;
  try {
    defs = names.length === 0 ? SYSTEM_PROPS : names.map((n) => systemProp(n));
  } catch (e) {
    throw propFault(e);
  }
  const s = await ctx.state();
  const out: Record<string, string> = {};
  for (const d of defs) {
    out[d.name] = d.computed
      ? d.computed(computed)
      : s.attrs.get(PROP_PREFIX + d.name) ?? d.default ?? "";
  }
  return out;
}
