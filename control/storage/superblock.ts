/**
 * The per-engine superblock (server.md §2.1): a small YAML file named `superblock` in the
 * engine's control-metadata directory, written atomically (staging file, fsync, rename, fsync dir).
 */
import { parse, stringify } from "yaml";
import { NilRank } from "../lib/rankset.ts";
import { atomicWrite } from "../lib/atomic_write.ts";
import { type Fault, serverFault } from "../lib/fault.ts";
import { readTextIfExists } from "../lib/read_if_exists.ts";

/** File name of the superblock inside its directory. */
export const SUPERBLOCK_NAME = "superblock";
/** Current superblock version. */
export const SUPERBLOCK_VERSION = 1;

/** Superblock fields (YAML keys are these names lower-cased). */
export interface Superblock {
  version: number;
  uuid: string;
  system: string;
  /** null until the MS assigned a rank. */
  rank: number | null;
  uri: string;
  validRank: boolean;
  hostFaultDomain: string;
  /** u64 (the engine's is nanoseconds since the epoch, beyond 2^53), hence bigint. */
  incarnation: bigint;
}

/** A fresh superblock for a newly formatted engine: random UUID, no rank yet. */
export function newSuperblock(system: string, hostFaultDomain: string): Superblock {
  return {
    version: SUPERBLOCK_VERSION,
    uuid: crypto.randomUUID(),
    system: system === "" ? "daos_engine" : system,
    rank: null,
    uri: "",
    validRank: false,
    hostFaultDomain,
    incarnation: 0n,
  };
}

/** Path of the superblock file in `dir`. */
export function superblockPath(dir: string): string {
  return `${dir.replace(/\/+$/, "")}/${SUPERBLOCK_NAME}`;
}

/** Serialises a superblock in the reference layout (keys in field order, lower-cased). */
export function encodeSuperblock(sb: Superblock): string {
  return stringify({
    version: sb.version,
    uuid: sb.uuid,
    system: sb.system,
    rank: sb.rank,
    uri: sb.uri,
    validrank: sb.validRank,
    hostfaultdomain: sb.hostFaultDomain,
    incarnation: sb.incarnation,
  }, { nullStr: "null" });
}

function corrupt(path: string, why: string): Fault {
  return serverFault(
    "ServerUnknown",
    `superblock "${path}" is corrupt: ${why}`,
    "reformat this engine's storage with 'dmg storage format --force'",
  );
}

function u32OrNull(v: unknown): v is number | null {
  return v === null || (Number.isInteger(v) && (v as number) >= 0 && (v as number) < NilRank);
}

/** bigint → number when exact, so integer checks on small fields work as before. */
function narrowInt(v: unknown): unknown {
  return typeof v === "bigint" && v >= BigInt(Number.MIN_SAFE_INTEGER) &&
      v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v;
}

/** Parses superblock text; throws a Fault naming `path` and the bad field. */
export function decodeSuperblock(text: string, path: string): Superblock {
  let raw: unknown;
  try {
    // Integers as bigint so a u64 incarnation survives; small fields are narrowed below.
    raw = parse(text, { intAsBigInt: true });
  } catch (e) {
    throw corrupt(path, (e as Error).message.split("\n")[0]);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw corrupt(path, "not a YAML map");
  }
  const r = Object.fromEntries(
    Object.entries(raw).map(([k, v]) => [k, k !== "incarnation" ? narrowInt(v) : v]),
  );
  const str = (k: string) => {
    if (r[k] === undefined || r[k] === null) return "";
    if (typeof r[k] !== "string") throw corrupt(path, `field ${k} is not a string`);
    return r[k] as string;
  };
  if (!Number.isInteger(r.version) || (r.version as number) < 1 || (r.version as number) > 255) {
    throw corrupt(path, "field version is missing or not an 8-bit integer");
  }
  const uuid = str("uuid");
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(uuid)) {
    throw corrupt(path, "field uuid is not a UUID");
  }
  const rank = r.rank ?? null;
  if (!u32OrNull(rank)) throw corrupt(path, "field rank is not a valid rank or null");
  if (r.validrank !== undefined && typeof r.validrank !== "boolean") {
    throw corrupt(path, "field validrank is not a boolean");
  }
  const inc = r.incarnation ?? 0n;
  if (typeof inc !== "bigint" || inc < 0n || inc >= 1n << 64n) {
    throw corrupt(path, "field incarnation is not an unsigned integer");
  }
  return {
    version: r.version as number,
    uuid,
    system: str("system"),
    rank,
    uri: str("uri"),
    validRank: (r.validrank as boolean | undefined) ?? false,
    hostFaultDomain: str("hostfaultdomain"),
    incarnation: inc,
  };
}

/** Reads the superblock in `dir`; null when there is none. Corrupt files throw a Fault. */
export async function readSuperblock(dir: string): Promise<Superblock | null> {
  const path = superblockPath(dir);
  const text = await readTextIfExists(path);
  if (text === null) return null;
  return decodeSuperblock(text, path);
}

/**
 * Writes the superblock atomically: `<path>.staging` (mode 0660) + fsync, rename over the
 * target, fsync the directory. A crash leaves either the old or the new file, never half.
 */
export async function writeSuperblock(dir: string, sb: Superblock): Promise<void> {
  const path = superblockPath(dir);
  try {
    await atomicWrite(path, encodeSuperblock(sb), { mode: 0o660, tempSuffix: ".staging" });
  } catch (e) {
    throw serverFault(
      "ServerUnknown",
      `writing superblock "${path}" failed: ${(e as Error).message}`,
      "check that the SCM mount is writable and has space, then retry the format",
      e,
    );
  }
}

/** Removes the superblock in `dir` (and a stale staging file); absent files are fine. */
export async function removeSuperblock(dir: string): Promise<void> {
  const path = superblockPath(dir);
  for (const p of [path, `${path}.staging`]) {
    await Deno.remove(p).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
}
