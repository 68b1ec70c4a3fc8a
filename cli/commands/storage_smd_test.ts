/**
 * `dmg storage query list-devices|device-health`, `storage set nvme-faulty`, `storage replace
 * nvme`, `storage led …` on a MockInvoker: requests from the flags, text and -j output, host
 * errors (unreachable hosts), flag errors, consent.
 */
import { deepEqual, equal, match } from "node:assert/strict";
import { MockInvoker, refused, remote } from "../../control/lib/control/mock_invoker.ts";
import { faults } from "../../control/lib/fault.ts";
import { NilRank } from "../../control/lib/rankset.ts";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { LedAction, NvmeDevState, type SmdQueryReq } from "../../proto/gen/ts/ctl/smd_pb.ts";
import { runDmg, testConfig } from "../testing/dmg_harness.ts";
import { consent } from "./storage_set.ts";

const Q = CtlSvc.method.smdQuery;
const M = CtlSvc.method.smdManage;
const H1 = "h1:10001";
const H2 = "h2:10001";
const U0 = "8d36a3a7-6f55-4b1f-9c5d-1a2b3c4d5e6f";
const U1 = "0b1c2d3e-4f50-4617-8899-aabbccddeeff";

function dev(uuid: string, rank: number, state = NvmeDevState.NORMAL) {
  return {
    uuid,
    rank,
    tgtIds: [0, 2],
    roleBits: 7,
    bdevPath: `/srv/daos/bdev-${rank}`,
    ctrlr: { devState: state },
  };
}

/** h1 holds rank 0 (U0), h2 rank 1 (U1, evicted); filters applied as the server does. */
function twoHosts(m: MockInvoker): void {
  const byHost: Record<string, ReturnType<typeof dev>> = {
    [H1]: dev(U0, 0),
    [H2]: dev(U1, 1, NvmeDevState.EVICTED),
  };
  m.on(Q, (req: SmdQueryReq, addr) => {
    const d = byHost[addr];
    if (req.rank !== NilRank && req.rank !== d.rank) return { ranks: [] };
    const devices = req.uuid === "" || req.uuid === d.uuid ? [d] : [];
    const withHealth = req.includeBioHealth
      ? devices.map((x) => ({ ...x, ctrlr: { ...x.ctrlr, healthStats: { temperature: 300 } } }))
      : devices;
    return { ranks: [{ rank: d.rank, devices: withHealth }] };
  });
}

const BLOCK_H1 = "--\nh1\n--\n  Devices\n" +
  `    UUID:${U0} [TrAddr:/srv/daos/bdev-0]\n` +
  "      Roles:data,meta,wal Targets:[0 2] Rank:0 State:NORMAL LED:NA\n";
const BLOCK_H2 = "--\nh2\n--\n  Devices\n" +
  `    UUID:${U1} [TrAddr:/srv/daos/bdev-1]\n` +
  "      Roles:data,meta,wal Targets:[0 2] Rank:1 State:EVICTED LED:NA\n";
const NONE = (h: string) => `--\n${h}\n--\n  No devices found\n`;
const REFUSED_H2 = "the server at h2:10001 refused the connection";

Deno.test("list-devices: every host's devices, grouped by host, request from the flags", async () => {
  const m = new MockInvoker();
  twoHosts(m);
  const r = await runDmg(["storage", "query", "list-devices"], m);
  equal(r.code, 0, r.err);
  equal(r.out, BLOCK_H1 + BLOCK_H2);
  equal(r.err, "");
  const reqs = m.requests(Q) as SmdQueryReq[];
  equal(reqs.length, 2);
  deepEqual(
    [reqs[0].omitPools, reqs[0].includeBioHealth, reqs[0].uuid, reqs[0].rank],
    [true, false, "", NilRank],
  );
});

Deno.test("list-devices -r: only that rank; other hosts print 'No devices found'", async () => {
  const m = new MockInvoker();
  twoHosts(m);
  const r = await runDmg(["storage", "query", "list-devices", "-r", "1"], m);
  equal(r.code, 0, r.err);
  equal(r.out, NONE("h1") + BLOCK_H2);
  equal((m.requests(Q) as SmdQueryReq[])[0].rank, 1);
});

Deno.test("list-devices -r on an unknown rank: no devices anywhere, exit 0", async () => {
  const m = new MockInvoker();
  twoHosts(m);
  const r = await runDmg(["storage", "query", "list-devices", "--rank", "9"], m);
  equal(r.code, 0);
  equal(r.out, "------\nh[1-2]\n------\n  No devices found\n");
});

Deno.test("list-devices -e: only evicted devices; -u filters by uuid", async () => {
  const m = new MockInvoker();
  twoHosts(m);
  let r = await runDmg(["storage", "query", "list-devices", "-e"], m);
  equal(r.code, 0);
  equal(r.out, NONE("h1") + BLOCK_H2);
  r = await runDmg(["storage", "query", "list-devices", "-u", U0], m);
  equal(r.out, BLOCK_H1 + NONE("h2"));
});

Deno.test("list-devices -b: health block under each device, blank line after it", async () => {
  const m = new MockInvoker();
  twoHosts(m);
  const r = await runDmg(["storage", "query", "list-devices", "-b", "-l", "h1"], m);
  equal(r.code, 0, r.err);
  match(r.out, /State:NORMAL LED:NA\n {8}Health Stats:\n {10}Temperature:300K\(26.85C\)\n/);
  match(r.out, /Volatile Memory Backup: OK\n\n$/);
  equal((m.requests(Q) as SmdQueryReq[])[0].includeBioHealth, true);
  deepEqual(m.calls.map((c) => c.addr), [H1]);
});

Deno.test("list-devices -j: HostStorage smd_info per host set, exit 0", async () => {
  const m = new MockInvoker();
  twoHosts(m);
  const r = await runDmg(["-j", "storage", "query", "list-devices"], m);
  equal(r.code, 0);
  const doc = JSON.parse(r.out);
  equal(doc.status, 0);
  const sets = Object.values(doc.response.HostStorage) as {
    hosts: string;
    storage: {
      smd_info: { devices: { uuid: string; roles: string; ctrlr: { dev_state: string } }[] };
    };
  }[];
  deepEqual(sets.map((s) => s.hosts).sort(), [H1, H2]);
  const all = sets.flatMap((s) => s.storage.smd_info.devices);
  deepEqual(
    all.map((d) => [d.uuid, d.ctrlr.dev_state]).sort(),
    [[U1, "EVICTED"], [U0, "NORMAL"]].sort(),
  );
  equal(all[0].roles, "data,meta,wal");
});

Deno.test("list-devices: an unreachable host is a host error (table on stdout, exit 1)", async () => {
  const m = new MockInvoker();
  twoHosts(m);
  m.on(Q, (_r, addr) => {
    throw refused(addr);
  }, H2);
  const r = await runDmg(["storage", "query", "list-devices"], m);
  equal(r.code, 1);
  equal(
    r.out,
    "Errors:\n  Hosts Error" + " ".repeat(REFUSED_H2.length - 5) + " \n  ----- -----" +
      " ".repeat(REFUSED_H2.length - 5) + ` \n  h2    ${REFUSED_H2} \n\n` + BLOCK_H1,
  );
  equal(r.err, "ERROR: dmg: 1 host had errors\n");
  // -j: the error only in host_errors, exit 0 (as storage query usage).
  const j = await runDmg(["-j", "storage", "query", "list-devices"], m);
  equal(j.code, 0);
  match(Object.keys(JSON.parse(j.out).response.host_errors)[0], /refused the connection/);
});

Deno.test("list-devices: engines not started on a host is that host's error", async () => {
  const m = new MockInvoker();
  twoHosts(m);
  m.fail(Q, remote(faults.ServerDataPlaneNotStarted()), H1);
  const r = await runDmg(["storage", "query", "list-devices"], m);
  equal(r.code, 1);
  match(r.out, /h1 +DAOS I\/O Engine instance not started or not responding on dRPC/);
  match(r.out, new RegExp(BLOCK_H2.replace(/[[\]()]/g, "\\$&")));
});

Deno.test("list-devices: flag errors before any request", async () => {
  for (
    const [args, err] of [
      [["-r", "x"], "invalid argument for flag `-r, --rank' (expected uint32): x"],
      [["-r", "-1"], "invalid argument for flag `-r, --rank' (expected uint32): -1"],
      [["-u", "nope"], 'invalid device UUID "nope" (--uuid)'],
      [["--bogus"], "unknown flag `bogus'"],
    ] as const
  ) {
    const m = new MockInvoker();
    twoHosts(m);
    const r = await runDmg(["storage", "query", "list-devices", ...args], m);
    equal(r.code, 1, args.join(" "));
    match(r.err, new RegExp(err.replace(/[[\]()]/g, "\\$&")), args.join(" "));
    equal(m.requests(Q).length, 0);
  }
});

Deno.test("device-health: -u required; health of that device", async () => {
  const m = new MockInvoker();
  twoHosts(m);
  let r = await runDmg(["storage", "query", "device-health"], m);
  equal(r.code, 1);
  match(r.err, /the required flag `-u, --uuid' was not specified/);
  r = await runDmg(["storage", "query", "device-health", "-u", U1], m);
  equal(r.code, 0, r.err);
  match(r.out, new RegExp(`^${NONE("h1")}--\\nh2\\n--\\n  Devices\\n    UUID:${U1}`));
  match(r.out, /Health Stats:/);
  const reqs = m.requests(Q) as SmdQueryReq[];
  deepEqual([reqs[0].uuid, reqs[0].includeBioHealth], [U1, true]);
});

/** SmdManage answers as an engine would: set-faulty NORMAL → EVICTED, replace EVICTED → NORMAL. */
function manageScript(m: MockInvoker, status = 0): void {
  m.on(M, (req, addr) => {
    const rank = addr === H1 ? 0 : 1;
    const uuid = req.op.case === "faulty"
      ? req.op.value.uuid
      : req.op.case === "replace"
      ? req.op.value.oldDevUuid
      : "";
    const state = req.op.case === "faulty" ? NvmeDevState.EVICTED : NvmeDevState.NORMAL;
    return { ranks: [{ rank, results: [{ status, device: dev(uuid, rank, state) }] }] };
  });
}

Deno.test("set nvme-faulty -f: sent only to the device's host; the device now EVICTED", async () => {
  const m = new MockInvoker();
  twoHosts(m);
  manageScript(m);
  const r = await runDmg(["storage", "set", "nvme-faulty", "-u", U0, "-f"], m);
  equal(r.code, 0, r.err);
  equal(r.err, "NOTICE: This command will permanently mark the device as unusable!\n");
  equal(r.out, BLOCK_H1.replace("State:NORMAL", "State:EVICTED"));
  const sent = m.calls.filter((c) => c.method === "SmdManage");
  deepEqual(sent.map((c) => c.addr), [H1]);
  const op = (sent[0].request as { op: { case: string; value: { uuid: string } } }).op;
  deepEqual([op.case, op.value.uuid], ["faulty", U0]);
});

Deno.test("set nvme-faulty: without -f asks; 'no' or end of input refuses", async () => {
  const saved = consent.readLine;
  try {
    for (const answers of [["no"], [], ["maybe", "no"]]) {
      const m = new MockInvoker();
      twoHosts(m);
      manageScript(m);
      const queue = [...answers];
      consent.readLine = () => Promise.resolve(queue.shift() ?? null);
      const r = await runDmg(["storage", "set", "nvme-faulty", "-u", U0], m);
      equal(r.code, 1, answers.join(","));
      match(r.err, /ERROR: dmg: consent not given\n$/);
      match(r.out, /^Are you sure you want to proceed\? \(yes\/no\)\n/);
      equal(m.calls.length, 0);
    }
    const m = new MockInvoker();
    twoHosts(m);
    manageScript(m);
    consent.readLine = () => Promise.resolve("yes");
    const r = await runDmg(["storage", "set", "nvme-faulty", "-u", U0], m);
    equal(r.code, 0, r.err);
    match(r.out, /State:EVICTED/);
  } finally {
    consent.readLine = saved;
  }
});

Deno.test("set nvme-faulty: engine refusal, unknown device, bad uuid, missing -u", async () => {
  const m = new MockInvoker();
  twoHosts(m);
  manageScript(m, -1003);
  let r = await runDmg(["storage", "set", "nvme-faulty", "-u", U1, "-f"], m);
  equal(r.code, 1);
  match(
    r.out,
    new RegExp(`h2 +set-faulty on device ${U1}: DER_INVAL\\(-1003\\): Invalid parameters`),
  );
  equal(r.err.split("\n").at(-2), "ERROR: dmg: 1 host had errors");

  r = await runDmg([
    "storage",
    "set",
    "nvme-faulty",
    "-u",
    "11111111-2222-4333-8444-555555555555",
    "-f",
  ], m);
  equal(r.code, 1);
  match(r.err, /ERROR: dmg: device 11111111-2222-4333-8444-555555555555 not found on any host\n/);

  r = await runDmg(["storage", "set", "nvme-faulty", "-u", "zz", "-f"], m);
  equal(r.code, 1);
  match(r.err, /invalid device UUID "zz" \(--uuid\)/);

  r = await runDmg(["storage", "set", "nvme-faulty", "-f"], m);
  equal(r.code, 1);
  match(r.err, /the required flag `-u, --uuid' was not specified/);
});

Deno.test("set nvme-faulty -j: no question asked, result device in the payload", async () => {
  const m = new MockInvoker();
  twoHosts(m);
  manageScript(m);
  const r = await runDmg(["-j", "storage", "set", "nvme-faulty", "-u", U0], m);
  equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out);
  const set = Object.values(doc.response.HostStorage)[0] as {
    storage: { smd_info: { devices: { ctrlr: { dev_state: string } }[] } };
  };
  equal(set.storage.smd_info.devices[0].ctrlr.dev_state, "EVICTED");
});

Deno.test("replace nvme: reuse notice, request fields, NORMAL again", async () => {
  const m = new MockInvoker();
  twoHosts(m);
  manageScript(m);
  const r = await runDmg(["storage", "replace", "nvme", "--old-uuid", U1, "--new-uuid", U1], m);
  equal(r.code, 0, r.err);
  equal(r.err, "NOTICE: Attempting to reuse a previously set FAULTY device!\n");
  equal(r.out, BLOCK_H2.replace("State:EVICTED", "State:NORMAL"));
  const sent = m.calls.filter((c) => c.method === "SmdManage");
  deepEqual(sent.map((c) => c.addr), [H2]);
  deepEqual(
    (sent[0].request as { op: { value: { oldDevUuid: string; newDevUuid: string } } }).op.value
      .newDevUuid,
    U1,
  );
});

Deno.test("replace nvme: flag errors", async () => {
  for (
    const [args, err] of [
      [["--old-uuid", U1], "the required flag `--new-uuid' was not specified"],
      [["--old-uuid", U1, "--new-uuid", U1, "--no-reint"], "NoReint is not currently implemented"],
      [["--old-uuid", U1, "--new-uuid", "bad"], 'invalid device UUID "bad" (--new-uuid)'],
    ] as const
  ) {
    const m = new MockInvoker();
    twoHosts(m);
    manageScript(m);
    const r = await runDmg(["storage", "replace", "nvme", ...args], m);
    equal(r.code, 1, args.join(" "));
    match(r.err, new RegExp(err.replace(/[[\]()]/g, "\\$&")), args.join(" "));
    equal(m.requests(M).length, 0);
  }
});

Deno.test("replace nvme: the engine refuses a device that is not evicted", async () => {
  const m = new MockInvoker();
  twoHosts(m);
  manageScript(m, -1003);
  const r = await runDmg(["storage", "replace", "nvme", "--old-uuid", U0, "--new-uuid", U0], m);
  equal(r.code, 1);
  match(r.out, new RegExp(`h1 +dev-replace on device ${U0}: DER_INVAL\\(-1003\\)`));
});

Deno.test("led check/identify: ids required, timeout vs reset, hosts' refusal folded", async () => {
  const m = new MockInvoker();
  const NO_VMD = "LED management needs VMD-managed NVMe devices";
  m.fail(M, remote(new Error(NO_VMD)));
  let r = await runDmg(["storage", "led", "check"], m);
  equal(r.code, 1);
  equal(r.err, "ERROR: dmg: neither a pci address or a uuid has been supplied\n");
  r = await runDmg(["storage", "led", "identify", U0, "--reset", "--timeout", "3"], m);
  equal(r.code, 1);
  equal(r.err, "ERROR: dmg: timeout option can not be set at the same time as reset\n");
  equal(m.calls.length, 0);

  r = await runDmg(["storage", "led", "identify", U0, "--timeout", "3"], m);
  equal(r.code, 1);
  match(r.out, new RegExp(`h\\[1-2\\] +.*${NO_VMD}`));
  equal(r.err, "ERROR: dmg: 2 hosts had errors\n");
  const op = (m.requests(M)[0] as { op: { value: { ledAction: number; ledDurationMins: number } } })
    .op.value;
  deepEqual([op.ledAction, op.ledDurationMins], [LedAction.SET, 3]);
  r = await runDmg(["storage", "led", "check", U0, "extra"], m);
  equal(r.code, 1);
  match(r.err, /unexpected arguments/);
});

Deno.test("list-devices: host list of a single unknown host is refused before the call", async () => {
  const m = new MockInvoker();
  twoHosts(m);
  const r = await runDmg(["storage", "query", "list-devices", "-l", "h[1-"], m, testConfig());
  equal(r.code, 1);
  equal(m.calls.length, 0);
});
