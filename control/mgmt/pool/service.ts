/**
 * The MS's pool operations (leader side): create, destroy (with deferred completion), list,
 * and the membership hooks that keep pool maps in step with rank states. Records live in the
 * MS database (record.ts) and every change is one fenced write through the write pipeline, so
 * a replica that lost leadership fails the write instead of overwriting a newer leader's data.
 */
import { DaosStatusError, errorText, makeFault } from "../../lib/fault.ts";
import { formatBytes } from "../../lib/sizes.ts";
import { PoolNotFoundError } from "../../lib/rpc/error_codec.ts";
import { selectMembers } from "../system_ops.ts";
import { type DbState, noChanges } from "../db.ts";
import type { Member } from "../member.ts";
import type { OpsContext } from "../ops/context.ts";
import { DER_NONEXIST, DER_NOSPACE, type PoolEngine, type TierStat } from "./engine.ts";
import { RankSet } from "../../lib/rankset.ts";
import {
  findPool,
  isUuid,
  mapRanks,
  type PoolMapRank,
  type PoolRecord,
  poolRecords,
  putPool,
  removePool,
  shardRanks,
  TargetState,
} from "./record.ts";

/** What PoolExclude, PoolDrain and PoolReintegrate do to the named targets. */
export type MapOp = "exclude" | "drain" | "reintegrate";

/** PoolQuery's answer before it becomes a PoolQueryResp. */
export interface PoolQueryInfo {
  pool: PoolRecord;
  totalTargets: number;
  activeTargets: number;
  disabledTargets: number;
  /** Some target is not in service (the reference's Degraded pool state). */
  degraded: boolean;
  tierStats: TierStat[];
  enabledRanks: string;
  disabledRanks: string;
  deadRanks: string;
}

/** One pool's result of a system drain or reintegration (PoolRanksResult). */
export interface PoolRanksOutcome {
  status: number;
  msg: string;
  poolId: string;
  ranks: string;
}

/** -DER_MISC: the status a pool's failed drain reports (its message says why). */
export const DER_MISC = -1025;

/** The reference's default number of pool service replicas. */
export const DEFAULT_SVC_REPS = 3;
/** The reference's default SCM:NVMe ratio for auto-sized pools. */
export const DEFAULT_TIER_RATIO = [0.06, 0.94];
/** The reference's maximum number of pool service replicas. */
export const MAX_SVC_REPS = 13;
/** Smallest SCM per target: the PMDK pool minimum (VOS_SCM_MIN). */
export const SCM_MIN_PER_TARGET = 8 * 1024 * 1024;

/** DAOS_PROP_PO_LABEL (daos_prop.h). */
export const PROP_PO_LABEL = 1;
/** DAOS_PROP_PO_OWNER. */
export const PROP_PO_OWNER = 6;
/** DAOS_PROP_PO_OWNER_GROUP. */
export const PROP_PO_OWNER_GROUP = 7;
/** DAOS_PROP_PO_SVC_LIST. */
export const PROP_PO_SVC_LIST = 8;

/** A pool create request (fields as mgmt.PoolCreateReq). */
export interface CreateInput {
  uuid: string;
  label: string;
  user: string;
  group: string;
  /** Explicit ranks; empty = every Joined rank. */
  ranks: number[];
  /** Auto mode: total bytes and the tier ratio [scm, nvme]. */
  totalBytes: number;
  tierRatio: number[];
  numRanks: number;
  /** Manual mode: per-rank bytes [scm, nvme]. */
  tierBytes: number[];
  numSvcReps: number;
  props: Record<string, string>;
}

/** What PoolCreate answers. */
export interface CreateResult {
  svcLdr: number;
  svcReps: number[];
  tgtRanks: number[];
  tierBytes: number[];
}

/** A RAS event the pool operations raise (id as spec/server.md §5.5). */
export interface PoolEvent {
  id: string;
  msg: string;
  poolUuid: string;
  ranks: number[];
}

/** What the pool operations need besides the MS context. */
export interface PoolServiceDeps {
  ctx: OpsContext;
  engine: PoolEngine;
  /** Targets per engine rank (the engines' configured count); sizes the SCM minimum check. */
  targetsPerRank: number;
  raise(e: PoolEvent): void;
  /** Waits between retries (tests pass a no-op). */
  sleep?(ms: number): Promise<void>;
}

function joined(members: Iterable<Member>): Member[] {
  return [...members].filter((m) => m.state === "joined").sort((a, b) => a.rank - b.rank);
}

/**
 * Service ranks spread over fault domains: one rank per domain in turn (domains sorted, lowest
 * rank first within each), so losing one domain loses as few replicas as possible.
 */
export function pickSvcRanks(members: Member[], ranks: number[], count: number): number[] {
  const byDomain = new Map<string, number[]>();
  for (const r of [...ranks].sort((a, b) => a - b)) {
    const fd = members.find((m) => m.rank === r)?.fault_domain ?? "/";
    byDomain.set(fd, [...(byDomain.get(fd) ?? []), r]);
  }
  const domains = [...byDomain.keys()].sort();
  const out: number[] = [];
  for (let i = 0; out.length < count && out.length < ranks.length; i++) {
    for (const d of domains) {
      const r = byDomain.get(d)![i];
      if (r !== undefined && out.length < count) out.push(r);
    }
  }
  return out;
}

/** Per-rank [scm, nvme] bytes for an auto-sized pool of `totalBytes` over `n` ranks. */
export function autoTierBytes(totalBytes: number, ratio: number[], n: number): number[] {
  return ratio.map((r) => Math.floor(totalBytes * r / n));
}

/** Longest pool label (DAOS_PROP_LABEL_MAX_LEN). */
export const MAX_LABEL_LEN = 127;

/**
 * Refuses a label the reference refuses: empty, longer than 127, characters other than
 * alphanumerics and `:._-`, or one that parses as a uuid (ids would be ambiguous).
 */
export function checkLabel(label: string): void {
  let why = "";
  if (label === "") why = "it is empty";
  else if (label.length > MAX_LABEL_LEN) why = `it is longer than ${MAX_LABEL_LEN} characters`;
  else if (!/^[A-Za-z0-9:._-]+$/.test(label)) {
    why = "only letters, digits and : . _ - are allowed";
  } else if (isUuid(label)) why = "it has the form of a uuid";
  if (why !== "") {
    throw makeFault(
      "SystemUnknown",
      `invalid pool label "${label.slice(0, 140)}": ${why}`,
      "choose a label of at most 127 letters, digits, colons, periods, hyphens or underscores",
    );
  }
}

function poolNotFound(id: string): Error {
  return new PoolNotFoundError(id, !isUuid(id));
}

/** The error a failing engine status becomes. */
function engineError(what: string, status: number, detail = ""): Error {
  // A DAOS status, as the reference's MS returns the engine's; the detail says what failed.
  return new DaosStatusError(status, undefined, detail === "" ? what : `${what}: ${detail}`);
}

/** Re-sends of a deferred destroy after its rank returned (backoff 0.5 s doubling to 8 s). */
export const DESTROY_RETRIES = 10;

/** Why a create had no space: per short tier, what was asked and the most that fits per rank. */
export function noSpaceDetail(asked: number[], largest: number[]): string {
  const names = ["SCM", "NVMe"];
  const short = asked.flatMap((a, t) =>
    largest[t] !== undefined && a > largest[t]
      ? [
        `${names[t] ?? `tier ${t}`} tier: ${formatBytes(a)} per rank asked, at most ${
          formatBytes(largest[t])
        } per rank fits on every rank`,
      ]
      : []
  );
  return short.length > 0 ? short.join("; ") : "";
}

/** The leader's pool operations. */
export class PoolService {
  private createChain: Promise<unknown> = Promise.resolve();

  constructor(private readonly d: PoolServiceDeps) {}

  /** PoolCreate, serialised: one create at a time (label uniqueness and sizing stay exact). */
  create(req: CreateInput): Promise<CreateResult> {
    const run = this.createChain.then(() => this.doCreate(req));
    this.createChain = run.catch(() => {});
    return run;
  }

  private async doCreate(req: CreateInput): Promise<CreateResult> {
    const s = await this.d.ctx.state();
    const all = [...s.members.values()];
    const up = joined(all);
    let ranks: number[];
    if (req.ranks.length > 0) {
      for (const r of req.ranks) {
        const m = all.find((x) => x.rank === r);
        if (m === undefined || m.state !== "joined") {
          throw makeFault(
            "ServerPoolInvalidRanks",
            `rank ${r} is ${m === undefined ? "not a member of the system" : m.state}: ` +
              "pool ranks must be joined",
            "choose joined ranks (dmg system query) or start the rank first",
          );
        }
      }
      ranks = [...new Set(req.ranks)].sort((a, b) => a - b);
    } else {
      ranks = up.map((m) => m.rank);
      if (req.numRanks > 0) {
        if (req.numRanks > ranks.length) {
          throw makeFault(
            "ServerPoolInvalidNumRanks",
            `pool request contains ${req.numRanks} ranks but only ${ranks.length} are joined`,
            "request fewer ranks or start more engines",
          );
        }
        ranks = ranks.slice(0, req.numRanks);
      }
    }
    if (ranks.length === 0) {
      throw makeFault(
        "ServerPoolInvalidRanks",
        "no joined ranks to create the pool on",
        "start the engines (dmg system start) and retry",
      );
    }
    const label = req.label !== "" ? req.label : req.props[String(PROP_PO_LABEL)] ?? "";
    if (label !== "") checkLabel(label);
    if (label !== "" && findPool(s, label) !== undefined) {
      throw makeFault(
        "ServerPoolDuplicateLabel",
        `pool label "${label}" already exists in the system`,
        "retry the operation with a unique pool label",
      );
    }
    if (findPool(s, req.uuid) !== undefined) {
      throw makeFault("SystemUnknown", `pool ${req.uuid} already exists`, "use another uuid");
    }
    const tierBytes = req.totalBytes > 0
      ? autoTierBytes(
        req.totalBytes,
        req.tierRatio.length > 0 ? req.tierRatio : DEFAULT_TIER_RATIO,
        ranks.length,
      )
      : [...req.tierBytes];
    const scmPerTarget = Math.floor((tierBytes[0] ?? 0) / this.d.targetsPerRank);
    if (scmPerTarget < SCM_MIN_PER_TARGET) {
      throw makeFault(
        "ServerPoolScmTooSmall",
        `requested SCM capacity (${tierBytes[0] ?? 0} per rank / ${this.d.targetsPerRank} ` +
          `targets) is too small (min ${SCM_MIN_PER_TARGET} bytes per target)`,
        `retry the request with a pool size of at least ${
          SCM_MIN_PER_TARGET * this.d.targetsPerRank * ranks.length
        } bytes of SCM`,
      );
    }
    // As the reference: 3 by default, 1 when fewer ranks than that are available.
    const reps = req.numSvcReps > 0
      ? req.numSvcReps
      : ranks.length >= DEFAULT_SVC_REPS
      ? DEFAULT_SVC_REPS
      : 1;
    if (reps > MAX_SVC_REPS) {
      throw makeFault(
        "ServerPoolInvalidServiceReps",
        `pool service replicas number should be less than or equal to ${MAX_SVC_REPS}`,
        "retry the request with fewer service replicas",
      );
    }
    const svcRanks = pickSvcRanks(all, ranks, reps);
    const rec: PoolRecord = {
      uuid: req.uuid.toLowerCase(),
      label,
      state: "Creating",
      svcRanks,
      props: { ...req.props, [String(PROP_PO_LABEL)]: label },
      owner: req.user,
      group: req.group,
      tierBytes,
      createRanks: ranks,
      mapVersion: 0,
      map: [],
      pendingDestroy: [],
    };
    await this.d.ctx.write((st) => {
      if (label !== "" && findPool(st, label) !== undefined) {
        throw makeFault("ServerPoolDuplicateLabel", `pool label "${label}" already exists`, "");
      }
      return putPool(noChanges(), rec);
    });
    const resp = await this.d.engine.create(rec.uuid, ranks, tierBytes, reps).catch(
      async (e) => {
        await this.d.ctx.write(() => removePool(noChanges(), rec));
        throw e;
      },
    );
    if (resp.status !== 0) {
      await this.d.ctx.write(() => removePool(noChanges(), rec));
      const detail = resp.status === DER_NOSPACE
        ? noSpaceDetail(tierBytes, resp.largest) || resp.error
        : resp.error;
      throw engineError(`pool create ${label === "" ? rec.uuid : label}`, resp.status, detail);
    }
    const ready: PoolRecord = {
      ...rec,
      state: "Ready",
      tierBytes: perRankTiers(resp.tierBytes, resp.ranks.length, tierBytes),
      mapVersion: 1,
      map: resp.ranks.map((r, i) => ({
        rank: r,
        targets: Array(resp.ntargets[i] ?? 0).fill(TargetState.UP_IN),
      })),
    };
    await this.d.ctx.write(() => putPool(noChanges(), ready));
    await this.push(ready);
    return { svcLdr: svcRanks[0], svcReps: svcRanks, tgtRanks: ranks, tierBytes: ready.tierBytes };
  }

  /** Pushes the pool's map to the engines (POOL_MAP_SET); failures are logged, not fatal. */
  private async push(p: PoolRecord): Promise<void> {
    try {
      const st = await this.d.engine.mapSet(p.uuid, p.mapVersion, p.svcRanks, p.map);
      if (st !== 0) this.d.ctx.log(`pool ${p.uuid}: map v${p.mapVersion} push: DER(${st})`);
    } catch (e) {
      this.d.ctx.log(`pool ${p.uuid}: map v${p.mapVersion} push: ${e}`);
    }
  }

  /**
   * PoolDestroy: Destroying, then POOL_DESTROY. Ranks of the pool that are not Joined now
   * keep their shards: the destroy is deferred (success, RAS event pool_destroy_deferred, the
   * record stays Destroying with those ranks pending) and finished when they join again.
   */
  async destroy(id: string): Promise<void> {
    const s = await this.d.ctx.state();
    const p = findPool(s, id);
    if (p === undefined) throw poolNotFound(id);
    const down = shardRanks(p).filter((r) =>
      [...s.members.values()].find((m) => m.rank === r)?.state !== "joined"
    );
    const destroying: PoolRecord = { ...p, state: "Destroying", pendingDestroy: down };
    await this.d.ctx.write(() => putPool(noChanges(), destroying, p.label));
    const st = await this.d.engine.destroy(p.uuid, p.svcRanks);
    // With ranks down the collective cannot reach them: that is the deferred case, and the
    // destroy is sent again (to every rank) when they return. With every rank up it is an error.
    if (st !== 0 && down.length === 0) throw engineError(`pool destroy of ${p.uuid}`, st);
    if (down.length > 0) {
      this.d.raise({
        id: "pool_destroy_deferred",
        msg: `pool ${p.uuid} destroy deferred: ranks ${down.join(",")} not joined`,
        poolUuid: p.uuid,
        ranks: down,
      });
      return;
    }
    await this.d.ctx.write(() => removePool(noChanges(), destroying));
  }

  /**
   * On gaining leadership (as the reference's checkPools): pools left Creating (the previous
   * leader died before the engines answered or before it recorded Ready) or Destroying with
   * no pending rank still away (it died before removing the record, or the ranks came back
   * while no leader watched). Destroying pools waiting for absent ranks are finished by
   * rankJoined. Taken from the state the new leader starts from, so a create of its own is
   * never among them.
   */
  async stalePools(): Promise<PoolRecord[]> {
    const s = await this.d.ctx.state();
    const joined = new Set(
      [...s.members.values()].filter((m) => m.state === "joined").map((m) => m.rank),
    );
    return poolRecords(s).filter((p) =>
      p.state === "Creating" ||
      (p.state === "Destroying" && p.pendingDestroy.every((r) => joined.has(r)))
    );
  }

  /**
   * Destroys each of `pools` ({@link stalePools}) on every rank that may hold its shards and
   * removes its record, so that no half-made pool holds space or a label. Failures are logged
   * and the pool is left for the next leader change or an admin's `dmg pool destroy`.
   */
  async cleanUp(pools: PoolRecord[]): Promise<void> {
    for (const p of pools) {
      this.d.ctx.log(`pool ${p.uuid} is in unexpected state ${p.state}: destroying it`);
      try {
        await this.destroy(p.uuid);
      } catch (e) {
        this.d.ctx.log(`pool ${p.uuid}: clean-up failed (${e}); dmg pool destroy retries it`);
      }
    }
  }

  /** ListPools (any replica): every pool with its state name. */
  async list(): Promise<PoolRecord[]> {
    return poolRecords(await this.d.ctx.state());
  }

  /**
   * A member left Joined: its targets go DOWN in every pool map holding it (version +1,
   * pushed). Targets already DOWN/DOWN_OUT stay as they are.
   */
  async rankLeft(rank: number): Promise<void> {
    const changed: PoolRecord[] = [];
    await this.d.ctx.write((st) => {
      changed.length = 0;
      const c = noChanges();
      for (const p of poolRecords(st)) {
        if (p.state !== "Ready") continue;
        let touched = false;
        const map: PoolMapRank[] = p.map.map((r) => {
          if (r.rank !== rank) return r;
          return {
            rank,
            targets: r.targets.map((t) => {
              if (t === TargetState.DOWN || t === TargetState.DOWN_OUT) return t;
              touched = true;
              return TargetState.DOWN;
            }),
          };
        });
        if (!touched) continue;
        const np = { ...p, map, mapVersion: p.mapVersion + 1 };
        changed.push(np);
        putPool(c, np);
      }
      return c;
    });
    for (const p of changed) await this.push(p);
  }

  /**
   * A member joined again: re-push the maps of its pools (the engine restarted without them)
   * and finish destroys that waited for it (POOL_DESTROY re-sent; record dropped when no rank
   * is pending any more).
   */
  async rankJoined(
    rank: number,
    mapDelivered: () => Promise<boolean> = () => Promise.resolve(true),
  ): Promise<void> {
    const s = await this.d.ctx.state();
    if (poolRecords(s).some((p) => p.state === "Destroying" && p.pendingDestroy.includes(rank))) {
      // A destroy sent before the engines hold a map with this rank would skip it.
      if (!(await mapDelivered())) {
        this.d.ctx.log(`rank ${rank} joined but its group map was not delivered: destroys wait`);
        return;
      }
    }
    for (const p of poolRecords(s)) {
      if (!shardRanks(p).includes(rank)) continue;
      if (p.state === "Ready") {
        await this.push(p);
        continue;
      }
      if (p.state !== "Destroying" || !p.pendingDestroy.includes(rank)) continue;
      // The returning engine may still be starting its RPC layer: retry, bounded (~1 min).
      let st = await this.d.engine.destroy(p.uuid, p.svcRanks);
      for (let i = 0; st !== 0 && st !== DER_NONEXIST && i < DESTROY_RETRIES; i++) {
        this.d.ctx.log(`pool ${p.uuid}: deferred destroy on rank ${rank}: DER(${st}), retrying`);
        const ms = Math.min(500 * 2 ** i, 8000);
        await (this.d.sleep ? this.d.sleep(ms) : new Promise((r) => setTimeout(r, ms)));
        st = await this.d.engine.destroy(p.uuid, p.svcRanks);
      }
      if (st !== 0 && st !== DER_NONEXIST) {
        this.d.ctx.log(`pool ${p.uuid}: deferred destroy on rank ${rank}: DER(${st}), giving up`);
        continue;
      }
      await this.d.ctx.write((st2) => {
        const cur = findPool(st2, p.uuid);
        if (cur === undefined) return noChanges();
        const pending = cur.pendingDestroy.filter((r) => r !== rank);
        return pending.length === 0
          ? removePool(noChanges(), cur)
          : putPool(noChanges(), { ...cur, pendingDestroy: pending });
      });
    }
  }

  /**
   * PoolExclude (targets DOWN), PoolDrain (DRAIN), PoolReintegrate (UP_IN; the rank must be
   * Joined): `targetIdx` empty = every target of each rank. Ranks and indexes are checked
   * against the stored map first (clear errors); the map version goes +1 and is pushed.
   */
  async changeTargets(
    id: string,
    ranks: number[],
    targetIdx: number[],
    op: MapOp,
  ): Promise<void> {
    let out: PoolRecord | null = null;
    await this.d.ctx.write((st) => {
      const p = findPool(st, id);
      if (p === undefined) throw poolNotFound(id);
      if (p.state !== "Ready") {
        throw makeFault(
          "SystemUnknown",
          `pool ${id} is ${p.state}`,
          "retry once the pool is Ready (dmg pool list)",
        );
      }
      if (ranks.length === 0) {
        throw makeFault("SystemUnknown", `no ranks given for pool ${op}`, "name a rank (--rank)");
      }
      const target = op === "exclude"
        ? TargetState.DOWN
        : op === "drain"
        ? TargetState.DRAIN
        : TargetState.UP_IN;
      const map = p.map.map((r) => ({ rank: r.rank, targets: [...r.targets] }));
      for (const rank of ranks) {
        const r = rankOfPool(map, p, id, rank);
        if (op === "reintegrate") {
          const m = [...st.members.values()].find((x) => x.rank === rank);
          if (m?.state !== "joined") {
            throw makeFault(
              "SystemUnknown",
              `rank ${rank} is ${
                m?.state ?? "not a member"
              }: only a joined rank can be reintegrated`,
              "start the rank (dmg system start --ranks) and retry",
            );
          }
        }
        for (const t of targetIndexes(r, id, targetIdx)) r.targets[t] = target;
      }
      out = { ...p, map, mapVersion: p.mapVersion + 1 };
      return putPool(noChanges(), out);
    });
    if (out !== null) await this.push(out);
  }

  /**
   * PoolQuery (any replica): map fields from the record, tier stats from the engine (223);
   * an engine without the map gets it pushed and is asked once more.
   */
  async query(id: string, queryMask: bigint): Promise<PoolQueryInfo> {
    const p = findPool(await this.d.ctx.state(), id);
    if (p === undefined) throw poolNotFound(id);
    let r = await this.d.engine.query(p.uuid, p.svcRanks, queryMask);
    if (r.status === DER_NONEXIST) {
      await this.push(p);
      r = await this.d.engine.query(p.uuid, p.svcRanks, queryMask);
    }
    if (r.status !== 0) throw engineError(`pool query of ${p.uuid}`, r.status);
    const all = p.map.flatMap((x) => x.targets);
    const active = all.filter((t) => t === TargetState.UP_IN || t === TargetState.DRAIN).length;
    const enabled = p.map.filter((x) => x.targets.some((t) => t === TargetState.UP_IN));
    const disabled = p.map.filter((x) => !x.targets.some((t) => t === TargetState.UP_IN));
    const deadRanks = p.map.filter((x) => x.targets.every((t) => t === TargetState.DOWN));
    return {
      pool: p,
      totalTargets: all.length,
      activeTargets: active,
      disabledTargets: all.length - active,
      degraded: active < all.length,
      tierStats: r.tierStats,
      enabledRanks: RankSet.fromRanks(enabled.map((x) => x.rank)).toString(),
      disabledRanks: RankSet.fromRanks(disabled.map((x) => x.rank)).toString(),
      deadRanks: RankSet.fromRanks(deadRanks.map((x) => x.rank)).toString(),
    };
  }

  /**
   * PoolExtend: new ranks must be Joined and not in the pool already; shards made by dRPC 229
   * (all or nothing), then their targets UP_IN in the map (version +1, pushed).
   */
  async extend(id: string, ranks: number[]): Promise<number[]> {
    const s = await this.d.ctx.state();
    const p = findPool(s, id);
    if (p === undefined) throw poolNotFound(id);
    if (p.state !== "Ready") {
      throw makeFault("SystemUnknown", `pool ${id} is ${p.state}`, "retry once it is Ready");
    }
    if (ranks.length === 0) {
      throw makeFault("ServerPoolInvalidRanks", "no ranks to extend the pool with", "name ranks");
    }
    for (const r of ranks) {
      if (mapRanks(p).includes(r)) {
        throw makeFault(
          "ServerPoolInvalidRanks",
          `rank ${r} is already in pool ${id}`,
          "extend the pool with ranks it does not hold (dmg pool query)",
        );
      }
      const m = [...s.members.values()].find((x) => x.rank === r);
      if (m?.state !== "joined") {
        throw makeFault(
          "ServerPoolInvalidRanks",
          `rank ${r} is ${m?.state ?? "not a member of the system"}: pool ranks must be joined`,
          "start the rank first (dmg system start --ranks)",
        );
      }
    }
    const resp = await this.d.engine.extend(p.uuid, ranks, p.tierBytes, p.svcRanks);
    if (resp.status !== 0) {
      throw engineError(`pool extend of ${p.uuid}`, resp.status, resp.error);
    }
    let out: PoolRecord | null = null;
    await this.d.ctx.write((st) => {
      const cur = findPool(st, p.uuid);
      if (cur === undefined) throw poolNotFound(id);
      const added = resp.ranks.map((r, i) => ({
        rank: r,
        targets: Array(resp.ntargets[i] ?? 0).fill(TargetState.UP_IN),
      }));
      out = { ...cur, map: [...cur.map, ...added], mapVersion: cur.mapVersion + 1 };
      return putPool(noChanges(), out);
    });
    if (out !== null) await this.push(out);
    return p.tierBytes;
  }

  /**
   * PoolGetProp: the stored properties by number (all when `numbers` is empty); label,
   * owner, group and svc_list come from the record itself.
   */
  async getProps(id: string, numbers: number[]): Promise<Record<number, string>> {
    const p = findPool(await this.d.ctx.state(), id);
    if (p === undefined) throw poolNotFound(id);
    const all: Record<number, string> = {};
    for (const [k, v] of Object.entries(p.props)) all[Number(k)] = v;
    all[PROP_PO_LABEL] = p.label;
    all[PROP_PO_OWNER] = p.owner;
    all[PROP_PO_OWNER_GROUP] = p.group;
    all[PROP_PO_SVC_LIST] = RankSet.fromRanks(p.svcRanks).toString();
    if (numbers.length === 0) return all;
    const out: Record<number, string> = {};
    for (const n of numbers) if (all[n] !== undefined) out[n] = all[n];
    return out;
  }

  /**
   * PoolSetProp: stores the properties; a new label must stay unique (609) and moves the
   * label index with it. svc_list is not settable (it is the MS's choice).
   */
  async setProps(id: string, props: Record<number, string>): Promise<void> {
    if (props[PROP_PO_SVC_LIST] !== undefined) {
      throw makeFault(
        "SystemUnknown",
        "pool property svc_list cannot be set",
        "leave svc_list out of dmg pool set-prop",
      );
    }
    await this.d.ctx.write((st) => {
      const p = findPool(st, id);
      if (p === undefined) throw poolNotFound(id);
      const np: PoolRecord = { ...p, props: { ...p.props } };
      for (const [k, v] of Object.entries(props)) {
        const n = Number(k);
        if (n === PROP_PO_LABEL) {
          checkLabel(v);
          const other = findPool(st, v);
          if (other !== undefined && other.uuid !== p.uuid) {
            throw makeFault(
              "ServerPoolDuplicateLabel",
              `pool label "${v}" already exists in the system`,
              "retry the operation with a unique pool label",
            );
          }
          np.label = v;
        } else if (n === PROP_PO_OWNER) np.owner = v;
        else if (n === PROP_PO_OWNER_GROUP) np.group = v;
        np.props[k] = v;
      }
      return putPool(noChanges(), np, p.label);
    });
  }

  /**
   * PoolQueryTarget (any replica): rank and target indexes checked against the stored map
   * (clear errors), space from dRPC 240, states from the map.
   */
  async queryTargets(
    id: string,
    rank: number,
    targets: number[],
  ): Promise<{ type: number; state: TargetState; space: { total: number; free: number }[] }[]> {
    const p = findPool(await this.d.ctx.state(), id);
    if (p === undefined) throw poolNotFound(id);
    const r = rankOfPool(p.map, p, id, rank);
    const idx = targetIndexes(r, id, targets);
    const resp = await this.d.engine.queryTargets(p.uuid, rank, idx);
    if (resp.status !== 0) throw engineError(`pool query-targets of ${p.uuid}`, resp.status);
    return idx.map((t, i) => ({
      type: resp.infos[i]?.type ?? 0,
      state: r.targets[t],
      space: resp.infos[i]?.space ?? [],
    }));
  }

  /**
   * SystemDrain (reint false) / reintegration (reint true): the selected ranks drained from,
   * or reintegrated into, every pool that holds any of them; one result per pool, a failing
   * pool not stopping the others. No filter is refused (it would drain the whole system).
   */
  async systemDrain(ranks: string, hosts: string, reint: boolean): Promise<PoolRanksOutcome[]> {
    if (ranks === "" && hosts === "") {
      throw makeFault(
        "SystemUnknown",
        "no ranks or hosts specified for system drain",
        "name the ranks (--ranks) or hosts (--rank-hosts) to drain",
      );
    }
    const s = await this.d.ctx.state();
    const sel = selectMembers(
      s.members.values(),
      ranks,
      hosts,
      this.d.ctx.controlPort,
      "SystemDrainReq",
    );
    const chosen = new Set(sel.members.map((m) => m.rank));
    const out: PoolRanksOutcome[] = [];
    for (const p of poolRecords(s)) {
      const inPool = mapRanks(p).filter((r) => chosen.has(r)).sort((a, b) => a - b);
      if (inPool.length === 0 || p.state !== "Ready") continue;
      const poolId = p.label !== "" ? p.label : p.uuid;
      const rs = RankSet.fromRanks(inPool).toString();
      try {
        await this.changeTargets(p.uuid, inPool, [], reint ? "reintegrate" : "drain");
        out.push({ status: 0, msg: "", poolId, ranks: rs });
      } catch (e) {
        out.push({ status: DER_MISC, msg: errorText(e), poolId, ranks: rs });
      }
    }
    return out;
  }

  /** Join with `replace` of `rank`: fault 622 while it is UP_IN in any pool. */
  async checkReplace(rank: number): Promise<void> {
    checkReplaceRank(await this.d.ctx.state(), rank);
  }
}

/**
 * Join with `replace` of `rank`: refused (fault 622, the reference's wording) while any pool
 * has that rank's targets UP_IN. Pure, so the join transaction checks the state it commits on.
 */
export function checkReplaceRank(s: DbState, rank: number): void {
  const ids = poolRecords(s).filter((p) =>
    p.map.some((r) => r.rank === rank && r.targets.some((t) => t === TargetState.UP_IN))
  ).map((p) => p.label !== "" ? p.label : p.uuid);
  if (ids.length > 0) {
    throw makeFault(
      "ServerJoinReplaceEnabledPoolRank",
      `rank ${rank} is enabled on ${ids.length === 1 ? "pool" : "pools"} ${ids.join(",")} ` +
        "and cannot be replaced until excluded on all pools",
      "run dmg system exclude --rank=<rank> to manually exclude rank from all system pools " +
        "then attempt dmg storage format --replace again",
    );
  }
}

/**
 * The engine reports what it allocated on each rank as [scm, nvme] pairs, rank after rank; a
 * pool's record (and PoolCreateResp.tier_bytes, as in DAOS) holds one size per tier, per rank:
 * the largest any rank got (ranks round up to their own target count). Falls back to what was
 * asked when the reply carries no sizes.
 */
export function perRankTiers(flat: number[], nranks: number, asked: number[]): number[] {
  if (nranks === 0 || flat.length === 0 || flat.length % nranks !== 0) return asked;
  const ntiers = flat.length / nranks;
  return Array.from(
    { length: ntiers },
    (_, t) => Math.max(...Array.from({ length: nranks }, (_, r) => flat[r * ntiers + t])),
  );
}

/** The entry of `rank` in `map` (pool `p`, named `id` by the caller), or the fault naming its ranks. */
function rankOfPool(map: PoolMapRank[], p: PoolRecord, id: string, rank: number): PoolMapRank {
  const r = map.find((x) => x.rank === rank);
  if (r === undefined) {
    throw makeFault(
      "SystemUnknown",
      `rank ${rank} is not in pool ${id} (its ranks: ${mapRanks(p).join(",")})`,
      "name a rank of the pool (dmg pool query)",
    );
  }
  return r;
}

/** `targets` checked against the rank's targets, or all of them when none are named. */
function targetIndexes(r: PoolMapRank, id: string, targets: number[]): number[] {
  for (const t of targets) {
    if (!Number.isInteger(t) || t < 0 || t >= r.targets.length) {
      throw makeFault(
        "SystemUnknown",
        `target index ${t} out of range for rank ${r.rank} of pool ${id} ` +
          `(${r.targets.length} targets: 0-${r.targets.length - 1})`,
        "name target indexes of that rank",
      );
    }
  }
  return targets.length > 0 ? targets : r.targets.map((_, i) => i);
}
