/**
 * The membership database in etcd, one key prefix per system (`/daos/<system>/`):
 *   meta            {"next_rank", "map_version", "version"} (NextRank, MapVersion, data version)
 *   members/<uuid>  member JSON (see {@link Member})
 *   attrs/<name>    system attribute value
 *   election/<id>   leadership keys (see election.ts)
 * Writes are transactions that compare the leader's election key (fence) and the meta key's
 * modification revision (so a writer working on a stale snapshot fails instead of overwriting).
 */
import { makeFault } from "../lib/fault.ts";
import { MAX_RANK } from "../lib/rankset.ts";
import type { Compare, EtcdClient, Op } from "./etcd_client.ts";
import { parseWireState } from "../lib/states.ts";
import { type Member, memberProblem } from "./member.ts";

/**
 * A member key whose value is not a member this MS can use (unparsable, a rank that does not
 * fit, an address that cannot be called...): written by an older bug or by hand. It is kept
 * out of every query, map and fan-out, reported, and removed by `dmg system exclude` naming
 * its rank or host (see ManagementService.systemExclude).
 */
export interface InvalidRecord {
  /** etcd key. */
  key: string;
  /** The uuid part of the key. */
  uuid: string;
  /** The record's rank when it is one a member could hold, else null. */
  rank: number | null;
  /** The record's control address as stored ("" when absent or not a string). */
  addr: string;
  /** What is wrong with it. */
  problem: string;
}

/** A consistent snapshot of one system's MS database. */
export interface DbState {
  members: Map<string, Member>; // by uuid
  nextRank: number;
  mapVersion: number;
  version: bigint;
  attrs: Map<string, string>;
  /** mod revision of the meta key (0 when the DB is empty). */
  metaRev: bigint;
  /** Id of the transaction that last wrote the meta key (resolves ambiguous commits). */
  lastTxn: string;
  /** Member keys that hold no usable member (not in `members`). */
  invalid: InvalidRecord[];
}

/** A set of changes to commit atomically. */
export interface DbChanges {
  put: Member[];
  remove: string[]; // uuids
  attrs: Record<string, string>; // "" deletes
  /** Map-version increments beyond the one per member put/remove. */
  extraMapIncrements: number;
  nextRank?: number;
}

/** Empty change set. */
export function noChanges(): DbChanges {
  return { put: [], remove: [], attrs: {}, extraMapIncrements: 0 };
}

/** True when the change set writes nothing. */
export function isEmpty(c: DbChanges): boolean {
  return c.put.length === 0 && c.remove.length === 0 && Object.keys(c.attrs).length === 0 &&
    c.extraMapIncrements === 0 && c.nextRank === undefined;
}

/** Empty database state (NextRank starts at 1: rank 0 is the bootstrap replica's). */
export function emptyState(): DbState {
  return {
    members: new Map(),
    nextRank: 1,
    mapVersion: 0,
    version: 0n,
    attrs: new Map(),
    metaRev: 0n,
    lastTxn: "",
    invalid: [],
  };
}

/** Deep-enough copy for building changes without touching the cached snapshot. */
export function cloneState(s: DbState): DbState {
  return {
    members: new Map([...s.members].map(([k, m]) => [k, { ...m }])),
    nextRank: s.nextRank,
    mapVersion: s.mapVersion,
    version: s.version,
    attrs: new Map(s.attrs),
    metaRev: s.metaRev,
    lastTxn: s.lastTxn,
    invalid: s.invalid.map((r) => ({ ...r })),
  };
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

function isNumberArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === "number");
}

/** Decodes one member key: the member, or why it cannot be one. */
export function decodeMember(json: string, key: string): Member | InvalidRecord {
  const keyUuid = key.slice(key.lastIndexOf("/") + 1);
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return { key, uuid: keyUuid, rank: null, addr: "", problem: "not JSON" };
  }
  const r = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
  const str = (k: string, dflt: string): string | null =>
    r[k] === undefined ? dflt : typeof r[k] === "string" ? r[k] as string : null;
  const invalid = (problem: string): InvalidRecord => ({
    key,
    uuid: keyUuid,
    rank: typeof r.rank === "number" && Number.isInteger(r.rank) && r.rank >= 0 &&
        r.rank <= MAX_RANK
      ? r.rank
      : null,
    addr: typeof r.addr === "string" ? r.addr : "",
    problem,
  });
  const strings = {
    uuid: str("uuid", ""),
    addr: str("addr", ""),
    state: str("state", "unknown"),
    fault_domain: str("fault_domain", ""),
    incarnation: str("incarnation", "0"),
    fabric_uri: str("fabric_uri", ""),
    info: str("info", ""),
    last_update: str("last_update", ""),
  };
  for (const [k, v] of Object.entries(strings)) {
    if (v === null) return invalid(`${k} is not a string`);
  }
  const sUris = r.secondary_fabric_uris ?? [];
  const sCtxs = r.secondary_fabric_contexts ?? [];
  const ctxs = r.fabric_contexts ?? 0;
  if (typeof r.rank !== "number") return invalid("no numeric rank");
  if (!isStringArray(sUris)) return invalid("secondary_fabric_uris is not a list of strings");
  if (!isNumberArray(sCtxs)) return invalid("secondary_fabric_contexts is not a list of numbers");
  if (typeof ctxs !== "number") return invalid("fabric_contexts is not a number");
  const m: Member = {
    rank: r.rank,
    uuid: strings.uuid!,
    addr: strings.addr!,
    state: parseWireState(strings.state!),
    fault_domain: strings.fault_domain!,
    incarnation: strings.incarnation!,
    fabric_uri: strings.fabric_uri!,
    secondary_fabric_uris: sUris,
    fabric_contexts: ctxs,
    secondary_fabric_contexts: sCtxs,
    info: strings.info!,
    last_update: strings.last_update!,
  };
  if (m.uuid !== keyUuid) return invalid(`uuid ${JSON.stringify(m.uuid)} differs from its key`);
  const problem = memberProblem(m);
  return problem === null ? m : invalid(problem);
}

/**
 * Members sharing a rank (never written by the MS: a record put in by hand or by an old bug)
 * are all set aside: which one is the engine's cannot be told, and a group map listing a rank
 * twice is refused by every host. Removing them (system exclude of that rank) lets the engine
 * rejoin with its rank.
 */
function setAsideSharedRanks(s: DbState, keyPrefix: string): void {
  const byRank = new Map<number, Member[]>();
  for (const m of s.members.values()) byRank.set(m.rank, [...(byRank.get(m.rank) ?? []), m]);
  for (const [rank, ms] of byRank) {
    if (ms.length < 2) continue;
    for (const m of ms) {
      s.members.delete(m.uuid);
      s.invalid.push({
        key: `${keyPrefix}${m.uuid}`,
        uuid: m.uuid,
        rank,
        addr: m.addr,
        problem: `rank ${rank} held by ${ms.length} member records (${
          ms.map((x) => x.uuid).join(", ")
        })`,
      });
    }
  }
}

/**
 * Decodes the meta key. Without a valid NextRank and map version no write can be made safely,
 * so a damaged one is a fault naming the key (not a JSON or BigInt exception).
 */
function decodeMeta(
  json: string,
  key: string,
): { next_rank: number; map_version: number; version: string; txn?: string } {
  let m: Record<string, unknown> = {};
  try {
    const v: unknown = JSON.parse(json);
    if (typeof v === "object" && v !== null) m = v as Record<string, unknown>;
  } catch { /* reported below */ }
  const problem = typeof m.next_rank !== "number" || !Number.isInteger(m.next_rank) ||
      m.next_rank < 0
    ? "next_rank"
    : typeof m.map_version !== "number" || !Number.isInteger(m.map_version) || m.map_version < 0
    ? "map_version"
    : typeof m.version !== "string" || !/^\d{1,20}$/.test(m.version)
    ? "version"
    : null;
  if (problem !== null) {
    throw makeFault(
      "SystemUnknown",
      `MS database key ${key} is damaged (${problem}): ${JSON.stringify(json.slice(0, 200))}`,
      "restore the key from an etcd backup, or erase the system (dmg system erase) and format it again",
    );
  }
  return m as { next_rank: number; map_version: number; version: string; txn?: string };
}

/** Fault for a write that would store a member no reply could carry (nothing is written). */
function unstorable(m: Member, problem: string) {
  return makeFault(
    "SystemUnknown",
    `member ${m.uuid} (rank ${m.rank}) not written: ${problem}`,
    "this is a bug in the request's validation: report it with the daos_server log",
  );
}

/**
 * The state `changes` make of `base` and the etcd operations writing them under `prefix`
 * (member puts/removes, attributes, then the meta key carrying `txnId`). Throws, before
 * anything is written, for a member or a NextRank that could not be decoded or encoded again.
 * The new state's metaRev and lastTxn are the caller's to set once the write succeeded.
 */
export function planCommit(
  prefix: string,
  base: DbState,
  changes: DbChanges,
  txnId: string,
): { next: DbState; ops: Op[] } {
  for (const m of changes.put) {
    const problem = memberProblem(m);
    if (problem !== null) throw unstorable(m, problem);
  }
  if (
    changes.nextRank !== undefined &&
    (!Number.isInteger(changes.nextRank) || changes.nextRank < 0 ||
      changes.nextRank > MAX_RANK)
  ) {
    throw makeFault(
      "SystemUnknown",
      `NextRank ${changes.nextRank} not written: out of range [0, ${MAX_RANK}]`,
      "this is a bug in rank assignment: report it with the daos_server log",
    );
  }
  const next = cloneState(base);
  const ops: Op[] = [];
  let entries = 0;
  for (const uuid of changes.remove) {
    ops.push({ delete: `${prefix}/members/${uuid}` });
    next.members.delete(uuid);
    next.invalid = next.invalid.filter((r) => r.uuid !== uuid);
    entries++;
  }
  for (const m of changes.put) {
    ops.push({ put: `${prefix}/members/${m.uuid}`, value: JSON.stringify(m) });
    next.members.set(m.uuid, { ...m });
    next.invalid = next.invalid.filter((r) => r.uuid !== m.uuid);
    entries++;
  }
  const mapIncs = entries + changes.extraMapIncrements;
  for (const [k, v] of Object.entries(changes.attrs)) {
    if (v === "") {
      ops.push({ delete: `${prefix}/attrs/${k}` });
      next.attrs.delete(k);
    } else {
      ops.push({ put: `${prefix}/attrs/${k}`, value: v });
      next.attrs.set(k, v);
    }
    entries++;
  }
  entries += changes.extraMapIncrements;
  next.mapVersion += mapIncs;
  next.version += BigInt(Math.max(entries, 1));
  if (changes.nextRank !== undefined) next.nextRank = changes.nextRank;
  ops.push({
    put: `${prefix}/meta`,
    value: JSON.stringify({
      next_rank: next.nextRank,
      map_version: next.mapVersion,
      version: next.version.toString(),
      txn: txnId,
    }),
  });
  return { next, ops };
}

/** Access to one system's membership database. */
export class MembershipDb {
  readonly prefix: string;

  constructor(readonly etcd: EtcdClient, readonly system: string) {
    this.prefix = `/daos/${system}`;
  }

  /** Reads the whole database (one range read, so it is a consistent snapshot). */
  async read(): Promise<DbState> {
    const { kvs } = await this.etcd.getPrefix(`${this.prefix}/`);
    const s = emptyState();
    for (const kv of kvs) {
      const rel = kv.key.slice(this.prefix.length + 1);
      if (rel === "meta") {
        const meta = decodeMeta(kv.value, kv.key);
        s.nextRank = meta.next_rank;
        s.mapVersion = meta.map_version;
        s.version = BigInt(meta.version);
        s.metaRev = kv.modRevision;
        s.lastTxn = meta.txn ?? "";
      } else if (rel.startsWith("members/")) {
        const m = decodeMember(kv.value, kv.key);
        if ("problem" in m) s.invalid.push(m);
        else s.members.set(m.uuid, m);
      } else if (rel.startsWith("attrs/")) {
        s.attrs.set(rel.slice("attrs/".length), kv.value);
      }
    }
    setAsideSharedRanks(s, `${this.prefix}/members/`);
    return s;
  }

  /**
   * Commits `changes` on top of `base` if the leader still holds its key (`fence`) and nobody
   * wrote since `base` was read. Returns the new state, or null when a compare failed.
   * `txnId` (default: a fresh one) is recorded in meta to resolve an ambiguous outcome.
   */
  async commit(
    fence: Compare,
    base: DbState,
    changes: DbChanges,
    txnId: string = crypto.randomUUID(),
  ): Promise<DbState | null> {
    const { next, ops } = planCommit(this.prefix, base, changes, txnId);
    const metaKey = `${this.prefix}/meta`;
    const compares: Compare[] = [
      fence,
      base.metaRev === 0n
        ? { key: metaKey, target: "create", equals: 0n }
        : { key: metaKey, target: "mod", equals: base.metaRev },
    ];
    let r;
    try {
      r = await this.etcd.txn(compares, ops);
    } catch (e) {
      // Ambiguous (e.g. deadline after etcd applied it): the txn id in meta tells.
      const now = await this.read().catch(() => null);
      if (now?.lastTxn === txnId) return now;
      throw e;
    }
    if (!r.succeeded) return null;
    next.metaRev = r.revision;
    next.lastTxn = txnId;
    return next;
  }

  /** Deletes the whole database (fenced). Returns false when the fence failed. */
  async wipe(fence: Compare): Promise<boolean> {
    const r = await this.etcd.txn([fence], [
      { deletePrefix: `${this.prefix}/members/` },
      { deletePrefix: `${this.prefix}/attrs/` },
      { delete: `${this.prefix}/meta` },
    ]);
    return r.succeeded;
  }
}
