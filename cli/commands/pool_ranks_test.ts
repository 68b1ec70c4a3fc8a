/**
 * `dmg pool exclude|drain|reintegrate|extend` and `dmg system drain|reintegrate` against a
 * MockInvoker: the results table, `-j`, the requests sent and the refusals before any request.
 */
import { deepEqual, equal, match } from "node:assert/strict";
import { MockInvoker, refused } from "../../control/lib/control/mock_invoker.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { runDmg, testConfig } from "../testing/dmg_harness.ts";

const H1 = "h1:10001";
const EXCLUDE = MgmtSvc.method.poolExclude;
const DRAIN = MgmtSvc.method.poolDrain;
const REINT = MgmtSvc.method.poolReintegrate;
const EXTEND = MgmtSvc.method.poolExtend;
const SYSDRAIN = MgmtSvc.method.systemDrain;

function run(args: string[], m: MockInvoker) {
  return runDmg(args, m, testConfig([H1]));
}

Deno.test("dmg pool exclude: OK table, ranks and target indexes sent", async () => {
  const m = new MockInvoker().reply(EXCLUDE, { status: 0 });
  const r = await run(["pool", "exclude", "tank", "--ranks", "2,0-1", "--target-idx", "1,3"], m);
  equal(r.code, 0, r.err);
  equal(
    r.out,
    "Pool Ranks Result Reason \n" +
      "---- ----- ------ ------ \n" +
      "tank 0-2   OK     -      \n\n",
  );
  const [req] = m.requests(EXCLUDE);
  equal(req.id, "tank");
  deepEqual(req.ranks, [0, 1, 2]);
  deepEqual(req.targetIdx, [1, 3]);
});

Deno.test("dmg pool drain: partial failure rows, error and exit 1", async () => {
  const m = new MockInvoker().reply(DRAIN, {
    status: -1006,
    failedRank: 3,
    drainedRanks: [1, 2],
  });
  const r = await run(["pool", "drain", "tank", "--ranks", "1-4"], m);
  equal(r.code, 1);
  equal(
    r.out,
    "Pool Ranks Result Reason                               \n" +
      "---- ----- ------ ------                               \n" +
      "tank 1-2   OK     -                                    \n" +
      "tank 3-4   FAIL   DER_UNREACH(-1006): Unreachable node \n\n",
  );
  equal(
    r.err,
    "ERROR: dmg: pool drain failed on pool tank rank(s) 3-4: DER_UNREACH(-1006): " +
      "Unreachable node\n",
  );
  deepEqual(m.requests(DRAIN)[0].targetIdx, []);
});

Deno.test("dmg pool reintegrate -j: result rows and the error", async () => {
  const ok = await run(
    ["-j", "pool", "reintegrate", "tank", "--ranks", "5"],
    new MockInvoker().reply(REINT, { status: 0, reintedRanks: [5] }),
  );
  equal(ok.code, 0, ok.err);
  deepEqual(JSON.parse(ok.out), {
    response: [{ status: 0, msg: "", pool_id: "tank", ranks: "5" }],
    error: null,
    status: 0,
  });
  const bad = await run(
    ["-j", "pool", "reintegrate", "tank", "--ranks", "5"],
    new MockInvoker().reply(REINT, { status: -1005 }),
  );
  equal(bad.code, 1);
  const j = JSON.parse(bad.out);
  equal(j.response[0].status, -1005);
  match(j.error, /^pool reintegrate failed on pool tank rank\(s\) 5: DER_NONEXIST\(-1005\)/);
});

Deno.test("dmg pool exclude/drain: flag errors before any request", async () => {
  const m = new MockInvoker();
  const noRanks = await run(["pool", "exclude", "tank"], m);
  equal(noRanks.code, 1);
  match(noRanks.err, /--ranks/);
  const badIdx = await run(["pool", "drain", "tank", "--ranks", "1", "--target-idx", "1,x"], m);
  equal(badIdx.code, 1);
  match(badIdx.err, /parsing target list: invalid target index "x"/);
  const badRanks = await run(["pool", "reintegrate", "tank", "--ranks", "a-b"], m);
  equal(badRanks.code, 1);
  equal(m.requests(EXCLUDE).length + m.requests(DRAIN).length + m.requests(REINT).length, 0);
});

Deno.test("dmg pool drain: MS down is the fatal error", async () => {
  const m = new MockInvoker();
  m.on(DRAIN, (_r, addr) => {
    throw refused(addr);
  });
  const r = await run(["pool", "drain", "tank", "--ranks", "1"], m);
  equal(r.code, 1);
  equal(r.out, "");
  match(r.err, /^ERROR: dmg: .*unable to contact the DAOS Management Service\n$/);
});

Deno.test("dmg pool extend: success and failure lines", async () => {
  const m = new MockInvoker().reply(EXTEND, { status: 0 });
  const ok = await run(["pool", "extend", "tank", "--ranks", "4-5"], m);
  equal(ok.code, 0, ok.err);
  equal(ok.out, "Extend command succeeded\n");
  deepEqual(m.requests(EXTEND)[0].ranks, [4, 5]);
  const bad = await run(
    ["pool", "extend", "tank", "--ranks", "4"],
    new MockInvoker().reply(EXTEND, { status: -1007 }),
  );
  equal(bad.code, 1);
  equal(bad.out, "Extend command failed: DER_NOSPACE(-1007): No space on storage target\n");
  equal(bad.err, "ERROR: dmg: DER_NOSPACE(-1007): No space on storage target\n");
  const j = await run(
    ["-j", "pool", "extend", "tank", "--ranks", "4"],
    new MockInvoker().reply(EXTEND, { status: -1007 }),
  );
  deepEqual(JSON.parse(j.out), {
    response: null,
    error: "DER_NOSPACE(-1007): No space on storage target",
    status: -1007,
  });
});

Deno.test("dmg system drain/reintegrate: table, request and -j", async () => {
  const m = new MockInvoker().reply(SYSDRAIN, {
    reint: false,
    results: [
      { poolId: "tank", ranks: "0-1", status: 0 },
      { poolId: "pool2", ranks: "1", status: -1005, msg: "pool not found" },
    ],
  });
  const r = await run(["system", "drain", "--ranks", "0-1"], m);
  equal(r.code, 1);
  equal(
    r.out,
    "Pool  Ranks Result Reason         \n" +
      "----  ----- ------ ------         \n" +
      "tank  0-1   OK     -              \n" +
      "pool2 1     FAIL   pool not found \n\n",
  );
  equal(r.err, "ERROR: dmg: system drain failed on pool pool2 rank(s) 1: pool not found\n");
  const [req] = m.requests(SYSDRAIN);
  equal(req.ranks, "0-1");
  equal(req.reint, false);

  const m2 = new MockInvoker().reply(SYSDRAIN, { reint: true, results: [] });
  const r2 = await run(["-j", "system", "reintegrate", "--rank-hosts", "h[1-2]"], m2);
  equal(r2.code, 0, r2.err);
  deepEqual(JSON.parse(r2.out), {
    response: { reint: true, results: [] },
    error: null,
    status: 0,
  });
  equal(m2.requests(SYSDRAIN)[0].hosts, "h[1-2]");
  equal(m2.requests(SYSDRAIN)[0].reint, true);
  const r3 = await run(["system", "reintegrate", "--ranks", "3"], m2);
  equal(r3.out, "No pool ranks processed\n");
});

Deno.test("dmg system drain: needs exactly one of --ranks / --rank-hosts", async () => {
  const m = new MockInvoker();
  const none = await run(["system", "drain"], m);
  equal(none.code, 1);
  match(none.err, /no ranks or hosts specified/);
  const both = await run(["system", "drain", "--ranks", "1", "--rank-hosts", "h1"], m);
  equal(both.code, 1);
  match(both.err, /--ranks and --rank-hosts options cannot be set together/);
  equal(m.requests(SYSDRAIN).length, 0);
});
