import { deepEqual, equal, ok } from "node:assert/strict";
import {
  allowedComponents,
  authorizedMethods,
  componentFromCommonName,
  hasAccess,
  permissionDeniedMessage,
} from "./security_authz.ts";

Deno.test("componentFromCommonName: only admin, agent and server are components", () => {
  for (const cn of ["admin", "agent", "server"]) equal(componentFromCommonName(cn), cn);
  for (const cn of ["", "Admin", "DAOS CA", "server ", "root"]) {
    equal(componentFromCommonName(cn), "undefined", cn);
  }
});

Deno.test("hasAccess: the server.md §7.2 table", () => {
  const cases: [string, string[]][] = [
    ["/ctl.CtlSvc/StorageScan", ["admin"]],
    ["/ctl.CtlSvc/StorageFormat", ["admin"]],
    ["/ctl.CtlSvc/NetworkScan", ["admin"]],
    ["/ctl.CtlSvc/PrepShutdownRanks", ["server"]],
    ["/ctl.CtlSvc/StopRanks", ["server"]],
    ["/ctl.CtlSvc/StartRanks", ["server"]],
    ["/ctl.CtlSvc/ResetFormatRanks", ["server"]],
    ["/ctl.CtlSvc/PingRanks", ["server"]],
    ["/mgmt.MgmtSvc/Join", ["server"]],
    ["/mgmt.MgmtSvc/ClusterEvent", ["server"]],
    ["/mgmt.MgmtSvc/SystemQuery", ["admin"]],
    ["/mgmt.MgmtSvc/SystemErase", ["admin"]],
    ["/mgmt.MgmtSvc/LeaderQuery", ["admin"]],
    ["/mgmt.MgmtSvc/PoolEvict", ["admin", "agent"]],
    ["/mgmt.MgmtSvc/GetAttachInfo", ["admin", "agent"]],
    ["/mgmt.MgmtSvc/SystemCleanup", ["admin", "agent"]],
    ["/mgmt.MgmtSvc/PoolDrain", ["admin", "server"]],
    ["/mgmt.MgmtSvc/SystemGetProp", ["admin", "server"]],
    ["/mgmt.MgmtSvc/SystemCheckEngineReport", ["server"]],
    ["/RaftTransport/AppendEntries", ["server"]],
    // Not in the table: nobody.
    ["/RaftTransport/RequestPreVote", []],
    ["/mgmt.MgmtSvc/NoSuchMethod", []],
    ["/ctl.CtlSvc/storagescan", []],
  ];
  for (const [method, allowed] of cases) {
    deepEqual(allowedComponents(method), allowed, method);
    for (const c of ["admin", "agent", "server", "undefined"] as const) {
      equal(hasAccess(c, method), allowed.includes(c), `${c} ${method}`);
    }
  }
});

Deno.test("hasAccess: an undefined component may call nothing", () => {
  const methods = authorizedMethods();
  ok(methods.length > 60, `${methods.length} methods`);
  for (const m of methods) equal(hasAccess("undefined", m), false, m);
});

Deno.test("permissionDeniedMessage: DAOS wording", () => {
  equal(
    permissionDeniedMessage("agent", "/ctl.CtlSvc/StorageScan"),
    "agent does not have permission to call /ctl.CtlSvc/StorageScan",
  );
});
