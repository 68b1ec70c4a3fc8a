/**
 * dmg command tests against a MockInvoker, table-driven and without sockets: flags → the
 * request fields sent → a scripted answer → the text or -j output and the exit status, with
 * the error cases (MS not ready, connection refused, host errors, flag errors).
 */
import { deepEqual, equal, match } from "node:assert/strict";
import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Method } from "../../control/lib/control/invoker.ts";
import { MockInvoker, refused, remote } from "../../control/lib/control/mock_invoker.ts";
import {
  MsUnavailableError,
  NotLeaderError,
  NotReplicaError,
} from "../../control/lib/rpc/error_codec.ts";
import { MemberState } from "../../control/lib/states.ts";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { ResponseStatus } from "../../proto/gen/ts/ctl/common_pb.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { HOSTS, runDmg, testConfig } from "../testing/dmg_harness.ts";

const Q = MgmtSvc.method.systemQuery;
const H1 = "h1:10001";
const H2 = "h2:10001";
const SELF_HEAL_ON = "exclude;pool_exclude;pool_rebuild";
const MEMBERS = [
  { rank: 0, state: "joined", addr: H1 },
  { rank: 1, state: "stopped", addr: H2 },
];
const QUERY_TABLE = "Rank State   \n---- -----   \n0    Joined  \n1    Stopped \n\n";
const REFUSED_H2 = "the server at h2:10001 refused the connection";
const UNINIT = "system is uninitialized (storage format required?)";

/** Fields expected in the n-th request of a method (only the fields named are compared). */
type Sent = [Method<DescMessage, DescMessage>, number, Record<string, unknown>];

interface Case {
  name: string;
  args: string[];
  /** Configured hosts (default both; MS cases use one so the answer order is fixed). */
  hosts?: string[];
  script: (m: MockInvoker) => void;
  code: number;
  out?: string | RegExp;
  err?: string | RegExp;
  /** Requests that must have been sent. */
  sent?: Sent[];
  /** Methods that must not have been called. */
  notCalled?: Method<DescMessage, DescMessage>[];
  /** Further checks on what was sent. */
  inspect?: (m: MockInvoker) => void;
  /** Checks on the -j document. */
  json?: (doc: { response: unknown; error: string | null; status: number }) => void;
}

function pick(msg: unknown, keys: string[]): Record<string, unknown> {
  const m = msg as Record<string, unknown>;
  return Object.fromEntries(keys.map((k) => [k, m[k]]));
}

async function check(c: Case): Promise<void> {
  const m = new MockInvoker();
  c.script(m);
  const r = await runDmg(c.args, m, testConfig(c.hosts ?? HOSTS));
  const where = `${c.name}: out=${JSON.stringify(r.out)} err=${JSON.stringify(r.err)}`;
  equal(r.code, c.code, where);
  for (const [want, got] of [[c.out, r.out], [c.err, r.err]] as const) {
    if (typeof want === "string") equal(got, want, where);
    else if (want !== undefined) match(got, want, where);
  }
  for (const [method, n, fields] of c.sent ?? []) {
    const reqs = m.requests(method);
    equal(reqs.length > n, true, `${c.name}: request ${n} of ${method.name} not sent`);
    deepEqual(pick(reqs[n], Object.keys(fields)), fields, `${c.name}: ${method.name} fields`);
  }
  for (const method of c.notCalled ?? []) {
    equal(m.requests(method).length, 0, `${c.name}: ${method.name} must not be called`);
  }
  c.inspect?.(m);
  if (c.json) c.json(JSON.parse(r.out));
}

const systemCases: Case[] = [
  {
    name: "system query: request from the flags, table on stdout",
    args: ["system", "query", "--with-states", "Joined,stopped"],
    script: (m) => m.reply(Q, { members: MEMBERS, sysSelfHealPolicy: SELF_HEAL_ON }),
    code: 0,
    out: QUERY_TABLE,
    err: "",
    sent: [[Q, 0, { sys: "daos_server", ranks: "", hosts: "", stateMask: 0x28 }]],
  },
  {
    name: "system query -r: ranks normalised; an absent rank fails the command after the table",
    args: ["system", "query", "-r", "[0,7]"],
    script: (m) =>
      m.reply(Q, { members: MEMBERS, absentranks: "7", sysSelfHealPolicy: SELF_HEAL_ON }),
    code: 1,
    out: /^Rank State {8}\n.*\n7 {4}Unknown Rank \n/s,
    err: "ERROR: dmg: system query failed: non-existent ranks 7\n",
    sent: [[Q, 0, { ranks: "0,7", stateMask: 0xffff }]],
  },
  {
    name: "system query -j: one envelope with the payload, error without the prefix",
    args: ["-j", "system", "query", "-r", "0,7"],
    script: (m) => m.reply(Q, { members: MEMBERS, absentranks: "7" }),
    code: 1,
    json: (doc) => {
      equal(doc.error, "non-existent ranks 7");
      equal(doc.status, -1025);
      const resp = doc.response as { members: { state: string }[] };
      deepEqual(resp.members.map((x) => x.state), ["joined", "stopped"]);
    },
  },
  {
    name: "system query: a flag conflict is refused before any request",
    args: ["system", "query", "--not-ok", "--with-states", "Joined"],
    script: () => {},
    code: 1,
    err: "ERROR: dmg: --not-ok and --with-states options cannot be set together\n",
    notCalled: [Q],
  },
  {
    name: "system query: MS not ready until the deadline (typed answer, retried with notices)",
    args: ["--timeout", "300ms", "system", "query"],
    hosts: [H1],
    script: (m) => m.fail(Q, remote(new MsUnavailableError("uninitialized"))),
    code: 1,
    err: new RegExp(
      `^NOTICE: no MS leader yet: 1 of 1 hosts asked not ready \\(${escape(UNINIT)}\\); ` +
        `retrying\\n(NOTICE: .*\\n)*ERROR: dmg: system query failed: ${escape(UNINIT)}: ` +
        "the SystemQuery request timed out after (300|2\\d\\d)ms; 1 of 1 hosts asked not ready\\n" +
        'ERROR: dmg: client: code = 510 resolution = "retry the request or check server ' +
        'logs for more information"\\n$',
    ),
  },
  {
    name: "system query -j: MS down (connection refused) in the envelope",
    args: ["-j", "system", "query"],
    hosts: [H2],
    script: (m) =>
      m.on(Q, (_r, addr) => {
        throw refused(addr);
      }),
    code: 1,
    err: `ERROR: dmg: system query failed: client: code = 506 description = "${REFUSED_H2}": ` +
      "unable to contact the DAOS Management Service\n",
    json: (doc) => {
      deepEqual(doc.response, null);
      equal(
        doc.error,
        `client: code = 506 description = "${REFUSED_H2}": unable to contact the DAOS ` +
          "Management Service",
      );
    },
  },
  {
    name: "system query: a replica that is not the leader redirects to the leader",
    args: ["system", "query"],
    script: (m) =>
      m.fail(Q, remote(new NotLeaderError(H2, [H2])), H1)
        .reply(Q, { members: MEMBERS, sysSelfHealPolicy: SELF_HEAL_ON }, H2),
    code: 0,
    out: QUERY_TABLE,
  },
  {
    name: "system stop: wire force is !--full; a failed rank fails the command",
    args: ["system", "stop"],
    script: (m) =>
      m.reply(MgmtSvc.method.systemStop, {
        results: [
          { rank: 0, action: "stop", state: "stopped" },
          { rank: 1, action: "stop", errored: true, msg: "rank failed to stop", state: "errored" },
        ],
      }),
    code: 1,
    out: "Rank Operation Result              \n" +
      "---- --------- ------              \n" +
      "0    stop      OK                  \n" +
      "1    stop      rank failed to stop \n\n",
    err: "ERROR: dmg: system stop failed: check results for failed rank 1\n",
    sent: [[MgmtSvc.method.systemStop, 0, { force: true, ignoreAdminExcluded: false }]],
  },
  {
    name: "system stop --full: force false on the wire",
    args: ["system", "stop", "--full", "--ignore-admin-excluded"],
    script: (m) => m.reply(MgmtSvc.method.systemStop, { results: [{ rank: 0, action: "stop" }] }),
    code: 0,
    sent: [[MgmtSvc.method.systemStop, 0, { force: false, ignoreAdminExcluded: true }]],
  },
  {
    name: "system stop --full --force: refused, nothing sent",
    args: ["system", "stop", "--full", "--force"],
    script: () => {},
    code: 1,
    err: "ERROR: dmg: --force may not be mixed with --full\n",
    notCalled: [MgmtSvc.method.systemStop],
  },
  {
    name: "system start -j: rank results payload",
    args: ["-j", "system", "start", "--rank-hosts", "h[1-2]"],
    script: (m) =>
      m.reply(MgmtSvc.method.systemStart, {
        results: [{ rank: 3, action: "start", state: "ready", addr: H1 }],
      }),
    code: 0,
    sent: [[MgmtSvc.method.systemStart, 0, { ranks: "", hosts: "h[1-2]", checkMode: false }]],
    json: (doc) => {
      deepEqual(doc.response, {
        Results: [{
          state: "ready",
          Addr: H1,
          Rank: 3,
          Action: "start",
          Errored: false,
          Msg: "",
        }],
      });
      equal(doc.status, 0);
    },
  },
  {
    name: "system exclude: updated ranks",
    args: ["system", "exclude", "-r", "2"],
    script: (m) =>
      m.reply(MgmtSvc.method.systemExclude, {
        results: [{ rank: 2, action: "set admin-excluded state" }],
      }),
    code: 0,
    out: "updated ranks: 2\n",
    sent: [[MgmtSvc.method.systemExclude, 0, { ranks: "2", hosts: "", clear: false }]],
  },
  {
    name: "system clear-exclude: clear on the wire; an MS error keeps its own text",
    args: ["system", "clear-exclude", "-r", "9"],
    script: (m) =>
      m.fail(MgmtSvc.method.systemExclude, new ConnectError("invalid rank(s): 9", Code.Internal)),
    code: 1,
    err: /^ERROR: dmg: rpc error: code = Internal desc = invalid rank\(s\): 9\n$/,
    sent: [[MgmtSvc.method.systemExclude, 0, { ranks: "9", clear: true }]],
  },
  {
    name: "system exclude without ranks or hosts: refused, nothing sent",
    args: ["system", "exclude"],
    script: () => {},
    code: 1,
    err: "ERROR: dmg: no ranks or hosts specified\n",
    notCalled: [MgmtSvc.method.systemExclude],
  },
  {
    name: "system erase: a running rank blocks the erase",
    args: ["system", "erase"],
    script: (m) => m.reply(Q, { members: [MEMBERS[0]] }),
    code: 1,
    err: "ERROR: dmg: system erase requires the following 1 rank to be stopped: 0\n",
    sent: [[Q, 0, { stateMask: MemberState.Ready | MemberState.Joined }]],
    notCalled: [MgmtSvc.method.systemErase],
  },
  {
    name: "system erase: not ready fails fast (no retries until the deadline)",
    args: ["--timeout", "5s", "system", "erase"],
    hosts: [H1],
    script: (m) =>
      m.fail(Q, remote(new MsUnavailableError("unavailable")))
        .fail(MgmtSvc.method.systemErase, remote(new MsUnavailableError("unavailable"))),
    code: 1,
    err: /^ERROR: dmg: raft service unavailable \(not started yet\?\)\n/,
    // One try each: the pre-check's query (tolerated: no MS running), then the erase.
    inspect: (m) => deepEqual(m.calls.map((c) => c.method), ["SystemQuery", "SystemErase"]),
  },
  {
    name: "system erase: no MS replica → nothing runs, the erase goes on",
    args: ["system", "erase"],
    hosts: [H1],
    script: (m) => m.fail(Q, remote(new NotReplicaError([]))).reply(MgmtSvc.method.systemErase, {}),
    code: 0,
    out: "",
    err: "",
    sent: [[MgmtSvc.method.systemErase, 0, { sys: "daos_server" }]],
  },
  {
    name: "system leader-query: replicas that do not answer are unresponsive",
    args: ["system", "leader-query"],
    hosts: [H1],
    script: (m) =>
      m.on(MgmtSvc.method.leaderQuery, (_r, addr) => {
        if (addr === H2) throw refused(addr);
        return { currentLeader: H1, replicas: [H1, H2] };
      }),
    code: 0,
    out: `Current Leader: ${H1}\n   Replica Set: ${H1}, ${H2}\n  Unresponsive Replicas: ${H2}\n`,
  },
];

const storageCases: Case[] = [
  {
    name: "storage scan: one refused host: Errors block on stderr, table for the other",
    args: ["storage", "scan"],
    script: (m) =>
      m.on(CtlSvc.method.storageScan, (_r, addr) => {
        if (addr === H2) throw refused(addr);
        return { nvme: {}, scm: {} };
      }),
    code: 1,
    out: "Hosts SCM Total       NVMe Total          \n" +
      "----- ---------       ----------          \n" +
      "h1    0 B (0 modules) 0 B (0 controllers) \n",
    err: "ERROR: Errors:\n" +
      "  Hosts Error                                         \n" +
      "  ----- -----                                         \n" +
      `  h2    ${REFUSED_H2} \n\n` +
      "ERROR: dmg: 1 host had errors\n",
    inspect: (m) => {
      const [req] = m.requests(CtlSvc.method.storageScan);
      deepEqual([req.nvme?.Basic, req.nvme?.Health, req.scm?.usage], [true, false, false]);
    },
  },
  {
    name: "storage scan -n: health request; a failed part is a host error",
    args: ["storage", "scan", "-n", "-l", "h1"],
    script: (m) =>
      m.reply(CtlSvc.method.storageScan, {
        nvme: { state: { status: ResponseStatus.CTL_ERR_NVME, error: "nvme scan failed" } },
        scm: {},
      }),
    code: 1,
    err: / {2}h1 {4}nvme scan failed \n\nERROR: dmg: 1 host had errors\n$/,
    inspect: (m) => {
      const [req] = m.requests(CtlSvc.method.storageScan);
      deepEqual([req.nvme?.Basic, req.nvme?.Health, req.nvme?.linkStats], [false, true, true]);
      deepEqual(m.calls.map((c) => c.addr), [H1]);
    },
  },
  {
    name: "storage scan -j: host_errors by full text, HostStorage by host set",
    args: ["-j", "storage", "scan"],
    script: (m) =>
      m.on(CtlSvc.method.storageScan, (_r, addr) => {
        if (addr === H2) throw refused(addr);
        return { nvme: {}, scm: {} };
      }),
    code: 1,
    json: (doc) => {
      const resp = doc.response as {
        host_errors: Record<string, string>;
        HostStorage: Record<string, { hosts: string }>;
      };
      deepEqual(resp.host_errors, { [`client: code = 506 description = "${REFUSED_H2}"`]: H2 });
      deepEqual(Object.values(resp.HostStorage).map((g) => g.hosts), [H1]);
      equal(doc.error, "1 host had errors");
      equal(doc.status, -1025);
    },
  },
  {
    name: "storage scan -v -n: refused before any request",
    args: ["storage", "scan", "-v", "-n"],
    script: () => {},
    code: 1,
    err: "ERROR: dmg: cannot use --verbose with --nvme-health\n",
    notCalled: [CtlSvc.method.storageScan],
  },
  {
    name: "storage format: an MS that answers means a running system (fault 509)",
    args: ["storage", "format"],
    script: (m) => m.reply(Q, {}),
    code: 1,
    err: 'ERROR: dmg: client: code = 509 description = "storage format invoked on a running ' +
      'system"\nERROR: dmg: client: code = 509 resolution = "stop and erase the system, then ' +
      'retry the format operation"\n',
    sent: [[Q, 0, { sys: "daos_server" }], [Q, 1, { sys: "daos_server" }]],
    notCalled: [CtlSvc.method.storageFormat],
  },
  {
    name: "storage format --force: MS not ready (typed) lets the format go on; summary",
    args: ["storage", "format", "--force"],
    script: (m) =>
      m.fail(Q, remote(new MsUnavailableError("uninitialized")), H1)
        .on(Q, (_r, addr) => {
          throw refused(addr);
        }, H2)
        .reply(CtlSvc.method.storageFormat, {
          mrets: [{ mntpoint: "/mnt/daos" }],
          crets: [{ pciAddr: "0000:01:00.0" }],
        }),
    code: 0,
    out: "Format Summary:\n" +
      "  Hosts  SCM Devices NVMe Devices \n" +
      "  -----  ----------- ------------ \n" +
      "  h[1-2] 1           1            \n",
    err: "",
    sent: [[CtlSvc.method.storageFormat, 0, { reformat: true, replace: false }]],
  },
  {
    name: "storage format: another guard error aborts the format",
    args: ["storage", "format"],
    script: (m) => m.fail(Q, new ConnectError("permission denied", Code.PermissionDenied)),
    code: 1,
    err: /^ERROR: dmg: .*permission denied\n$/,
    notCalled: [CtlSvc.method.storageFormat],
  },
  {
    name: "storage format -j: a failed mount is a host error",
    args: ["-j", "storage", "format", "-l", "h1"],
    script: (m) =>
      m.on(Q, (_r, addr) => {
        throw refused(addr);
      })
        .reply(CtlSvc.method.storageFormat, {
          mrets: [{
            mntpoint: "/mnt/daos",
            state: { status: ResponseStatus.CTL_ERR_SCM, error: "/mnt/daos format failed" },
          }],
        }),
    code: 1,
    json: (doc) => {
      const resp = doc.response as { host_errors: Record<string, string>; HostStorage: unknown };
      deepEqual(resp.host_errors, { "/mnt/daos format failed": H1 });
      equal(doc.error, "1 host had errors");
    },
  },
  {
    name: "storage format --replace with two hosts: refused, nothing sent",
    args: ["storage", "format", "--replace"],
    script: () => {},
    code: 1,
    err: "ERROR: dmg: command expects a single host in hostlist if replace option used\n",
    notCalled: [Q, CtlSvc.method.storageFormat],
  },
];

const networkCases: Case[] = [
  {
    name: "network scan: provider on the wire; the Errors block goes to stdout",
    args: ["network", "scan", "-p", "ofi+tcp"],
    script: (m) =>
      m.on(CtlSvc.method.networkScan, (_r, addr) => {
        if (addr === H2) throw refused(addr);
        return { interfaces: [{ provider: "ofi+tcp", device: "eth0", numanode: 0 }] };
      }),
    code: 1,
    out: "Errors:\n" +
      "  Hosts Error                                         \n" +
      "  ----- -----                                         \n" +
      `  h2    ${REFUSED_H2} \n\n` +
      "--\nh1\n--\n\n    -------------\n    NUMA Socket 0\n    -------------\n\n" +
      "        Provider Interfaces \n        -------- ---------- \n" +
      "        ofi+tcp  eth0       \n\n",
    err: "ERROR: dmg: 1 host had errors\n",
    sent: [[CtlSvc.method.networkScan, 0, { provider: "ofi+tcp" }]],
  },
  {
    name: "network scan -j: HostFabrics and host_errors",
    args: ["-j", "network", "scan"],
    script: (m) => m.reply(CtlSvc.method.networkScan, { interfaces: [] }),
    code: 0,
    sent: [[CtlSvc.method.networkScan, 0, { provider: "" }]],
    json: (doc) => {
      const resp = doc.response as { HostFabrics: Record<string, { HostSet: string }> };
      deepEqual(Object.values(resp.HostFabrics).map((g) => g.HostSet), ["h[1-2]:10001"]);
      equal(doc.error, null);
    },
  },
];

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

for (const c of [...systemCases, ...storageCases, ...networkCases]) {
  Deno.test(`dmg ${c.name}`, () => check(c));
}
