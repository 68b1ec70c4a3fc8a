/**
 * mgmt.MgmtSvc pool calls on an MS replica, each after the request's system-name check:
 * PoolCreate and PoolDestroy on the leader, ListPools on any replica. The pool calls not built
 * yet answer a fault that names them instead of the transport's bare "unimplemented".
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
} from "../../proto/gen/ts/mgmt/pool_pb.ts";
import { makeFault } from "../lib/fault.ts";
import type { ManagementService } from "../mgmt/management_service.ts";
import type { CreateInput } from "../mgmt/pool/service.ts";
import { PROP_PO_LABEL } from "../mgmt/pool/service.ts";
import { systemScoped } from "./mgmt_system.ts";

/** The MS calls these handlers make. */
export type PoolMs = Pick<
  ManagementService,
  "checkSystem" | "poolCreate" | "poolDestroy" | "listPools"
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

function notBuilt(rpc: string): () => Promise<never> {
  return () =>
    Promise.reject(makeFault(
      "SystemUnknown",
      `${rpc} is not implemented by this daos_server build`,
      "use a daos_server build that serves pool operations",
    ));
}

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
    systemDrain: notBuilt("SystemDrain"),
    poolExclude: notBuilt("PoolExclude"),
    poolDrain: notBuilt("PoolDrain"),
    poolExtend: notBuilt("PoolExtend"),
    poolReintegrate: notBuilt("PoolReintegrate"),
    poolQuery: notBuilt("PoolQuery"),
    poolQueryTarget: notBuilt("PoolQueryTarget"),
    poolSetProp: notBuilt("PoolSetProp"),
    poolGetProp: notBuilt("PoolGetProp"),
  };
}
