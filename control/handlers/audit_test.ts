/**
 * The audit hook in a Connect router (no sockets): which calls are recorded, with which fields
 * (who, component, peer, method, target, outcome, server), secure and insecure; calls redirected
 * to another replica and unaudited methods are not recorded; the record types round-trip.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import {
  Code,
  ConnectError,
  createClient,
  createRouterTransport,
  type Interceptor,
} from "@connectrpc/connect";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import type { Component } from "../lib/rpc/security_authz.ts";
import { NotLeaderError, toWireError } from "../lib/rpc/error_codec.ts";
import {
  COMPONENT_HEADER,
  PEER_COMPONENT,
  securityInterceptor,
  VERSION_HEADER,
} from "../lib/rpc/security_interceptor.ts";
import { DAOS_VERSION } from "../lib/rpc/version.ts";
import {
  auditEvent,
  auditFromEvent,
  type AuditRecord,
  auditTarget,
  decodeAudit,
  describeAudit,
  encodeAudit,
  isAudited,
} from "../mgmt/ops/audit.ts";
import { leaderChangedEvent } from "../mgmt/ops/ras_log.ts";
import { auditInterceptor } from "./audit.ts";
import { peerHostKey } from "./mgmt_join.ts";

const SERVER = "10.0.0.1:10001";

/** Sets what the listener would: the caller's IP and (secure) its certificate's component. */
function listenerValues(ip: string, cert?: Component): Interceptor {
  return (next) => (req) => {
    req.contextValues.set(peerHostKey, ip);
    if (cert !== undefined) req.contextValues.set(PEER_COMPONENT, cert);
    return next(req);
  };
}

/** A router serving fake MgmtSvc/CtlSvc methods behind the listener values, audit and access. */
function setup(opts: { secure: boolean; cert?: Component; stopError?: Error }) {
  const records: AuditRecord[] = [];
  const transport = createRouterTransport(({ service }) => {
    service(MgmtSvc, {
      systemStop: () => {
        if (opts.stopError) throw toWireError(opts.stopError);
        return {};
      },
      systemQuery: () => ({}),
    });
    service(CtlSvc, { storageFormat: () => ({}) });
  }, {
    router: {
      interceptors: [
        listenerValues("10.0.0.9", opts.cert),
        auditInterceptor({
          secure: opts.secure,
          server: SERVER,
          sink: (r) => records.push(r),
          now: () => "2026-01-02T03:04:05.000Z",
        }),
        securityInterceptor({ secure: opts.secure }),
      ],
    },
  });
  const headers = { [COMPONENT_HEADER]: "admin", [VERSION_HEADER]: DAOS_VERSION };
  return {
    records,
    mgmt: createClient(MgmtSvc, transport),
    ctl: createClient(CtlSvc, transport),
    headers,
  };
}

const fields = (r: AuditRecord) => [r.who, r.component, r.peer, r.method, r.target, r.outcome];

Deno.test("audit hook: a secure admin's stop is recorded with its CN, peer, ranks and outcome", async () => {
  const s = setup({ secure: true, cert: "admin" });
  await s.mgmt.systemStop({ sys: "daos_server", ranks: "1", force: true }, { headers: s.headers });
  await s.mgmt.systemQuery({ sys: "daos_server" }, { headers: s.headers }); // not audited
  await s.ctl.storageFormat({}, { headers: s.headers });
  deepEqual(s.records.map(fields), [
    ["admin", "admin", "10.0.0.9", "/mgmt.MgmtSvc/SystemStop", "ranks 1 force", "ok"],
    ["admin", "admin", "10.0.0.9", "/ctl.CtlSvc/StorageFormat", `host ${SERVER}`, "ok"],
  ]);
  deepEqual([s.records[0].time, s.records[0].server, s.records[0].seq], [
    "2026-01-02T03:04:05.000Z",
    SERVER,
    0n,
  ]);
});

Deno.test("audit hook: refused access and failures are recorded with the error text", async () => {
  const agent = setup({ secure: true, cert: "agent" });
  const headers = { ...agent.headers, [COMPONENT_HEADER]: "agent" };
  const denied = await agent.mgmt.systemStop({ sys: "daos_server", hosts: "h1" }, { headers })
    .catch((e) => ConnectError.from(e));
  equal((denied as ConnectError).code, Code.PermissionDenied);
  deepEqual(agent.records.map(fields), [[
    "agent",
    "agent",
    "10.0.0.9",
    "/mgmt.MgmtSvc/SystemStop",
    "hosts h1",
    "PermissionDenied: agent does not have permission to call " +
    "/mgmt.MgmtSvc/SystemStop",
  ]]);
  const failing = setup({ secure: false, stopError: new Error("fan-out to h2 failed") });
  await failing.mgmt.systemStop({ sys: "daos_server" }, { headers: failing.headers }).catch(
    () => {},
  );
  deepEqual(failing.records.map(fields), [[
    "insecure",
    "admin",
    "10.0.0.9",
    "/mgmt.MgmtSvc/SystemStop",
    "all ranks",
    "fan-out to h2 failed",
  ]]);
});

Deno.test("audit hook: a call the client repeats on the leader is not recorded here", async () => {
  const s = setup({ secure: false, stopError: new NotLeaderError("10.0.0.2:10001", []) });
  await s.mgmt.systemStop({ sys: "daos_server" }, { headers: s.headers }).catch(() => {});
  deepEqual(s.records, []);
});

Deno.test("audit records: stored form, forwarded event, control-log line", () => {
  const r = {
    seq: 0n,
    time: "T",
    who: "admin",
    component: "admin",
    peer: "10.0.0.9",
    method: "/ctl.CtlSvc/StorageFormat",
    target: `host ${SERVER}`,
    outcome: "ok",
    server: SERVER,
  } as AuditRecord;
  const back = decodeAudit({ seq: 12n, value: encodeAudit(r) });
  deepEqual([back.seq, ...fields(back), back.server, back.time], [12n, ...fields(r), SERVER, "T"]);
  const ev = auditEvent(r, "host1");
  const fwd = auditFromEvent(ev);
  ok(fwd !== null);
  deepEqual(fields(fwd), fields(r));
  equal(auditFromEvent(leaderChangedEvent(SERVER, "T")), null);
  equal(
    describeAudit(r),
    `AUDIT /ctl.CtlSvc/StorageFormat by admin (admin) from 10.0.0.9 on host ${SERVER} at ${SERVER}: ok`,
  );
  ok(/unreadable audit record/.test(decodeAudit({ seq: 1n, value: "[" }).outcome));
});

Deno.test("audited methods: every mutating admin RPC, with keys but never attribute values", () => {
  const cases: [string, unknown, boolean, string][] = [
    ["/mgmt.MgmtSvc/SystemStop", { ranks: "1" }, true, "ranks 1"],
    [
      "/mgmt.MgmtSvc/SystemSetAttr",
      { attributes: { b: "secret", a: "x" } },
      true,
      "attributes a,b",
    ],
    [
      "/mgmt.MgmtSvc/SystemSetProp",
      { properties: { self_heal: "none" } },
      true,
      "properties self_heal",
    ],
    ["/ctl.CtlSvc/SmdManage", {}, true, "host 127.0.0.1:10001"],
    ["/ctl.CtlSvc/SetEngineLogMasks", {}, true, "host 127.0.0.1:10001"],
    ["/ctl.CtlSvc/StorageFormat", {}, true, "host 127.0.0.1:10001"],
    ["/mgmt.MgmtSvc/SystemQuery", {}, false, "all ranks"],
    ["/mgmt.MgmtSvc/SystemGetAttr", {}, false, "all ranks"],
    ["/mgmt.MgmtSvc/PoolCreate", { uuid: "u1", properties: [{ strval: "tank" }] }, true, "pool u1"],
    ["/mgmt.MgmtSvc/PoolDestroy", { id: "tank" }, true, "pool tank"],
    ["/mgmt.MgmtSvc/PoolExclude", { id: "tank", ranks: [1, 2] }, true, "pool tank ranks 1,2"],
    ["/mgmt.MgmtSvc/PoolSetProp", { id: "tank", properties: [] }, true, "pool tank"],
    ["/mgmt.MgmtSvc/PoolQuery", { id: "tank" }, false, ""],
    ["/mgmt.MgmtSvc/ListPools", {}, false, ""],
  ];
  for (const [method, msg, audited, target] of cases) {
    equal(isAudited(method), audited, method);
    if (audited) equal(auditTarget(method, msg, "127.0.0.1:10001"), target, method);
  }
});
