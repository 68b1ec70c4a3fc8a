/**
 * Component authorisation on the control port (server.md §7.2): the caller's component is the
 * CN of its verified client certificate, and each full gRPC method name lists the components
 * allowed to call it. Methods absent from the table are denied.
 *
 * The table is written per service over the generated service descriptors, so the compiler
 * holds it to the services: every method needs a rule and a rule cannot name a method that
 * does not exist (the authz test checks the same against every service in proto/gen/ts).
 * Permissions follow the reference's map (DAOS security/grpc_authorization.go); the reference
 * rows for RPCs not implemented here (Pool*, SystemCheck*, RaftTransport, …) come with their
 * RPCs, with the components server.md §7.2 lists for them.
 */
import type { DescService } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { CtlSvc } from "../../../proto/gen/ts/ctl/ctl_pb.ts";
import { MgmtSvc } from "../../../proto/gen/ts/mgmt/mgmt_pb.ts";

/** A DAOS component as identified by a certificate CN. */
export type Component = "admin" | "agent" | "server" | "undefined";

/** The component a certificate CN names; anything else is `undefined` (no access). */
export function componentFromCommonName(cn: string): Component {
  return cn === "admin" || cn === "agent" || cn === "server" ? cn : "undefined";
}

/** One rule per method of a service, keyed by the method's generated (local) name. */
type ServiceRules<S> = S extends GenService<infer M extends GenServiceMethods>
  ? { readonly [K in keyof M]: readonly Component[] }
  : never;

const ADMIN = ["admin"] as const;
const SERVER = ["server"] as const;

const CTL_RULES: ServiceRules<typeof CtlSvc> = {
  storageScan: ADMIN,
  storageFormat: ADMIN,
  networkScan: ADMIN,
  // Ours: logs and config of the host (secrets redacted), admin only.
  collectLog: ADMIN,
  smdQuery: ADMIN,
  smdManage: ADMIN,
  setEngineLogMasks: ADMIN,
  prepShutdownRanks: SERVER,
  stopRanks: SERVER,
  resetFormatRanks: SERVER,
  startRanks: SERVER,
  // Ours (no reference row): the MS leader's server-to-server calls.
  pingRanks: SERVER,
  groupUpdate: SERVER,
  systemErasePeer: SERVER,
};

const MGMT_RULES: ServiceRules<typeof MgmtSvc> = {
  join: SERVER,
  clusterEvent: SERVER,
  leaderQuery: ADMIN,
  getAttachInfo: ["admin", "agent"],
  systemQuery: ADMIN,
  systemStop: ADMIN,
  systemStart: ADMIN,
  systemExclude: ADMIN,
  // Admin only as in the reference; the leader reaches peer replicas by CtlSvc.SystemErasePeer.
  systemErase: ADMIN,
  // As the reference: attributes and properties are admin calls; servers read properties.
  systemSetAttr: ADMIN,
  systemGetAttr: ADMIN,
  systemSetProp: ADMIN,
  systemGetProp: ["admin", "server"],
  // Ours: the RAS event log (admin reads it; the agent has no use for it) and the audit trail
  // (admin only: who did what is not for every component to read).
  systemGetEvents: ADMIN,
  systemFollowEvents: ADMIN,
  systemGetAudit: ADMIN,
  // As the reference: pool calls and SystemDrain are admin calls.
  systemDrain: ADMIN,
  poolCreate: ADMIN,
  poolDestroy: ADMIN,
  poolExclude: ADMIN,
  poolDrain: ADMIN,
  poolExtend: ADMIN,
  poolReintegrate: ADMIN,
  poolQuery: ADMIN,
  poolQueryTarget: ADMIN,
  poolSetProp: ADMIN,
  poolGetProp: ADMIN,
  listPools: ADMIN,
};

/** The services the access table covers (the ones the control server registers). */
export const AUTHORIZED_SERVICES: readonly DescService[] = [CtlSvc, MgmtSvc];

function buildTable(): ReadonlyMap<string, ReadonlySet<Component>> {
  const table = new Map<string, ReadonlySet<Component>>();
  const add = <M extends GenServiceMethods>(
    svc: GenService<M>,
    rules: { readonly [K in keyof M]: readonly Component[] },
  ) => {
    for (const local of Object.keys(rules) as (keyof M & string)[]) {
      table.set(`/${svc.typeName}/${svc.method[local].name}`, new Set(rules[local]));
    }
  };
  add(CtlSvc, CTL_RULES);
  add(MgmtSvc, MGMT_RULES);
  return table;
}

const METHOD_AUTHORIZATIONS = buildTable();

/** True when `component` may call `fullMethod` ("/ctl.CtlSvc/StorageScan"). */
export function hasAccess(component: Component, fullMethod: string): boolean {
  return METHOD_AUTHORIZATIONS.get(fullMethod)?.has(component) ?? false;
}

/** The components allowed to call `fullMethod` (empty when it is not in the table). */
export function allowedComponents(fullMethod: string): Component[] {
  return [...(METHOD_AUTHORIZATIONS.get(fullMethod) ?? [])].sort();
}

/** Every method in the table (for tests and diagnostics). */
export function authorizedMethods(): string[] {
  return [...METHOD_AUTHORIZATIONS.keys()].sort();
}

/** The PermissionDenied text DAOS returns. */
export function permissionDeniedMessage(component: Component, fullMethod: string): string {
  return `${component} does not have permission to call ${fullMethod}`;
}
