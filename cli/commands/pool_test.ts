/**
 * `dmg pool destroy|get-prop|set-prop` against a MockInvoker: the text and `-j` output of
 * spec/dmg.md §5.15 and the reference's property table, the requests sent, and the refusals
 * that happen before any request.
 */
import { deepEqual, equal, match } from "node:assert/strict";
import { MockInvoker, refused } from "../../control/lib/control/mock_invoker.ts";
import { PoolPropNumber } from "../../control/lib/pool_props.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { runDmg, testConfig } from "../testing/dmg_harness.ts";

const H1 = "h1:10001";
const DESTROY = MgmtSvc.method.poolDestroy;
const GET = MgmtSvc.method.poolGetProp;
const SET = MgmtSvc.method.poolSetProp;

function run(args: string[], m: MockInvoker) {
  return runDmg(args, m, testConfig([H1]));
}

Deno.test("dmg pool destroy: success text, flags sent", async () => {
  const m = new MockInvoker().reply(DESTROY, { status: 0 });
  const r = await run(["pool", "destroy", "-f", "-r", "tank"], m);
  equal(r.code, 0, r.err);
  equal(r.out, "Pool-destroy command succeeded\n");
  equal(r.err, "");
  const [req] = m.requests(DESTROY);
  equal(req.id, "tank");
  equal(req.force, true);
  equal(req.recursive, true);
});

Deno.test("dmg pool destroy: DER_BUSY prints the failed line and the fatal line, exit 1", async () => {
  const m = new MockInvoker().reply(DESTROY, { status: -1012 });
  const r = await run(["pool", "destroy", "tank"], m);
  equal(r.code, 1);
  equal(
    r.out,
    "Pool-destroy command failed: pool destroy failed: DER_BUSY(-1012): Device or resource busy\n",
  );
  equal(r.err, "ERROR: dmg: pool destroy failed: DER_BUSY(-1012): Device or resource busy\n");
  equal(m.requests(DESTROY)[0].force, false);
});

Deno.test("dmg pool destroy -j: null response, error and the DER status", async () => {
  const ok = await run(["-j", "pool", "destroy", "tank"], new MockInvoker().reply(DESTROY, {}));
  equal(ok.code, 0);
  deepEqual(JSON.parse(ok.out), { response: null, error: null, status: 0 });
  const bad = await run(
    ["-j", "pool", "destroy", "tank"],
    new MockInvoker().reply(DESTROY, { status: -1012 }),
  );
  equal(bad.code, 1);
  deepEqual(JSON.parse(bad.out), {
    response: null,
    error: "pool destroy failed: DER_BUSY(-1012): Device or resource busy",
    status: -1012,
  });
});

Deno.test("dmg pool destroy: unknown pool and MS down", async () => {
  const r = await run(
    ["pool", "destroy", "nope"],
    new MockInvoker().reply(DESTROY, { status: -1005 }),
  );
  equal(r.code, 1);
  match(r.out, /^Pool-destroy command failed: pool destroy failed: DER_NONEXIST\(-1005\)/);
  const m = new MockInvoker();
  m.on(DESTROY, (_r, addr) => {
    throw refused(addr);
  });
  const down = await run(["pool", "destroy", "tank"], m);
  const refusedText = `client: code = 506 description = "the server at ${H1} refused the ` +
    `connection": unable to contact the DAOS Management Service`;
  equal(down.code, 1);
  equal(down.out, `Pool-destroy command failed: pool destroy failed: ${refusedText}\n`);
  equal(down.err, `ERROR: dmg: pool destroy failed: ${refusedText}\n`);
});

Deno.test("dmg pool destroy: the pool argument is required", async () => {
  const m = new MockInvoker();
  const r = await run(["pool", "destroy"], m);
  equal(r.code, 1);
  equal(r.err, "ERROR: dmg: the required argument `<pool>` was not provided\n");
  equal(m.calls.length, 0);
});

Deno.test("dmg pool get-prop: reference table, sorted by name, values formatted", async () => {
  const m = new MockInvoker().reply(GET, {
    properties: [
      { number: PoolPropNumber.RECLAIM, value: { case: "numval", value: 1n } },
      { number: PoolPropNumber.LABEL, value: { case: "strval", value: "tank" } },
      { number: PoolPropNumber.EC_CELL_SZ, value: { case: "numval", value: 65536n } },
      { number: PoolPropNumber.SPACE_RB, value: { case: "numval", value: 0n } },
      { number: PoolPropNumber.SVC_LIST, value: { case: "strval", value: "[0-2]" } },
    ],
  });
  const r = await run(["pool", "get-prop", "tank"], m);
  equal(r.code, 0, r.err);
  equal(
    r.out,
    "Pool tank properties:\n" +
      "Name                                 Value  \n" +
      "----                                 -----  \n" +
      "EC cell size (ec_cell_sz)            64 KiB \n" +
      "Pool label (label)                   tank   \n" +
      "Reclaim strategy (reclaim)           lazy   \n" +
      "Rebuild space ratio (space_rb)       0%     \n" +
      "Pool service replica list (svc_list) [0-2]  \n",
  );
  deepEqual(m.requests(GET)[0].properties, []);
});

Deno.test("dmg pool get-prop -j and named properties", async () => {
  const m = new MockInvoker().reply(GET, {
    properties: [
      { number: PoolPropNumber.SVC_LIST, value: { case: "strval", value: "[0-2]" } },
      { number: PoolPropNumber.SPACE_RB, value: { case: "numval", value: 5n } },
    ],
  });
  const r = await run(["-j", "pool", "get-prop", "tank", "space_rb,svc_list"], m);
  equal(r.code, 0, r.err);
  deepEqual(JSON.parse(r.out).response, [
    { name: "space_rb", description: "Rebuild space ratio", value: 5 },
    { name: "svc_list", description: "Pool service replica list", value: [0, 1, 2] },
  ]);
  deepEqual(m.requests(GET)[0].properties.map((p) => p.number), [3, 8]);
});

Deno.test("dmg pool get-prop: unknown property refused before any request", async () => {
  const m = new MockInvoker();
  const r = await run(["pool", "get-prop", "tank", "bogus"], m);
  equal(r.code, 1);
  match(r.err, /^ERROR: dmg: unknown property "bogus" \(valid: checkpoint, /);
  equal(m.calls.length, 0);
});

Deno.test("dmg pool set-prop: values parsed and sent typed", async () => {
  const m = new MockInvoker().reply(SET, {});
  const r = await run(["pool", "set-prop", "tank", "reclaim:time,label:newname"], m);
  equal(r.code, 0, r.err);
  equal(r.out, "pool set-prop succeeded\n");
  const props = m.requests(SET)[0].properties;
  deepEqual(props.map((p) => [p.number, p.value.case, p.value.value]), [
    [PoolPropNumber.RECLAIM, "numval", 4n],
    [PoolPropNumber.LABEL, "strval", "newname"],
  ]);
});

Deno.test("dmg pool set-prop: read-only, unknown and bad values are refused locally", async () => {
  const cases: [string, string][] = [
    ["svc_list:0", "cannot set pool service replica list"],
    ["global_version:1", "global_version is read-only"],
    ["perf_domain:group", "can't set perf_domain on existing pool."],
    ["nope:1", `unknown property "nope"`],
    ["space_rb:200", "invalid space_rb value 200 (valid values: 0-100)"],
    ["reclaim", `invalid property "reclaim" (expected name:value)`],
  ];
  for (const [arg, msg] of cases) {
    const m = new MockInvoker();
    const r = await run(["pool", "set-prop", "tank", arg], m);
    equal(r.code, 1, arg);
    ok(r.err.startsWith(`ERROR: dmg: ${msg}`), `${arg}: ${r.err}`);
    equal(m.calls.length, 0, arg);
  }
});

Deno.test("dmg pool set-prop: server status is the command's error", async () => {
  const m = new MockInvoker().reply(SET, { status: -1003 });
  const r = await run(["-j", "pool", "set-prop", "tank", "reclaim:lazy"], m);
  equal(r.code, 1);
  const doc = JSON.parse(r.out);
  equal(doc.status, -1003);
  equal(doc.error, "DER_INVAL(-1003): Invalid parameters");
});

function ok(v: boolean, msg: string): void {
  equal(v, true, msg);
}
