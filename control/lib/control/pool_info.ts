/**
 * The client-side pool info (DAOS lib/daos PoolInfo) shared by `pool list`, `system
 * list-pools` and `pool query`: built from a PoolQuery reply (with the §5.14 state and
 * rebuild fix-ups) or from a ListPools entry (`-n`), and marshalled to JSON exactly as the
 * reference's PoolInfo (spec/dmg.md §5.13/§5.14: field order, omitted fields, usage).
 */
import {
  type ListPoolsResp_Pool,
  type PoolQueryResp,
  PoolRebuildStatus_State,
  PoolServiceState,
  StorageMediaType,
} from "../../../proto/gen/ts/mgmt/pool_pb.ts";
import type { GoJsonValue } from "../../../cli/output/gojson.ts";
import { parseRankSet, type RankSet } from "../rankset.ts";
import { derivedRebuildState, fixPoolState, imbalancePercent } from "./pool.ts";

/**
 * Pool query mask bits (daos_pool.h `DPI_*`) and their option names (lib/daos
 * PoolQueryOption). DPI_SELF_HEAL_POLICY is the bit the newer reference adds for the
 * self_heal property query.
 */
export const PoolQueryBit = {
  space: 1n << 0n, // DPI_SPACE
  rebuild: 1n << 1n, // DPI_REBUILD_STATUS
  enabled_engines: 1n << 2n, // DPI_ENGINES_ENABLED
  disabled_engines: 1n << 3n, // DPI_ENGINES_DISABLED
  dead_engines: 1n << 4n, // DPI_ENGINES_DEAD
  self_heal_policy: 1n << 5n, // DPI_SELF_HEAL_POLICY
} as const;

/** A pool query option name. */
export type PoolQueryOption = keyof typeof PoolQueryBit;

/** The mask of the given options. */
export function poolQueryMask(...options: PoolQueryOption[]): bigint {
  return options.reduce((m, o) => m | PoolQueryBit[o], 0n);
}

/** Whether `mask` has `option`. */
export function maskHas(mask: bigint, option: PoolQueryOption): boolean {
  return (mask & PoolQueryBit[option]) !== 0n;
}

/** The mask as the reference prints it: known option names, sorted, comma-joined. */
export function poolQueryMaskString(mask: bigint): string {
  return (Object.keys(PoolQueryBit) as PoolQueryOption[])
    .filter((o) => maskHas(mask, o))
    .sort()
    .join(",");
}

/** Per-tier space statistics (bytes; the min/max/mean are per target free bytes). */
export interface PoolTierStats {
  total: bigint;
  free: bigint;
  min: bigint;
  max: bigint;
  mean: bigint;
  /** `scm` or `nvme`. */
  mediaType: string;
}

/** Rebuild status with the derived state of §5.14. */
export interface PoolRebuildInfo {
  status: number;
  /** `idle`, `done` or `busy`. */
  state: "idle" | "done" | "busy";
  derivedState: string;
  objects: bigint;
  records: bigint;
  totalObjects: bigint;
  degraded: boolean;
}

/** The pool info (lib/daos PoolInfo). Rank sets are undefined when not queried. */
export interface PoolInfo {
  queryMask: bigint;
  state: string;
  uuid: string;
  label: string;
  totalTargets: number;
  activeTargets: number;
  totalEngines: number;
  disabledTargets: number;
  version: number;
  svcLdr: number;
  svcReps: number[];
  rebuild: PoolRebuildInfo | undefined;
  tierStats: PoolTierStats[] | undefined;
  enabledRanks: RankSet | undefined;
  disabledRanks: RankSet | undefined;
  deadRanks: RankSet | undefined;
  poolLayoutVer: number;
  upgradeLayoutVer: number;
  memFileBytes: bigint;
  mdOnSsdActive: boolean;
  /** The pool's self_heal property (`exclude;rebuild` when unset); "" when not queried. */
  selfHealPolicy: string;
}

const REBUILD_STATE_NAMES: Record<number, "idle" | "done" | "busy"> = {
  [PoolRebuildStatus_State.IDLE]: "idle",
  [PoolRebuildStatus_State.DONE]: "done",
  [PoolRebuildStatus_State.BUSY]: "busy",
};

/** DAOS's -DER_OP_CANCELED: a rebuild status meaning "stopped by the administrator". */
const DER_OP_CANCELED = -2027;

/** Name of a PoolServiceState value (`Creating`, `Ready`, …). */
export function poolServiceStateName(s: PoolServiceState): string {
  return PoolServiceState[s] ?? "invalid";
}

function ranksOf(mask: bigint, option: PoolQueryOption, text: string): RankSet | undefined {
  // The reference sets the rank set whenever the option was asked for (empty → []).
  return maskHas(mask, option) ? parseRankSet(text) : undefined;
}

/** PoolInfo from a PoolQuery reply, with the client-side state and rebuild fix-ups (§5.14). */
export function poolInfoFromQuery(r: PoolQueryResp): PoolInfo {
  const state = fixPoolState(
    poolServiceStateName(r.state),
    r.status,
    r.totalTargets,
    r.disabledTargets,
  );
  let rebuild: PoolRebuildInfo | undefined;
  if (r.rebuild) {
    const rs = REBUILD_STATE_NAMES[r.rebuild.state] ?? "idle";
    const canceled = r.rebuild.status === DER_OP_CANCELED;
    rebuild = {
      status: r.rebuild.status,
      state: rs,
      derivedState: derivedRebuildState(rs, r.rebuild.status, canceled) ?? rs,
      objects: r.rebuild.objects,
      records: r.rebuild.records,
      totalObjects: 0n,
      degraded: r.disabledTargets > 0,
    };
  }
  const tierStats = r.tierStats.length === 0 ? undefined : r.tierStats.map((t) => ({
    total: t.total,
    free: t.free,
    min: t.min,
    max: t.max,
    mean: t.mean,
    mediaType: t.mediaType === StorageMediaType.NVME ? "nvme" : "scm",
  }));
  return {
    queryMask: r.queryMask,
    state,
    uuid: r.uuid,
    label: r.label,
    totalTargets: r.totalTargets,
    activeTargets: r.activeTargets,
    totalEngines: r.totalEngines,
    disabledTargets: r.disabledTargets,
    version: r.version,
    svcLdr: r.svcLdr,
    svcReps: [...r.svcReps],
    rebuild,
    tierStats,
    enabledRanks: ranksOf(r.queryMask, "enabled_engines", r.enabledRanks),
    disabledRanks: ranksOf(r.queryMask, "disabled_engines", r.disabledRanks),
    deadRanks: ranksOf(r.queryMask, "dead_engines", r.deadRanks),
    poolLayoutVer: r.poolLayoutVer,
    upgradeLayoutVer: r.upgradeLayoutVer,
    memFileBytes: r.memFileBytes,
    mdOnSsdActive: r.memFileBytes > 0n,
    selfHealPolicy: "",
  };
}

/** PoolInfo from a ListPools entry (no query: counts zero, no rebuild or space). */
export function poolInfoFromList(p: ListPoolsResp_Pool): PoolInfo {
  return {
    queryMask: 0n,
    state: p.state,
    uuid: p.uuid,
    label: p.label,
    totalTargets: 0,
    activeTargets: 0,
    totalEngines: 0,
    disabledTargets: 0,
    version: 0,
    svcLdr: 0,
    svcReps: [...p.svcReps],
    rebuild: undefined,
    tierStats: undefined,
    enabledRanks: undefined,
    disabledRanks: undefined,
    deadRanks: undefined,
    poolLayoutVer: 0,
    upgradeLayoutVer: 0,
    memFileBytes: 0n,
    mdOnSsdActive: false,
    selfHealPolicy: "",
  };
}

/** Effective display name: label, or the first group of the UUID (lib/daos PoolInfo.Name). */
export function poolName(pi: Pick<PoolInfo, "label" | "uuid">): string {
  return pi.label !== "" ? pi.label : pi.uuid.split("-")[0];
}

/** One tier's usage as `usage[]` shows it (reference PoolTierUsage). */
export interface PoolTierUsage {
  tierName: string;
  size: bigint;
  free: bigint;
  imbalance: number;
}

/** The per-tier usage (name upper-cased, imbalance as `pool list` computes it). */
export function poolUsage(pi: PoolInfo): PoolTierUsage[] {
  return (pi.tierStats ?? []).map((t) => ({
    tierName: t.mediaType.toUpperCase(),
    size: t.total,
    free: t.free,
    imbalance: imbalancePercent(t.total, t.min, t.max, pi.activeTargets),
  }));
}

/** The pool info JSON object in the reference's field order (§5.14 example). */
export function poolInfoJson(pi: PoolInfo): GoJsonValue {
  const o: Record<string, GoJsonValue> = {
    query_mask: poolQueryMaskString(pi.queryMask),
    state: pi.state,
    uuid: pi.uuid,
  };
  if (pi.label !== "") o.label = pi.label;
  Object.assign(o, {
    total_targets: pi.totalTargets,
    active_targets: pi.activeTargets,
    total_engines: pi.totalEngines,
    disabled_targets: pi.disabledTargets,
    version: pi.version,
    svc_ldr: pi.svcLdr,
  });
  if (pi.svcReps.length > 0) o.svc_reps = pi.svcReps;
  o.rebuild = pi.rebuild
    ? {
      status: pi.rebuild.status,
      state: pi.rebuild.state,
      derived_state: pi.rebuild.derivedState,
      objects: pi.rebuild.objects,
      records: pi.rebuild.records,
      total_objects: pi.rebuild.totalObjects,
      degraded: pi.rebuild.degraded,
    }
    : null;
  o.tier_stats = pi.tierStats
    ? pi.tierStats.map((t) => ({
      total: t.total,
      free: t.free,
      min: t.min,
      max: t.max,
      mean: t.mean,
      media_type: t.mediaType,
    }))
    : null;
  if (pi.enabledRanks) o.enabled_ranks = pi.enabledRanks.ranks();
  if (pi.disabledRanks) o.disabled_ranks = pi.disabledRanks.ranks();
  if (pi.deadRanks) o.dead_ranks = pi.deadRanks.ranks();
  Object.assign(o, {
    pool_layout_ver: pi.poolLayoutVer,
    upgrade_layout_ver: pi.upgradeLayoutVer,
    mem_file_bytes: pi.memFileBytes,
    md_on_ssd_active: pi.mdOnSsdActive,
    self_heal_policy: pi.selfHealPolicy,
  });
  const usage = poolUsage(pi);
  if (usage.length > 0) {
    o.usage = usage.map((u) => ({
      tier_name: u.tierName,
      size: u.size,
      free: u.free,
      imbalance: u.imbalance,
    }));
  }
  return o;
}
