/**
 * Component authorisation on the control port (server.md §7.2): the caller's component is the
 * CN of its verified client certificate, and each full gRPC method name lists the components
 * allowed to call it. Methods absent from the table are denied.
 */

/** A DAOS component as identified by a certificate CN. */
export type Component = "admin" | "agent" | "server" | "undefined";

/** The component a certificate CN names; anything else is `undefined` (no access). */
export function componentFromCommonName(cn: string): Component {
  return cn === "admin" || cn === "agent" || cn === "server" ? cn : "undefined";
}

const ADMIN_CTL = [
  "StorageScan",
  "StorageFormat",
  "StorageNvmeRebind",
  "StorageNvmeAddDevice",
  "NetworkScan",
  "CollectLog",
  "SmdQuery",
  "SmdManage",
  "SetEngineLogMasks",
];
const SERVER_CTL = [
  "PrepShutdownRanks",
  "StopRanks",
  "ResetFormatRanks",
  "StartRanks",
  "PingRanks",
  "GroupUpdate",
  "SystemErasePeer",
  "CheckEngineRepair",
];
const ADMIN_MGMT = [
  "LeaderQuery",
  "SystemQuery",
  "SystemErase",
  "SystemStart",
  "SystemStop",
  "SystemExclude",
  "SystemDrain",
  "SystemRebuildManage",
  "SystemSelfHealEval",
  "PoolCreate",
  "PoolDestroy",
  "PoolQuery",
  "PoolQueryTarget",
  "PoolSetProp",
  "PoolGetProp",
  "PoolGetACL",
  "PoolOverwriteACL",
  "PoolUpdateACL",
  "PoolDeleteACL",
  "PoolExclude",
  "PoolDrain",
  "PoolReintegrate",
  "PoolEvict",
  "PoolExtend",
  "PoolUpgrade",
  "PoolRebuildStart",
  "PoolRebuildStop",
  "PoolSelfHealEval",
  "GetAttachInfo",
  "ListPools",
  "ListContainers",
  "ContSetOwner",
  "SystemCleanup",
  "SystemCheckEnable",
  "SystemCheckDisable",
  "SystemCheckStart",
  "SystemCheckStop",
  "SystemCheckQuery",
  "SystemCheckSetPolicy",
  "SystemCheckGetPolicy",
  "SystemCheckRepair",
  "FaultInjectReport",
  "FaultInjectPoolFault",
  "FaultInjectMgmtPoolFault",
  "SystemSetAttr",
  "SystemGetAttr",
  "SystemSetProp",
  "SystemGetProp",
];
const AGENT_MGMT = ["PoolEvict", "GetAttachInfo", "SystemCleanup"];
const SERVER_MGMT = [
  "Join",
  "ClusterEvent",
  "PoolDrain",
  "PoolReintegrate",
  "PoolRebuildStart",
  "PoolRebuildStop",
  "PoolSelfHealEval",
  "SystemCheckEngineReport",
  "SystemGetProp",
];
const SERVER_RAFT = [
  "AppendEntries",
  "AppendEntriesPipeline",
  "RequestVote",
  "TimeoutNow",
  "InstallSnapshot",
];

function buildTable(): ReadonlyMap<string, ReadonlySet<Component>> {
  const table = new Map<string, Set<Component>>();
  const grant = (component: Component, prefix: string, methods: string[]) => {
    for (const m of methods) {
      const key = `${prefix}/${m}`;
      const set = table.get(key) ?? new Set<Component>();
      set.add(component);
      table.set(key, set);
    }
  };
  grant("admin", "/ctl.CtlSvc", ADMIN_CTL);
  grant("server", "/ctl.CtlSvc", SERVER_CTL);
  grant("admin", "/mgmt.MgmtSvc", ADMIN_MGMT);
  grant("agent", "/mgmt.MgmtSvc", AGENT_MGMT);
  grant("server", "/mgmt.MgmtSvc", SERVER_MGMT);
  grant("server", "/RaftTransport", SERVER_RAFT);
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
