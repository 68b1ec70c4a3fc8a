/**
 * The pool dRPC contract (pool_contract.md) as the MS uses it: one local ready engine serves
 * every call. `FakePoolEngine` scripts it for unit tests.
 */
import { faults } from "../../lib/fault.ts";
import type { PoolMapRank } from "./record.ts";

/** Reply of POOL_CREATE (207) and POOL_EXTEND (229): mgmt.PoolShardsResp. */
export interface ShardsResp {
  status: number;
  ranks: number[];
  ntargets: number[];
  tierBytes: number[];
  error: string;
  failedRank: number;
  largest: number[];
}

/** Pool tier usage from POOL_QUERY (223). */
export interface TierStat {
  total: number;
  free: number;
  min: number;
  max: number;
  mean: number;
}

/** Reply of POOL_QUERY (223). */
export interface QueryResp {
  status: number;
  tierStats: TierStat[];
  totalTargets: number;
  activeTargets: number;
  disabledTargets: number;
  version: number;
}

/** One target of POOL_QUERY_TARGETS (240): its type and [SCM, NVMe] space. */
export interface TargetInfo {
  /** PoolQueryTargetInfo.TargetType. */
  type: number;
  space: { total: number; free: number }[];
}

/** Reply of POOL_QUERY_TARGETS (240). */
export interface QueryTargetsResp {
  status: number;
  infos: TargetInfo[];
}

/** The engine side of the MS's pool operations. */
export interface PoolEngine {
  create(
    uuid: string,
    ranks: number[],
    tierBytes: number[],
    numSvcReps: number,
  ): Promise<ShardsResp>;
  /** POOL_DESTROY (208): status 0 when every reached rank destroyed its shards. */
  destroy(uuid: string, svcRanks: number[]): Promise<number>;
  query(uuid: string, svcRanks: number[], queryMask: bigint): Promise<QueryResp>;
  extend(
    uuid: string,
    ranks: number[],
    tierBytes: number[],
    svcRanks: number[],
  ): Promise<ShardsResp>;
  /** POOL_QUERY_TARGETS (240): one info per target of `targets`, in order. */
  queryTargets(uuid: string, rank: number, targets: number[]): Promise<QueryTargetsResp>;
  /** POOL_MAP_SET (253): status. */
  mapSet(uuid: string, version: number, svcRanks: number[], ranks: PoolMapRank[]): Promise<number>;
}

/** -DER_NOSPACE. */
export const DER_NOSPACE = -1007;
/** -DER_NONEXIST. */
export const DER_NONEXIST = -1005;

/** A scripted engine: records calls; every call succeeds unless `fail` names it. */
export class FakePoolEngine implements PoolEngine {
  /** Calls made, as "method uuid ranks". */
  readonly calls: string[] = [];
  /** Replies to use instead of success, by method. */
  readonly fail = new Map<string, Partial<ShardsResp> | number>();
  /** Targets per rank the fake engines report. */
  targetsPerRank = 4;
  /** Map pushes, in order. */
  readonly pushes: { uuid: string; version: number; ranks: PoolMapRank[] }[] = [];
  /** When set, POOL_CREATE answers only once it resolves (an engine busy creating shards). */
  createGate: Promise<void> | null = null;

  private shards(m: string, ranks: number[], tierBytes: number[]): ShardsResp {
    const f = this.fail.get(m);
    const ok: ShardsResp = {
      status: 0,
      ranks,
      ntargets: ranks.map(() => this.targetsPerRank),
      // As the engine: what each rank allocated, [scm, nvme] rank after rank.
      tierBytes: ranks.flatMap(() => tierBytes),
      error: "",
      failedRank: 0,
      largest: [],
    };
    return typeof f === "object" ? { ...ok, ...f } : ok;
  }

  /** POOL_CREATE. */
  async create(uuid: string, ranks: number[], tierBytes: number[]): Promise<ShardsResp> {
    this.calls.push(`create ${uuid} ${ranks.join(",")}`);
    if (this.createGate) await this.createGate;
    return this.shards("create", ranks, tierBytes);
  }

  /** POOL_DESTROY. */
  destroy(uuid: string, svcRanks: number[]): Promise<number> {
    this.calls.push(`destroy ${uuid} ${svcRanks.join(",")}`);
    const f = this.fail.get("destroy");
    return Promise.resolve(typeof f === "number" ? f : 0);
  }

  /** POOL_QUERY. */
  query(uuid: string): Promise<QueryResp> {
    this.calls.push(`query ${uuid}`);
    // One shot: the next query succeeds (an engine that got the map meanwhile).
    const f = this.fail.get("query");
    this.fail.delete("query");
    return Promise.resolve({
      status: typeof f === "number" ? f : 0,
      tierStats: [{ total: 100, free: 60, min: 10, max: 20, mean: 15 }],
      totalTargets: 0,
      activeTargets: 0,
      disabledTargets: 0,
      version: 1,
    });
  }

  /** POOL_QUERY_TARGETS: PM targets with fixed space. */
  queryTargets(uuid: string, rank: number, targets: number[]): Promise<QueryTargetsResp> {
    this.calls.push(`querytargets ${uuid} ${rank} ${targets.join(",")}`);
    const f = this.fail.get("querytargets");
    return Promise.resolve({
      status: typeof f === "number" ? f : 0,
      infos: targets.map(() => ({ type: 3, space: [{ total: 100, free: 50 }] })),
    });
  }

  /** POOL_EXTEND. */
  extend(uuid: string, ranks: number[], tierBytes: number[]): Promise<ShardsResp> {
    this.calls.push(`extend ${uuid} ${ranks.join(",")}`);
    return Promise.resolve(this.shards("extend", ranks, tierBytes));
  }

  /** POOL_MAP_SET. */
  mapSet(uuid: string, version: number, _svc: number[], ranks: PoolMapRank[]): Promise<number> {
    this.calls.push(`mapset ${uuid} v${version}`);
    this.pushes.push({
      uuid,
      version,
      ranks: ranks.map((r) => ({ ...r, targets: [...r.targets] })),
    });
    const f = this.fail.get("mapset");
    return Promise.resolve(typeof f === "number" ? f : 0);
  }
}

/**
 * The engine a server without a ready local engine has: every call fails with
 * DataPlaneNotStarted (611, retryable), as the reference answers when no engine serves dRPC.
 */
export class NoPoolEngine implements PoolEngine {
  private fail<T>(): Promise<T> {
    return Promise.reject(faults.ServerDataPlaneNotStarted());
  }
  /** Fails: no engine. */
  create(): Promise<ShardsResp> {
    return this.fail();
  }
  /** Fails: no engine. */
  destroy(): Promise<number> {
    return this.fail();
  }
  /** Fails: no engine. */
  query(): Promise<QueryResp> {
    return this.fail();
  }
  /** Fails: no engine. */
  extend(): Promise<ShardsResp> {
    return this.fail();
  }
  /** Fails: no engine. */
  queryTargets(): Promise<QueryTargetsResp> {
    return this.fail();
  }
  /** Fails: no engine. */
  mapSet(): Promise<number> {
    return this.fail();
  }
}
