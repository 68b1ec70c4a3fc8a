/**
 * System attributes (`dmg system set-attr|get-attr|del-attr`, the reference's SystemSetAttr /
 * SystemGetAttr): free key/value pairs stored as `attrs/<key>` in the MS database, next to the
 * MS's own settings. Keys starting `prop.` (system properties, props.ts) and `mgmt.` (the MS's
 * internal state, e.g. mgmt.fabric_providers) are reserved as in the reference: never set
 * through set-attr, and left out of get-attr's answers.
 */
import { makeFault } from "../../lib/fault.ts";
import { type DbChanges, noChanges } from "../db.ts";
import type { OpsContext } from "./context.ts";

/** Prefix of the attributes that hold system properties. */
export const PROP_PREFIX = "prop.";
/** Prefix of the attributes the MS keeps for itself. */
export const MGMT_PREFIX = "mgmt.";

/** Longest attribute key accepted (an etcd key holds it after the system prefix). */
export const MAX_ATTR_KEY = 255;
/** Longest attribute value accepted (values travel in every MS snapshot). */
export const MAX_ATTR_VALUE = 4096;

/** True for the keys set-attr may not touch and get-attr does not show. */
export function isReservedKey(key: string): boolean {
  return key.startsWith(PROP_PREFIX) || key.startsWith(MGMT_PREFIX);
}

function badRequest(description: string, resolution: string): Error {
  return makeFault("SystemUnknown", description, resolution);
}

/**
 * Checks the attributes of a set-attr request (value "" deletes): refused as a whole when any
 * key is empty, reserved, too long or holds a control character, or a value is too long.
 */
export function checkSetAttrs(attrs: Readonly<Record<string, string>>): void {
  const keys = Object.keys(attrs);
  if (keys.length === 0) {
    throw badRequest(
      "no system attributes in the request (SystemSetAttrReq.attributes is empty)",
      "name at least one attribute as key:value",
    );
  }
  for (const k of keys.sort()) {
    if (k === "") {
      throw badRequest("empty system attribute key", "give every attribute a name (key:value)");
    }
    if (isReservedKey(k)) {
      throw badRequest(
        `cannot set reserved key "${k}"`,
        `keys starting "${PROP_PREFIX}" or "${MGMT_PREFIX}" belong to the system; ` +
          "use dmg system set-prop for system properties, or pick another key",
      );
    }
    // deno-lint-ignore no-control-regex
    if (k.length > MAX_ATTR_KEY || /[\u0000-\u001f\u007f]/.test(k)) {
      throw badRequest(
        `invalid system attribute key "${k.slice(0, 64)}": at most ${MAX_ATTR_KEY} ` +
          "characters, no control characters",
        "use a shorter, printable key",
      );
    }
    if (attrs[k].length > MAX_ATTR_VALUE) {
      throw badRequest(
        `value of system attribute "${k}" is ${attrs[k].length} characters long, more than ` +
          `the ${MAX_ATTR_VALUE} accepted`,
        "store a shorter value",
      );
    }
  }
}

/**
 * SystemSetAttr (leader): sets the attributes, deleting those with an empty value, in one
 * fenced write. Deleting an attribute that does not exist is not an error (as the reference).
 */
export async function setAttrs(
  ctx: OpsContext,
  attrs: Readonly<Record<string, string>>,
): Promise<void> {
  checkSetAttrs(attrs);
  await ctx.write((s): DbChanges => {
    const c = noChanges();
    for (const [k, v] of Object.entries(attrs)) {
      // Only real changes: a delete of an absent key or a same-value put writes nothing.
      if (v === "" ? s.attrs.has(k) : s.attrs.get(k) !== v) c.attrs[k] = v;
    }
    return c;
  });
}

/** The error get-attr answers for a key that is not set (the reference's wording). */
export function attrNotFound(key: string): Error {
  return makeFault(
    "SystemUnknown",
    `unable to find system attribute with key "${key}"`,
    "list the attributes with dmg system get-attr (no keys)",
  );
}

/**
 * SystemGetAttr (any replica): the named attributes, or every user-visible one when `keys`
 * is empty. A key that is not set fails the request; reserved keys are never shown (a
 * reserved key asked for by name is left out of the answer, as in the reference).
 */
export async function getAttrs(
  ctx: OpsContext,
  keys: readonly string[],
): Promise<Record<string, string>> {
  const s = await ctx.state();
  const out: Record<string, string> = {};
  if (keys.length === 0) {
    for (const [k, v] of [...s.attrs].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)) {
      if (!isReservedKey(k)) out[k] = v;
    }
    return out;
  }
  for (const k of keys) {
    const v = s.attrs.get(k);
    if (v === undefined) throw attrNotFound(k);
    if (!isReservedKey(k)) out[k] = v;
  }
  return out;
}
