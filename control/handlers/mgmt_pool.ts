/**
 * mgmt.MgmtSvc pool calls on an MS replica, each after the request's system-name check:
 * changes on the leader, reads (ListPools, PoolQuery, PoolQueryTarget, PoolGetProp) on any
 * replica.
 */
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import {
  ListPoolsResp_PoolSchema,
  ListPoolsRespSchema,
  type PoolCreateReq,
  PoolCreateRespSchema,
  PoolDestroyRespSchema,
  PoolDrainRespSchema,
  PoolExcludeRespSchema,
  PoolExtendRespSchema,
  PoolGetPropRespSchema,
  type PoolProperty,
  PoolPropertySchema,
  PoolQueryRespSchema,
  PoolQueryTargetInfoSchema,
  PoolQueryTargetRespSchema,
  PoolReintRespSchema,
  PoolServiceState,
  PoolSetPropRespSchema,
  StorageMediaType,
  StorageTargetUsageSchema,
  StorageUsageStatsSchema,
} from "../../proto/gen/ts/mgmt/pool_pb.ts";
import { PoolRanksResultSchema, SystemDrainRespSchema } from "../../proto/gen/ts/mgmt/system_pb.ts";
import type { ManagementService } from "../mgmt/management_service.ts";
import type { CreateInput } from "../mgmt/pool/service.ts";
import { PROP_PO_LABEL } from "../mgmt/pool/service.ts";
import { systemScoped } from "./mgmt_system.ts";

/** The MS calls these handlers make. */
export type PoolMs = Pick<
  ManagementService,
  | "checkSystem"
  | "poolCreate"
  | "poolDestroy"
  | "listPools"
  | "poolChangeTargets"
  | "poolQuery"
  | "poolExtend"
  | "poolGetProps"
  | "poolSetProps"
  | "poolQueryTargets"
  | "systemDrain"
>;

/** The pool MgmtSvc methods. */
export type MgmtPoolHandlers = Pick<
  ServiceImpl<typeof MgmtSvc>,
  | "systemDrain"
  | "poolCreate"
  | "poolDestroy"
  | "poolExclude"
  | "poolDrain"
  | "poolExtend"
  | "poolReintegrate"
  | "poolQuery"
  | "poolQueryTarget"
  | "poolSetProp"
  | "poolGetProp"
  | "listPools"
>;

/** Property number → value as the MS stores them (numbers as decimal strings). */
export function propValues(props: readonly PoolProperty[]): Record<number, string> {
  const out: Record<number, string> = {};
  for (const p of props) if (p.value.case !== undefined) out[p.number] = String(p.value.value);
  return out;
}

/** Properties whose value is text (label, owner, group, svc_list as a rank set). */
const STRING_PROPS = new Set([PROP_PO_LABEL, 6, 7, 8]);

/**
 * A stored property as the wire carries it: text properties and non-integers as strval,
 * the others as numval.
 */
export function propMessage(number: number, v: string): PoolProperty {
  return STRING_PROPS.has(number) || !/^-?\d+$/.test(v)
    ? create(PoolPropertySchema, { number, value: { case: "strval", value: v } })
    : create(PoolPropertySchema, { number, value: { case: "numval", value: BigInt(v) } });
}

/** PoolCreateReq → the MS's create input (properties kept as number → value). */
export function createInput(req: PoolCreateReq): CreateInput {
  const props: Record<string, string> = {};
  for (const p of req.properties) {
    if (p.value.case !== undefined) props[String(p.number)] = String(p.value.value);
  }
  return {
    uuid: req.uuid,
    label: props[String(PROP_PO_LABEL)] ?? "",
    user: req.user,
    group: req.userGroup,
    ranks: [...req.ranks],
    totalBytes: Number(req.totalBytes),
    tierRatio: [...req.tierRatio],
    numRanks: req.numRanks,
    tierBytes: req.tierBytes.map(Number),
    numSvcReps: req.numSvcReps,
    props,
  };
}

/** Query-mask bits (daos_pool.h DPI_ENGINES_*): which rank lists PoolQuery fills in. */
export const QUERY_ENABLED = 1n << 2n;
/** DPI_ENGINES_DISABLED. */
export const QUERY_DISABLED = 1n << 3n;
/** DPI_ENGINES_DEAD. */
export const QUERY_DEAD = 1n << 4n;

/** Builds the pool calls over the replica's MS. */
export function mgmtPoolHandlers({ ms }: { readonly ms: PoolMs }): MgmtPoolHandlers {
  return {
    poolCreate: systemScoped(ms, async (req) => {
      const r = await ms.poolCreate(createInput(req));
      return create(PoolCreateRespSchema, {
        status: 0,
        svcLdr: r.svcLdr,
        svcReps: r.svcReps,
        tgtRanks: r.tgtRanks,
        tierBytes: r.tierBytes.map(BigInt),
      });
    }),
    poolDestroy: systemScoped(ms, async (req) => {
      await ms.poolDestroy(req.id);
      return create(PoolDestroyRespSchema, { status: 0 });
    }),
    listPools: systemScoped(ms, async () => {
      const pools = await ms.listPools();
      return create(ListPoolsRespSchema, {
        status: 0,
        pools: pools.map((p) =>
          create(ListPoolsResp_PoolSchema, {
            uuid: p.uuid,
            label: p.label,
            svcReps: p.svcRanks,
            state: p.state,
          })
        ),
      });
    }),
    systemDrain: systemScoped(ms, async (req) => {
      const results = await ms.systemDrain(req.ranks, req.hosts, req.reint);
      return create(SystemDrainRespSchema, {
        reint: req.reint,
        results: results.map((r) => create(PoolRanksResultSchema, r)),
      });
    }),
    poolExclude: systemScoped(ms, async (req) => {
      await ms.poolChangeTargets(req.id, [...req.ranks], [...req.targetIdx], "exclude");
      return create(PoolExcludeRespSchema, { status: 0 });
    }),
    poolDrain: systemScoped(ms, async (req) => {
      await ms.poolChangeTargets(req.id, [...req.ranks], [...req.targetIdx], "drain");
      return create(PoolDrainRespSchema, { status: 0 });
    }),
    poolReintegrate: systemScoped(ms, async (req) => {
      await ms.poolChangeTargets(req.id, [...req.ranks], [...req.targetIdx], "reintegrate");
      return create(PoolReintRespSchema, { status: 0 });
    }),
    poolQuery: systemScoped(ms, async (req) => {
      const q = await ms.poolQuery(req.id, req.queryMask);
      const mask = req.queryMask;
      return create(PoolQueryRespSchema, {
        status: 0,
        uuid: q.pool.uuid,
        label: q.pool.label,
        totalTargets: q.totalTargets,
        activeTargets: q.activeTargets,
        disabledTargets: q.disabledTargets,
        tierStats: q.tierStats.map((t, i) =>
          create(StorageUsageStatsSchema, {
            total: BigInt(t.total),
            free: BigInt(t.free),
            min: BigInt(t.min),
            max: BigInt(t.max),
            mean: BigInt(t.mean),
            mediaType: i === 0 ? StorageMediaType.SCM : StorageMediaType.NVME,
          })
        ),
        version: q.pool.mapVersion,
        leader: q.pool.svcRanks[0] ?? 0,
        svcLdr: q.pool.svcRanks[0] ?? 0,
        svcReps: q.pool.svcRanks,
        totalEngines: q.pool.map.length,
        state: q.degraded ? PoolServiceState.Degraded : PoolServiceState.Ready,
        queryMask: mask,
        enabledRanks: (mask & QUERY_ENABLED) !== 0n ? q.enabledRanks : "",
        disabledRanks: (mask & QUERY_DISABLED) !== 0n ? q.disabledRanks : "",
        deadRanks: (mask & QUERY_DEAD) !== 0n ? q.deadRanks : "",
      });
    }),
    poolExtend: systemScoped(ms, async (req) => {
      const tb = await ms.poolExtend(req.id, [...req.ranks]);
      return create(PoolExtendRespSchema, { status: 0, tierBytes: tb.map(BigInt) });
    }),
    poolQueryTarget: systemScoped(ms, async (req) => {
      const infos = await ms.poolQueryTargets(req.id, req.rank, [...req.targets]);
      return create(PoolQueryTargetRespSchema, {
        status: 0,
        infos: infos.map((i) =>
          create(PoolQueryTargetInfoSchema, {
            type: i.type,
            state: i.state,
            space: i.space.map((u, t) =>
              create(StorageTargetUsageSchema, {
                total: BigInt(u.total),
                free: BigInt(u.free),
                mediaType: t === 0 ? StorageMediaType.SCM : StorageMediaType.NVME,
              })
            ),
          })
        ),
      });
    }),
    poolSetProp: systemScoped(ms, async (req) => {
      await ms.poolSetProps(req.id, propValues(req.properties));
      return create(PoolSetPropRespSchema, { status: 0 });
    }),
    poolGetProp: systemScoped(ms, async (req) => {
      const got = await ms.poolGetProps(req.id, req.properties.map((p) => p.number));
      return create(PoolGetPropRespSchema, {
        status: 0,
        properties: Object.entries(got).map(([k, v]) => propMessage(Number(k), v)),
      });
    }),
  };
}
