/**
 * mgmt.MgmtSvc system attribute and property calls (the reference's SystemSetAttr,
 * SystemGetAttr, SystemSetProp, SystemGetProp) on an MS replica, each after the request's
 * system-name check: writes on the leader, reads on any replica.
 */
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { DaosRespSchema } from "../../proto/gen/ts/mgmt/srv_pb.ts";
import {
  SystemGetAttrRespSchema,
  SystemGetPropRespSchema,
} from "../../proto/gen/ts/mgmt/system_pb.ts";
import type { ManagementService } from "../mgmt/management_service.ts";
import { systemScoped } from "./mgmt_system.ts";

/** The MS calls these handlers make. */
export type AttrsMs = Pick<
  ManagementService,
  "checkSystem" | "setAttrs" | "getAttrs" | "setProps" | "getProps"
>;

/** The attribute and property MgmtSvc methods. */
export type MgmtAttrHandlers = Pick<
  ServiceImpl<typeof MgmtSvc>,
  "systemSetAttr" | "systemGetAttr" | "systemSetProp" | "systemGetProp"
>;

/** Builds the attribute and property calls over the replica's MS. */
export function mgmtAttrHandlers({ ms }: { readonly ms: AttrsMs }): MgmtAttrHandlers {
  return {
    systemSetAttr: systemScoped(ms, async (req) => {
      await ms.setAttrs({ ...req.attributes });
      return create(DaosRespSchema, { status: 0 });
    }),
    systemGetAttr: systemScoped(ms, async (req) => {
      return create(SystemGetAttrRespSchema, { attributes: await ms.getAttrs(req.keys) });
    }),
    systemSetProp: systemScoped(ms, async (req) => {
      await ms.setProps({ ...req.properties });
      return create(DaosRespSchema, { status: 0 });
    }),
    systemGetProp: systemScoped(ms, async (req) => {
      return create(SystemGetPropRespSchema, { properties: await ms.getProps(req.keys) });
    }),
  };
}
