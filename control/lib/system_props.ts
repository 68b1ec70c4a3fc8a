/**
 * The system properties (`dmg system set-prop|get-prop`; DAOS lib/daos/system_prop.go): names,
 * descriptions, defaults and the value rules, shared by dmg (which checks a request before
 * sending it, as the reference's flag parser does) and the MS (which checks it again and
 * stores `prop.<name>` attributes). `daos_system` and `daos_version` are computed by the
 * server and read-only.
 */

/** Thrown for an unknown name, a read-only property or a bad value; the message says which. */
export class SystemPropError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SystemPropError";
  }
}

/** What the server computes the read-only properties from. */
export interface ComputedProps {
  system: string;
  version: string;
}

/** One system property. */
export interface SystemPropDef {
  name: string;
  description: string;
  /** Read-only: its value comes from the server. */
  computed?: (c: ComputedProps) => string;
  /** Value when never set (settable properties). */
  default?: string;
  /** Allowed values for help and errors (empty: described by `rule`). */
  choices: readonly string[];
  /** How the allowed values are described when `choices` cannot list them. */
  rule?: string;
  /** The value as stored (normalised), or a SystemPropError. */
  parse?: (value: string) => string;
}

/** self_heal flags, in the order a normalised value lists them. */
export const SELF_HEAL_FLAGS = ["exclude", "pool_exclude", "pool_rebuild"] as const;
/** self_heal when never set: every flag. */
export const SELF_HEAL_DEFAULT = SELF_HEAL_FLAGS.join(";");

function badValue(name: string, value: string, valid: string): SystemPropError {
  return new SystemPropError(
    `invalid value ${JSON.stringify(value)} for system property "${name}" (valid: ${valid})`,
  );
}

function parseSelfHeal(value: string): string {
  const v = value.trim().toLowerCase();
  const valid = `"none" or flags ${SELF_HEAL_FLAGS.join(", ")} joined by ";"`;
  if (v === "none") return "none";
  const flags = v.split(";").map((f) => f.trim());
  if (flags.some((f) => !(SELF_HEAL_FLAGS as readonly string[]).includes(f))) {
    throw badValue("self_heal", value, valid);
  }
  return SELF_HEAL_FLAGS.filter((f) => flags.includes(f)).join(";");
}

const SCRUB_MODES = ["off", "lazy", "timed"] as const;

/** The properties, sorted by name (get-prop prints them in this order). */
export const SYSTEM_PROPS: readonly SystemPropDef[] = [
  {
    name: "daos_system",
    description: "DAOS system name",
    computed: (c) => c.system,
    choices: [],
  },
  {
    name: "daos_version",
    description: "DAOS version",
    computed: (c) => c.version,
    choices: [],
  },
  {
    name: "pool_scrub_mode",
    description: "Checksum scrubbing mode",
    default: "off",
    choices: SCRUB_MODES,
    parse: (value) => {
      const v = value.trim().toLowerCase();
      if (!(SCRUB_MODES as readonly string[]).includes(v)) {
        throw badValue("pool_scrub_mode", value, SCRUB_MODES.join(","));
      }
      return v;
    },
  },
  {
    name: "pool_scrub_thresh",
    description: "Checksum scrubbing threshold",
    default: "0",
    choices: [],
    rule: "an integer from 0 to 18446744073709551615",
    parse: (value) => {
      const v = value.trim();
      if (!/^\d+$/.test(v) || BigInt(v) > 0xffffffffffffffffn) {
        throw badValue(
          "pool_scrub_thresh",
          value,
          "an integer from 0 to 18446744073709551615",
        );
      }
      return BigInt(v).toString();
    },
  },
  {
    name: "self_heal",
    description: "Self-heal policy",
    default: SELF_HEAL_DEFAULT,
    choices: ["none", ...SELF_HEAL_FLAGS],
    rule: `"none" or flags ${SELF_HEAL_FLAGS.join(", ")} joined by ";"`,
    parse: parseSelfHeal,
  },
];

/** The property names, sorted. */
export const SYSTEM_PROP_NAMES: readonly string[] = SYSTEM_PROPS.map((p) => p.name);

/** The property `name` (case-insensitive, as the reference), or a SystemPropError. */
export function systemProp(name: string): SystemPropDef {
  const p = SYSTEM_PROPS.find((d) => d.name === name.trim().toLowerCase());
  if (p === undefined) {
    throw new SystemPropError(
      `unknown system property ${JSON.stringify(name)} (known: ${SYSTEM_PROP_NAMES.join(", ")})`,
    );
  }
  return p;
}

/**
 * The value `value` of property `name` as stored: refused for an unknown or read-only
 * property and for a value outside the property's rule.
 */
export function parseSystemProp(name: string, value: string): { name: string; value: string } {
  const p = systemProp(name);
  if (p.computed !== undefined || p.parse === undefined) {
    throw new SystemPropError(
      `system property "${p.name}" is read-only (computed by the system); settable: ${
        SYSTEM_PROPS.filter((d) => d.parse).map((d) => d.name).join(", ")
      }`,
    );
  }
  return { name: p.name, value: p.parse(value) };
}
