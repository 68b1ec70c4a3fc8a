/**
 * Pool records in the MS database. Each pool is one attribute `mgmt.pool/<uuid>` (JSON, see
 * {@link PoolRecord}) and its label one attribute `mgmt.pool-label/<label>` → uuid, the unique
 * label index. Both live under the MS's reserved `mgmt.` prefix, so they travel through the
 * fenced write pipeline (writes.ts) like every other MS write and never show in get-attr.
 */
import { PoolQueryTargetInfo_TargetState as TS } from "../../../proto/gen/ts/mgmt/pool_pb.ts";
import type { DbChanges, DbState } from "../db.ts";

export { TS as TargetState };

/** Attribute prefix of pool records. */
export const POOL_PREFIX = "mgmt.pool/";
/** Attribute prefix of the label index. */
export const LABEL_PREFIX = "mgmt.pool-label/";

/** Pool life-cycle states as stored (names as the reference's system.PoolServiceState). */
export type PoolState = "Creating" | "Ready" | "Destroying";

/** One rank of the pool map: its targets' states (index = target index). */
export interface PoolMapRank {
  rank: number;
  targets: TS[];
}

/** A pool as the MS stores it. */
export interface PoolRecord {
  uuid: string;
  label: string;
  state: PoolState;
  svcRanks: number[];
  /** Stored properties: DAOS_PROP_PO_* number → value (numbers as decimal strings). */
  props: Record<string, string>;
  owner: string;
  group: string;
  /** Per-rank bytes by tier: [scm, nvme]. */
  tierBytes: number[];
  /** Ranks the pool was created on. */
  createRanks: number[];
  /** The pool map; version 1 when created. */
  mapVersion: number;
  map: PoolMapRank[];
  /** Ranks that still have to destroy their shards (deferred destroy). */
  pendingDestroy: number[];
}

/** Every pool record in `s`, sorted by uuid (invalid JSON is skipped and counted). */
export function poolRecords(s: DbState): PoolRecord[] {
  const out: PoolRecord[] = [];
  for (const [k, v] of s.attrs) {
    if (!k.startsWith(POOL_PREFIX)) continue;
    try {
      out.push(JSON.parse(v) as PoolRecord);
    } catch {
      // A damaged record is not a pool any handler can act on; it stays for inspection.
    }
  }
  return out.sort((a, b) => a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `id` has the form of a uuid (else it is a label). */
export function isUuid(id: string): boolean {
  return UUID_RE.test(id);
}

/** The pool named by `id` (uuid or label), or undefined. */
export function findPool(s: DbState, id: string): PoolRecord | undefined {
  const uuid = isUuid(id) ? id.toLowerCase() : s.attrs.get(LABEL_PREFIX + id);
  if (uuid === undefined) return undefined;
  const v = s.attrs.get(POOL_PREFIX + uuid);
  if (v === undefined) return undefined;
  try {
    return JSON.parse(v) as PoolRecord;
  } catch {
    return undefined;
  }
}

/** Adds to `c` the write of `p` (and its label index when `oldLabel` differs). */
export function putPool(c: DbChanges, p: PoolRecord, oldLabel?: string): DbChanges {
  c.attrs[POOL_PREFIX + p.uuid] = JSON.stringify(p);
  if (oldLabel !== undefined && oldLabel !== p.label && oldLabel !== "") {
    c.attrs[LABEL_PREFIX + oldLabel] = "";
  }
  if (p.label !== "") c.attrs[LABEL_PREFIX + p.label] = p.uuid;
  return c;
}

/** Adds to `c` the removal of `p` and its label. */
export function removePool(c: DbChanges, p: PoolRecord): DbChanges {
  c.attrs[POOL_PREFIX + p.uuid] = "";
  if (p.label !== "") c.attrs[LABEL_PREFIX + p.label] = "";
  return c;
}

/** Ranks of the pool map. */
export function mapRanks(p: PoolRecord): number[] {
  return p.map.map((r) => r.rank);
}

/**
 * Ranks that may hold shards of the pool: its map's, or, for a pool whose create never
 * finished (no map yet), the ranks the create was sent to.
 */
export function shardRanks(p: PoolRecord): number[] {
  return p.map.length > 0 ? mapRanks(p) : [...p.createRanks];
}
