/**
 * The membership database in etcd, one key prefix per system (`/daos/<system>/`):
 *   meta            {"next_rank", "map_version", "version"} (NextRank, MapVersion, data version)
 *   members/<uuid>  member JSON (see {@link Member})
 *   attrs/<name>    system attribute value
 *   election/<id>   leadership keys (see election.ts)
 * Writes are transactions that compare the leader's election key (fence) and the meta key's
 * modification revision (so a writer working on a stale snapshot fails instead of overwriting).
 */
import type { Compare, EtcdClient, Op } from "./etcd_client.ts";
import { type Member, parseState } from "./member.ts";

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
  };
}

function decodeMember(json: string, key: string): Member {
  const m = JSON.parse(json) as Partial<Member>;
  if (typeof m.uuid !== "string" || typeof m.rank !== "number") {
    throw new Error(`MS database: member key ${key} holds an invalid record`);
  }
  return {
    rank: m.rank,
    uuid: m.uuid,
    addr: m.addr ?? "",
    state: parseState(m.state ?? "unknown"),
    fault_domain: m.fault_domain ?? "",
    incarnation: m.incarnation ?? "0",
    fabric_uri: m.fabric_uri ?? "",
    secondary_fabric_uris: m.secondary_fabric_uris ?? [],
    fabric_contexts: m.fabric_contexts ?? 0,
    secondary_fabric_contexts: m.secondary_fabric_contexts ?? [],
    info: m.info ?? "",
    last_update: m.last_update ?? "",
  };
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
        const meta = JSON.parse(kv.value) as {
          next_rank: number;
          map_version: number;
          version: string;
          txn?: string;
        };
        s.nextRank = meta.next_rank;
        s.mapVersion = meta.map_version;
        s.version = BigInt(meta.version);
        s.metaRev = kv.modRevision;
        s.lastTxn = meta.txn ?? "";
      } else if (rel.startsWith("members/")) {
        const m = decodeMember(kv.value, kv.key);
        s.members.set(m.uuid, m);
      } else if (rel.startsWith("attrs/")) {
        s.attrs.set(rel.slice("attrs/".length), kv.value);
      }
    }
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
    const next = cloneState(base);
    const ops: Op[] = [];
    let entries = 0;
    for (const uuid of changes.remove) {
      ops.push({ delete: `${this.prefix}/members/${uuid}` });
      next.members.delete(uuid);
      entries++;
    }
    for (const m of changes.put) {
      ops.push({ put: `${this.prefix}/members/${m.uuid}`, value: JSON.stringify(m) });
      next.members.set(m.uuid, { ...m });
      entries++;
    }
    const mapIncs = entries + changes.extraMapIncrements;
    for (const [k, v] of Object.entries(changes.attrs)) {
      if (v === "") {
        ops.push({ delete: `${this.prefix}/attrs/${k}` });
        next.attrs.delete(k);
      } else {
        ops.push({ put: `${this.prefix}/attrs/${k}`, value: v });
        next.attrs.set(k, v);
      }
      entries++;
    }
    entries += changes.extraMapIncrements;
    next.mapVersion += mapIncs;
    next.version += BigInt(Math.max(entries, 1));
    if (changes.nextRank !== undefined) next.nextRank = changes.nextRank;
    const metaKey = `${this.prefix}/meta`;
    ops.push({
      put: metaKey,
      value: JSON.stringify({
        next_rank: next.nextRank,
        map_version: next.mapVersion,
        version: next.version.toString(),
        txn: txnId,
      }),
    });
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
