/**
 * The pool property catalogue (`dmg pool create -P`, `dmg pool get-prop|set-prop`): names,
 * numbers (DAOS daos_prop.h `enum daos_pool_props`, DAOS_PROP_PO_*), descriptions, value
 * parsing and printing, defaults and which ones an admin may set. Values travel as numbers
 * (most) or strings (label, policy, svc_list), as in the reference's `PoolProperty` messages.
 * Shared by dmg (checks a request before sending it, as the reference's flag parser does) and
 * the MS (fills in defaults and checks again).
 */

import { formatIBytes, parseBytes } from "./sizes.ts";
import { parseRankSet } from "./rankset.ts";

/** Thrown for an unknown name, a read-only property or a bad value; the message says which. */
export class PoolPropError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PoolPropError";
  }
}

/** DAOS_PROP_PO_* numbers (daos_prop.h). */
export const PoolPropNumber = {
  LABEL: 1,
  ACL: 2,
  SPACE_RB: 3,
  SELF_HEAL: 4,
  RECLAIM: 5,
  OWNER: 6,
  OWNER_GROUP: 7,
  SVC_LIST: 8,
  EC_CELL_SZ: 9,
  POLICY: 10,
  REDUN_FAC: 11,
  EC_PDA: 12,
  RP_PDA: 13,
  GLOBAL_VERSION: 14,
  UPGRADE_STATUS: 15,
  SCRUB_MODE: 16,
  SCRUB_FREQ: 17,
  SCRUB_THRESH: 18,
  SVC_REDUN_FAC: 19,
  OBJ_VERSION: 20,
  PERF_DOMAIN: 21,
  CHECKPOINT_MODE: 22,
  CHECKPOINT_FREQ: 23,
  CHECKPOINT_THRESH: 24,
  REINT_MODE: 25,
} as const;

/** self_heal bits (DAOS_SELF_HEAL_AUTO_*). */
export const SELF_HEAL_AUTO_EXCLUDE = 1;
export const SELF_HEAL_AUTO_REBUILD = 2;

/** Limits from daos_prop.h / daos_obj_class.h. */
export const REDUN_FAC_MAX = 4;
export const SVC_REDUN_FAC_MAX = 4;
export const EC_CELL_MIN = 4 << 10;
export const EC_CELL_MAX = 1024 << 10;
/** Pool global version written by this implementation (DAOS_POOL_GLOBAL_VERSION of 2.6). */
export const POOL_GLOBAL_VERSION = 3;

/** A property value: numeric properties hold a number, the others a string. */
export type PoolPropValue = number | string;

/** One catalogue entry. */
export interface PoolPropDef {
  /** Reference name (`dmg pool get-prop` Name column and `-P name:value`). */
  name: string;
  number: number;
  description: string;
  /** Whether the value is a number on the wire (else a string). */
  numeric: boolean;
  /** Value a new pool gets when the create request does not set it. */
  default: PoolPropValue;
  /**
   * Why `set-prop` refuses it (absent: settable). Properties refused here may still be
   * given at create time when `createOnly` is set.
   */
  readonly?: string;
  /** Settable with `pool create -P` but not changed afterwards. */
  createOnly?: boolean;
  /** Named values (enum-like properties): name → number. */
  values?: Readonly<Record<string, number>>;
  /** Parses the admin's text into the wire value; throws PoolPropError naming the input. */
  parse: (text: string) => PoolPropValue;
  /** The value as dmg prints it. */
  format: (v: PoolPropValue) => string;
}

function enumProp(
  name: string,
  number: number,
  description: string,
  values: Record<string, number>,
  def: number,
): PoolPropDef {
  const keys = Object.keys(values).sort();
  return {
    name,
    number,
    description,
    numeric: true,
    default: def,
    values,
    parse: (text) => {
      const v = values[text.toLowerCase()];
      if (v === undefined) {
        throw new PoolPropError(`invalid value "${text}" for ${name} (valid: ${keys.join(",")})`);
      }
      return v;
    },
    format: (v) => {
      const hit = Object.entries(values).find(([, n]) => n === v);
      return hit ? hit[0] : String(v);
    },
  };
}

/** Parses a non-negative decimal integer no larger than `max`, or returns undefined. */
function parseUint(text: string, max: number): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) && n <= max ? n : undefined;
}

function numProp(
  name: string,
  number: number,
  description: string,
  def: number,
  check: (text: string) => number,
  format: (v: PoolPropValue) => string = (v) => String(v),
): PoolPropDef {
  return { name, number, description, numeric: true, default: def, parse: check, format };
}

const U32_MAX = 0xFFFFFFFF;

/** Label rule of daos_label_is_valid: 1–127 of [A-Za-z0-9.:_-], and not a UUID. */
export function labelIsValid(label: string): boolean {
  if (label.length === 0 || label.length > 127) return false;
  if (!/^[A-Za-z0-9.:_-]+$/.test(label)) return false;
  // A label that parses as a UUID would be ambiguous with the pool's id.
  return !/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(
    label,
  );
}

const CATALOGUE: readonly PoolPropDef[] = [
  {
    name: "label",
    number: PoolPropNumber.LABEL,
    description: "Pool label",
    numeric: false,
    default: "",
    parse: (text) => {
      if (!labelIsValid(text)) throw new PoolPropError(`invalid label "${text}"`);
      return text;
    },
    format: (v) => String(v),
  },
  numProp("space_rb", PoolPropNumber.SPACE_RB, "Rebuild space ratio", 0, (text) => {
    const n = parseUint(text.replaceAll("%", ""), 100);
    if (n === undefined) {
      throw new PoolPropError(`invalid space_rb value ${text} (valid values: 0-100)`);
    }
    return n;
  }, (v) => `${v}%`),
  {
    ...enumProp(
      "self_heal",
      PoolPropNumber.SELF_HEAL,
      "Self-healing policy",
      { exclude: SELF_HEAL_AUTO_EXCLUDE, rebuild: SELF_HEAL_AUTO_REBUILD },
      SELF_HEAL_AUTO_EXCLUDE | SELF_HEAL_AUTO_REBUILD,
    ),
    // As the reference prints it: the exclude bit wins, then rebuild, else "unknown".
    format: (v) => {
      const n = Number(v);
      if (n & SELF_HEAL_AUTO_EXCLUDE) return "exclude";
      if (n & SELF_HEAL_AUTO_REBUILD) return "rebuild";
      return "unknown";
    },
  },
  enumProp("reclaim", PoolPropNumber.RECLAIM, "Reclaim strategy", {
    disabled: 0,
    lazy: 1,
    time: 4,
  }, 1),
  {
    name: "svc_list",
    number: PoolPropNumber.SVC_LIST,
    description: "Pool service replica list",
    numeric: false,
    default: "[]",
    readonly: "cannot set pool service replica list",
    parse: () => {
      throw new PoolPropError("cannot set pool service replica list");
    },
    format: (v) => String(v),
  },
  numProp("ec_cell_sz", PoolPropNumber.EC_CELL_SZ, "EC cell size", 64 << 10, (text) => {
    let b: bigint;
    try {
      b = parseBytes(text);
    } catch {
      throw new PoolPropError(`invalid EC Cell size "${text}"`);
    }
    const n = Number(b);
    if (n < EC_CELL_MIN || n > EC_CELL_MAX || n % 32 !== 0) {
      throw new PoolPropError(`invalid EC Cell size "${text}"`);
    }
    return n;
  }, (v) => formatIBytes(Number(v))),
  {
    name: "policy",
    number: PoolPropNumber.POLICY,
    description: "Tier placement policy",
    numeric: false,
    default: "type=io_size",
    parse: (text) => {
      if (!/^type=(io_size|write_intensivity)(,[a-z_]+=[^,=]+)*$/.test(text)) {
        throw new PoolPropError(`invalid policy string "${text}"`);
      }
      return text;
    },
    format: (v) => String(v),
  },
  numProp("rd_fac", PoolPropNumber.REDUN_FAC, "Pool redundancy factor", 0, (text) => {
    const n = parseUint(text, REDUN_FAC_MAX);
    if (n === undefined) {
      throw new PoolPropError(
        `invalid redun fac value ${text} (valid values: 0-${REDUN_FAC_MAX})`,
      );
    }
    return n;
  }),
  numProp("ec_pda", PoolPropNumber.EC_PDA, "Performance domain affinity level of EC", 1, (text) => {
    const n = parseUint(text, U32_MAX);
    if (n === undefined || n === 0) throw new PoolPropError(`invalid ec_pda value "${text}"`);
    return n;
  }),
  numProp(
    "rp_pda",
    PoolPropNumber.RP_PDA,
    "Performance domain affinity level of RP",
    U32_MAX,
    (text) => {
      const n = parseUint(text, U32_MAX);
      if (n === undefined || n === 0) throw new PoolPropError(`invalid rp_pda value "${text}"`);
      return n;
    },
  ),
  {
    ...numProp("global_version", PoolPropNumber.GLOBAL_VERSION, "Global Version", 0, () => {
      throw new PoolPropError("global_version is read-only");
    }),
    default: POOL_GLOBAL_VERSION,
    readonly: "global_version is read-only",
  },
  {
    ...enumProp("upgrade_status", PoolPropNumber.UPGRADE_STATUS, "Upgrade Status", {
      "not started": 0,
      "in progress": 1,
      "completed": 2,
      "failed": 3,
    }, 0),
    readonly: "upgrade_status is read-only",
  },
  enumProp("scrub", PoolPropNumber.SCRUB_MODE, "Checksum scrubbing mode", {
    off: 0,
    lazy: 1,
    timed: 2,
  }, 0),
  numProp(
    "scrub-freq",
    PoolPropNumber.SCRUB_FREQ,
    "Checksum scrubbing frequency",
    604800,
    (text) => {
      const n = parseUint(text.replaceAll("%", ""), Number.MAX_SAFE_INTEGER);
      if (n === undefined) throw new PoolPropError(`invalid Scrubbing Frequency value ${text}`);
      return n;
    },
  ),
  numProp(
    "scrub-thresh",
    PoolPropNumber.SCRUB_THRESH,
    "Checksum scrubbing threshold",
    0,
    (text) => {
      const n = parseUint(text.replaceAll("%", ""), Number.MAX_SAFE_INTEGER);
      if (n === undefined) throw new PoolPropError(`invalid Scrubbing Threshold value "${text}"`);
      return n;
    },
  ),
  numProp(
    "svc_rf",
    PoolPropNumber.SVC_REDUN_FAC,
    "Pool service redundancy factor",
    2,
    (text) => {
      const n = parseUint(text, SVC_REDUN_FAC_MAX);
      if (n === undefined) {
        throw new PoolPropError(
          `invalid service redundancy factor value ${text} (valid values: 0-${SVC_REDUN_FAC_MAX})`,
        );
      }
      return n;
    },
  ),
  {
    ...enumProp("perf_domain", PoolPropNumber.PERF_DOMAIN, "Pool performance domain", {
      root: 255,
      group: 3,
    }, 255),
    createOnly: true,
    readonly: "can't set perf_domain on existing pool.",
  },
  enumProp("checkpoint", PoolPropNumber.CHECKPOINT_MODE, "WAL Checkpointing behavior", {
    disabled: 0,
    timed: 1,
    lazy: 2,
  }, 1),
  numProp(
    "checkpoint_freq",
    PoolPropNumber.CHECKPOINT_FREQ,
    "WAL Checkpointing frequency, in seconds",
    5,
    (text) => {
      const n = parseUint(text, Number.MAX_SAFE_INTEGER);
      if (n === undefined) throw new PoolPropError(`invalid Checkpointing Frequency value ${text}`);
      return n;
    },
  ),
  numProp(
    "checkpoint_thresh",
    PoolPropNumber.CHECKPOINT_THRESH,
    "Usage of WAL before checkpoint is triggered, as a percentage",
    50,
    (text) => {
      const n = parseUint(text, U32_MAX);
      if (n === undefined) throw new PoolPropError(`invalid Checkpointing threshold value ${text}`);
      return n;
    },
  ),
  enumProp("reintegration", PoolPropNumber.REINT_MODE, "Reintegration mode", {
    data_sync: 0,
    no_data_sync: 1,
  }, 0),
];

const BY_NAME = new Map(CATALOGUE.map((d) => [d.name, d]));
const BY_NUMBER = new Map(CATALOGUE.map((d) => [d.number, d]));
/** Old names the reference still accepts (PoolDeprecatedProperties). */
const DEPRECATED: Readonly<Record<string, string>> = { rf: "rd_fac" };

/** Every property, in DAOS_PROP_PO_* order. */
export function poolProps(): readonly PoolPropDef[] {
  return CATALOGUE;
}

/** Property names sorted as the reference lists them (help, completion, errors). */
export function poolPropNames(): string[] {
  return [...BY_NAME.keys()].sort();
}

/** The property called `name` (deprecated aliases resolved), or a PoolPropError naming it. */
export function poolPropByName(name: string): PoolPropDef {
  const def = BY_NAME.get(DEPRECATED[name] ?? name);
  if (!def) {
    throw new PoolPropError(
      `unknown property "${name}" (valid: ${poolPropNames().join(", ")})`,
    );
  }
  return def;
}

/** The property with DAOS_PROP_PO_* number `n`, or undefined. */
export function poolPropByNumber(n: number): PoolPropDef | undefined {
  return BY_NUMBER.get(n);
}

/** A parsed `name:value` pair. */
export interface PoolPropSetting {
  def: PoolPropDef;
  value: PoolPropValue;
}

/**
 * Parses `name:value[,name:value]` as `-P`/set-prop take it. `forCreate` allows create-only
 * properties. Throws PoolPropError for a malformed pair, an unknown name, a property that
 * cannot be set or a bad value.
 */
export function parsePoolProps(text: string, forCreate: boolean): PoolPropSetting[] {
  const out: PoolPropSetting[] = [];
  for (const pair of text.split(",").filter((p) => p.trim() !== "")) {
    const i = pair.indexOf(":");
    if (i <= 0 || i === pair.length - 1) {
      throw new PoolPropError(`invalid property "${pair}" (expected name:value)`);
    }
    const name = pair.slice(0, i).trim();
    const valueText = pair.slice(i + 1).trim();
    const def = poolPropByName(name);
    if (def.readonly && !(forCreate && def.createOnly)) throw new PoolPropError(def.readonly);
    out.push({ def, value: def.parse(valueText) });
  }
  if (out.length === 0) throw new PoolPropError(`no properties in "${text}"`);
  return out;
}

/** The value of property number `n` as dmg prints it (unknown numbers print raw). */
export function formatPoolProp(n: number, v: PoolPropValue): string {
  const def = BY_NUMBER.get(n);
  return def ? def.format(v) : String(v);
}

/** JSON value as the reference marshals it: svc_list as a rank array, numbers as numbers. */
export function poolPropJsonValue(n: number, v: PoolPropValue): unknown {
  const def = BY_NUMBER.get(n);
  if (!def) return v;
  if (n === PoolPropNumber.SVC_LIST) return parseRankSet(String(v)).ranks();
  if (def.values || !def.numeric) return def.format(v);
  return typeof v === "number" ? v : Number(v);
}

/** Defaults for every property a new pool gets (svc_list and label are filled by the MS). */
export function poolPropDefaults(): Map<number, PoolPropValue> {
  return new Map(
    CATALOGUE.filter((d) => d.number !== PoolPropNumber.SVC_LIST && d.name !== "label")
      .map((d) => [d.number, d.default]),
  );
}
