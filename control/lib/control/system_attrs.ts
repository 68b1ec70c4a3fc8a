/**
 * System attributes and properties over an Invoker (DAOS lib/control/system.go SystemSetAttr,
 * SystemGetAttr, SystemSetProp, SystemGetProp): MS requests, the property answers paired with
 * their descriptions from lib/system_props.ts.
 */
import { create } from "@bufbuild/protobuf";
import { MgmtSvc } from "../../../proto/gen/ts/mgmt/mgmt_pb.ts";
import {
  SystemGetAttrReqSchema,
  SystemGetPropReqSchema,
  SystemSetAttrReqSchema,
  SystemSetPropReqSchema,
} from "../../../proto/gen/ts/mgmt/system_pb.ts";
import { SYSTEM_PROPS } from "../system_props.ts";
import type { Invoker } from "./invoker.ts";
import type { MsOptions } from "./system.ts";

/** SystemSetAttr: sets the attributes; an empty value deletes one. */
export async function systemSetAttr(
  inv: Invoker,
  opts: MsOptions,
  req: { sys: string; attributes: Record<string, string> },
): Promise<void> {
  if (Object.keys(req.attributes).length === 0) throw new Error("attributes cannot be empty");
  await inv.msRequest(MgmtSvc.method.systemSetAttr, create(SystemSetAttrReqSchema, req), {
    ...opts,
    name: "SystemSetAttr",
  });
}

/** SystemGetAttr: the named attributes (all user-visible ones for no keys), sorted by key. */
export async function systemGetAttr(
  inv: Invoker,
  opts: MsOptions,
  req: { sys: string; keys: string[] },
): Promise<Record<string, string>> {
  const resp = await inv.msRequest(
    MgmtSvc.method.systemGetAttr,
    create(SystemGetAttrReqSchema, req),
    { ...opts, name: "SystemGetAttr" },
  );
  return Object.fromEntries(Object.entries(resp.attributes).sort(([a], [b]) => a < b ? -1 : 1));
}

/** SystemSetProp: sets the properties (checked again by the MS). */
export async function systemSetProp(
  inv: Invoker,
  opts: MsOptions,
  req: { sys: string; properties: Record<string, string> },
): Promise<void> {
  if (Object.keys(req.properties).length === 0) throw new Error("properties cannot be empty");
  await inv.msRequest(MgmtSvc.method.systemSetProp, create(SystemSetPropReqSchema, req), {
    ...opts,
    name: "SystemSetProp",
  });
}

/** One property as get-prop reports it. */
export interface SystemProperty {
  key: string;
  value: string;
  description: string;
}

/**
 * SystemGetProp: the named properties (all for no keys) in name order with their
 * descriptions; names this dmg does not know (a newer server) are kept, undescribed.
 */
export async function systemGetProp(
  inv: Invoker,
  opts: MsOptions,
  req: { sys: string; keys: string[] },
): Promise<SystemProperty[]> {
  const resp = await inv.msRequest(
    MgmtSvc.method.systemGetProp,
    create(SystemGetPropReqSchema, req),
    { ...opts, name: "SystemGetProp" },
  );
  return Object.entries(resp.properties)
    .sort(([a], [b]) => a < b ? -1 : 1)
    .map(([key, value]) => ({
      key,
      value,
      description: SYSTEM_PROPS.find((p) => p.name === key)?.description ?? "",
    }));
}
