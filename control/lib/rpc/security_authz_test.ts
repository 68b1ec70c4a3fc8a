import { deepEqual, equal, ok } from "node:assert/strict";
import type { DescService } from "@bufbuild/protobuf";
import {
  allowedComponents,
  AUTHORIZED_SERVICES,
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
    ["/ctl.CtlSvc/GroupUpdate", ["server"]],
    ["/ctl.CtlSvc/SystemErasePeer", ["server"]],
    ["/mgmt.MgmtSvc/Join", ["server"]],
    ["/mgmt.MgmtSvc/ClusterEvent", ["server"]],
    ["/mgmt.MgmtSvc/SystemQuery", ["admin"]],
    ["/mgmt.MgmtSvc/SystemErase", ["admin"]],
    ["/mgmt.MgmtSvc/SystemStart", ["admin"]],
    ["/mgmt.MgmtSvc/SystemStop", ["admin"]],
    ["/mgmt.MgmtSvc/SystemExclude", ["admin"]],
    ["/mgmt.MgmtSvc/LeaderQuery", ["admin"]],
    // Ours: the event log and the audit trail (admin only).
    ["/mgmt.MgmtSvc/SystemGetEvents", ["admin"]],
    ["/mgmt.MgmtSvc/SystemFollowEvents", ["admin"]],
    ["/mgmt.MgmtSvc/SystemGetAudit", ["admin"]],
    ["/mgmt.MgmtSvc/GetAttachInfo", ["admin", "agent"]],
    ["/ctl.CtlSvc/SmdQuery", ["admin"]],
    ["/ctl.CtlSvc/SmdManage", ["admin"]],
    ["/ctl.CtlSvc/SetEngineLogMasks", ["admin"]],
    // The pool RPCs (issue 12), admin as in the reference.
    ["/mgmt.MgmtSvc/PoolCreate", ["admin"]],
    ["/mgmt.MgmtSvc/PoolDestroy", ["admin"]],
    ["/mgmt.MgmtSvc/PoolDrain", ["admin"]],
    ["/mgmt.MgmtSvc/PoolQuery", ["admin"]],
    ["/mgmt.MgmtSvc/ListPools", ["admin"]],
    ["/mgmt.MgmtSvc/SystemDrain", ["admin"]],
    // Reference rows of RPCs that do not exist here (stale rows, removed): nobody, like any
    // method not in the table. They come back with their RPCs (server.md §7.2).
    ["/mgmt.MgmtSvc/PoolEvict", []],
    ["/mgmt.MgmtSvc/SystemCheckEngineReport", []],
    ["/RaftTransport/AppendEntries", []],
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
  ok(methods.length >= 18, `${methods.length} methods`);
  for (const m of methods) equal(hasAccess("undefined", m), false, m);
});

Deno.test("permissionDeniedMessage: DAOS wording", () => {
  equal(
    permissionDeniedMessage("agent", "/ctl.CtlSvc/StorageScan"),
    "agent does not have permission to call /ctl.CtlSvc/StorageScan",
  );
});

/** Every service defined in proto/gen/ts (each generated module's exported service descriptors). */
async function generatedServices(): Promise<DescService[]> {
  const root = new URL("../../../proto/gen/ts/", import.meta.url);
  const out: DescService[] = [];
  const walk = async (dir: URL): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      const u = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
      if (e.isDirectory) await walk(u);
      else if (e.name.endsWith("_pb.ts")) {
        const mod: Record<string, unknown> = await import(u.href);
        for (const v of Object.values(mod)) {
          if ((v as { kind?: unknown } | null)?.kind === "service") out.push(v as DescService);
        }
      }
    }
  };
  await walk(root);
  return out.sort((a, b) => a.typeName.localeCompare(b.typeName));
}

Deno.test("access table: every RPC of every service has a rule, every rule names a real RPC", async () => {
  const services = await generatedServices();
  ok(services.some((s) => s.typeName === "ctl.CtlSvc"), "the walk finds the services");
  // The table covers every generated service (the control server registers these).
  deepEqual(
    AUTHORIZED_SERVICES.map((s) => s.typeName).sort(),
    services.map((s) => s.typeName),
  );
  const rpcs = services.flatMap((s) => s.methods.map((m) => `/${s.typeName}/${m.name}`)).sort();
  ok(rpcs.length >= 18, `${rpcs.length} RPCs`);
  const unruled = rpcs.filter((m) => allowedComponents(m).length === 0);
  deepEqual(unruled, [], "RPCs without an access rule (nobody could call them)");
  const stale = authorizedMethods().filter((m) => !rpcs.includes(m));
  deepEqual(stale, [], "access rules naming no RPC");
  for (const m of rpcs) {
    for (const c of allowedComponents(m)) ok(c !== "undefined", `${m} grants undefined`);
  }
});
