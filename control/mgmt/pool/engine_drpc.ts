/**
 * The pool dRPC contract (pool_contract.md) over one ready local engine: mgmt module id, the
 * PoolMethod numbers, bodies as the reference's mgmt/pool.proto plus our pool_engine.proto.
 * No ready engine → DataPlaneNotStarted (611), which the client may retry.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  PoolMapRankSchema,
  PoolMapSetReqSchema,
  type PoolShardsResp,
  PoolShardsRespSchema,
} from "../../../proto/gen/ts/mgmt/pool_engine_pb.ts";
import {
  PoolCreateReqSchema,
  PoolDestroyReqSchema,
  PoolDestroyRespSchema,
  PoolExtendReqSchema,
  PoolQueryReqSchema,
  PoolQueryRespSchema,
  PoolQueryTargetReqSchema,
  PoolQueryTargetRespSchema,
} from "../../../proto/gen/ts/mgmt/pool_pb.ts";
import { DaosRespSchema } from "../../../proto/gen/ts/mgmt/srv_pb.ts";
import { PoolMethod } from "../../drpc/ids.ts";
import { faults } from "../../lib/fault.ts";
import type { PoolEngine, QueryResp, QueryTargetsResp, ShardsResp } from "./engine.ts";
import type { PoolMapRank } from "./record.ts";

/** A local engine as the MS reaches it (the harness's engine instances fit). */
export interface LocalEngine {
  isReady(): boolean;
  callMgmt(method: number, body: Uint8Array, timeoutMs?: number): Promise<Uint8Array>;
}

/** Deadline of a pool dRPC: creates and destroys are collectives over many ranks. */
export const POOL_DRPC_MS = 120_000;

function shards(r: PoolShardsResp): ShardsResp {
  return {
    status: r.status,
    ranks: [...r.ranks],
    ntargets: [...r.ntargets],
    tierBytes: r.tierBytes.map(Number),
    error: r.error,
    failedRank: r.failedRank,
    largest: r.largest.map(Number),
  };
}

/** The pool dRPC calls through the first ready local engine. */
export class DrpcPoolEngine implements PoolEngine {
  constructor(
    private readonly engines: () => readonly LocalEngine[],
    private readonly timeoutMs = POOL_DRPC_MS,
  ) {}

  private call(method: number, body: Uint8Array): Promise<Uint8Array> {
    const e = this.engines().find((x) => x.isReady());
    if (e === undefined) return Promise.reject(faults.ServerDataPlaneNotStarted());
    return e.callMgmt(method, body, this.timeoutMs);
  }

  /** POOL_CREATE (207). */
  async create(
    uuid: string,
    ranks: number[],
    tierBytes: number[],
    numSvcReps: number,
  ): Promise<ShardsResp> {
    const req = create(PoolCreateReqSchema, {
      uuid,
      ranks,
      tierBytes: tierBytes.map(BigInt),
      numSvcReps,
    });
    const out = await this.call(PoolMethod.POOL_CREATE, toBinary(PoolCreateReqSchema, req));
    return shards(fromBinary(PoolShardsRespSchema, out));
  }

  /** POOL_DESTROY (208). */
  async destroy(uuid: string, svcRanks: number[]): Promise<number> {
    const req = create(PoolDestroyReqSchema, { id: uuid, svcRanks });
    const out = await this.call(PoolMethod.POOL_DESTROY, toBinary(PoolDestroyReqSchema, req));
    return fromBinary(PoolDestroyRespSchema, out).status;
  }

  /** POOL_QUERY (223). */
  async query(uuid: string, svcRanks: number[], queryMask: bigint): Promise<QueryResp> {
    const req = create(PoolQueryReqSchema, { id: uuid, svcRanks, queryMask });
    const out = await this.call(PoolMethod.POOL_QUERY, toBinary(PoolQueryReqSchema, req));
    const r = fromBinary(PoolQueryRespSchema, out);
    return {
      status: r.status,
      tierStats: r.tierStats.map((t) => ({
        total: Number(t.total),
        free: Number(t.free),
        min: Number(t.min),
        max: Number(t.max),
        mean: Number(t.mean),
      })),
      totalTargets: r.totalTargets,
      activeTargets: r.activeTargets,
      disabledTargets: r.disabledTargets,
      version: r.version,
    };
  }

  /** POOL_QUERY_TARGETS (240). */
  async queryTargets(uuid: string, rank: number, targets: number[]): Promise<QueryTargetsResp> {
    const req = create(PoolQueryTargetReqSchema, { id: uuid, rank, targets });
    const out = await this.call(
      PoolMethod.POOL_QUERY_TARGETS,
      toBinary(PoolQueryTargetReqSchema, req),
    );
    const r = fromBinary(PoolQueryTargetRespSchema, out);
    return {
      status: r.status,
      infos: r.infos.map((i) => ({
        type: i.type,
        space: i.space.map((u) => ({ total: Number(u.total), free: Number(u.free) })),
      })),
    };
  }

  /** POOL_EXTEND (229): shards on the new ranks only. */
  async extend(
    uuid: string,
    ranks: number[],
    tierBytes: number[],
    svcRanks: number[],
  ): Promise<ShardsResp> {
    const req = create(PoolExtendReqSchema, {
      id: uuid,
      ranks,
      tierBytes: tierBytes.map(BigInt),
      svcRanks,
    });
    const out = await this.call(PoolMethod.POOL_EXTEND, toBinary(PoolExtendReqSchema, req));
    return shards(fromBinary(PoolShardsRespSchema, out));
  }

  /** POOL_MAP_SET (253). */
  async mapSet(
    uuid: string,
    version: number,
    svcRanks: number[],
    ranks: PoolMapRank[],
  ): Promise<number> {
    const req = create(PoolMapSetReqSchema, {
      uuid,
      version,
      svcRanks,
      ranks: ranks.map((r) => create(PoolMapRankSchema, { rank: r.rank, targetStates: r.targets })),
    });
    const out = await this.call(PoolMethod.POOL_MAP_SET, toBinary(PoolMapSetReqSchema, req));
    return fromBinary(DaosRespSchema, out).status;
  }
}
