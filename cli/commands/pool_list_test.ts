/**
 * `dmg pool list` / `dmg system list-pools` against a MockInvoker: the §5.13 tables (default,
 * no space, -v), failed-query warnings and exit status, -n (no queries, server order), -r,
 * JSON (errors never reported), and the list failure itself.
 */
import { deepEqual, equal } from "node:assert/strict";
import { MockInvoker } from "../../control/lib/control/mock_invoker.ts";
import { makeFault } from "../../control/lib/fault.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import {
  PoolRebuildStatus_State,
  PoolServiceState,
  StorageMediaType,
} from "../../proto/gen/ts/mgmt/pool_pb.ts";
import { remote } from "../../control/lib/control/mock_invoker.ts";
import { runDmg, testConfig } from "../testing/dmg_harness.ts";

const LIST = MgmtSvc.method.listPools;
const QUERY = MgmtSvc.method.poolQuery;
const U1 = "00000001-0001-0001-0001-000000000001";
const U2 = "00000002-0002-0002-0002-000000000002";
const U3 = "00000003-0003-0003-0003-000000000003";
const G = 10n ** 9n;
const T = 10n ** 12n;

function run(args: string[], m: MockInvoker) {
  return runDmg(args, m, testConfig(["h1:10001"]));
}

/** A PoolQuery reply shaped like the §5.13 examples. */
function queried(
  uuid: string,
  label: string,
  o: {
    disabled: number;
    total: number;
    scmMin: bigint;
    nvmeMin: bigint;
    rebuild: PoolRebuildStatus_State;
  },
) {
  return {
    status: 0,
    uuid,
    label,
    state: PoolServiceState.Ready,
    totalTargets: o.total,
    activeTargets: 16,
    disabledTargets: o.disabled,
    poolLayoutVer: 1,
    upgradeLayoutVer: 2,
    rebuild: { state: o.rebuild },
    tierStats: [
      {
        total: 100n * G,
        free: 20n * G,
        min: o.scmMin,
        max: 6n * G,
        mediaType: StorageMediaType.SCM,
      },
      {
        total: 6n * T,
        free: 1n * T,
        min: o.nvmeMin,
        max: 50n * G,
        mediaType: StorageMediaType.NVME,
      },
    ],
  };
}

function twoPools() {
  return new MockInvoker()
    .reply(LIST, {
      pools: [
        { uuid: U2, label: "two", svcReps: [3, 4, 5], state: "Ready" },
        { uuid: U1, label: "", svcReps: [0, 1, 2], state: "Ready" },
      ],
    })
    .on(QUERY, (req) =>
      req.id === U1
        ? queried(U1, "", {
          disabled: 0,
          total: 16,
          scmMin: 5n * G,
          nvmeMin: 20n * G,
          rebuild: PoolRebuildStatus_State.IDLE,
        })
        : queried(U2, "two", {
          disabled: 8,
          total: 64,
          scmMin: 25n * 10n ** 8n,
          nvmeMin: 0n,
          rebuild: PoolRebuildStatus_State.DONE,
        }));
}

Deno.test("dmg pool list: the §5.13 default table, sorted by label (unlabelled first)", async () => {
  const m = twoPools();
  const r = await run(["pool", "list"], m);
  equal(r.code, 0, r.err);
  equal(
    r.out,
    `Pool     Size   State Used Imbalance Disabled UpgradeNeeded? 
----     ----   ----- ---- --------- -------- -------------- 
00000001 6.0 TB Ready 83%  8%        0/16     1->2           
two      6.0 TB Ready 83%  13%       8/64     1->2           

`,
  );
  // Queried by uuid with an empty mask, one per Ready pool.
  deepEqual(m.requests(QUERY).map((q) => [q.id, q.queryMask]), [[U2, 0n], [U1, 0n]]);
});

Deno.test("dmg pool list -v: the verbose table with tiers and rebuild state", async () => {
  const r = await run(["pool", "list", "-v"], twoPools());
  equal(r.code, 0, r.err);
  equal(
    r.out,
    `Label UUID                                 State SvcReps SCM Size SCM Used SCM Imbalance NVME Size NVME Used NVME Imbalance Disabled UpgradeNeeded? Rebuild State 
----- ----                                 ----- ------- -------- -------- ------------- --------- --------- -------------- -------- -------------- ------------- 
-     00000001-0001-0001-0001-000000000001 Ready [0-2]   100 GB   80 GB    16%           6.0 TB    5.0 TB    8%             0/16     1->2           idle          
two   00000002-0002-0002-0002-000000000002 Ready [3-5]   100 GB   80 GB    56%           6.0 TB    5.0 TB    13%            8/64     1->2           done          

`,
  );
});

Deno.test("dmg system list-pools -r: only pools whose rebuild is not idle", async () => {
  const r = await run(["system", "list-pools", "-r"], twoPools());
  equal(r.code, 0, r.err);
  equal(r.out.split("\n")[2].split(/ +/)[0], "two");
  equal(r.out.split("\n").length, 5);
});

Deno.test("dmg pool list -n: no queries, server order, Pool/State table; -r then empty", async () => {
  const m = twoPools();
  const r = await run(["pool", "list", "-n"], m);
  equal(r.code, 0, r.err);
  equal(
    r.out,
    `Pool     State 
----     ----- 
two      Ready 
00000001 Ready 

`,
  );
  equal(m.requests(QUERY).length, 0);
  const v = await run(["pool", "list", "-n", "-v"], twoPools());
  equal(
    v.out,
    `Label UUID                                 State SvcReps 
----- ----                                 ----- ------- 
two   00000002-0002-0002-0002-000000000002 Ready [3-5]   
-     00000001-0001-0001-0001-000000000001 Ready [0-2]   

`,
  );
  const e = await run(["pool", "list", "-n", "-r"], twoPools());
  equal(e.out, "No pools in system\n");
});

Deno.test("dmg pool list: failed queries are warned about, left out, exit 1", async () => {
  const m = new MockInvoker()
    .reply(LIST, {
      pools: [
        { uuid: U1, label: "one", svcReps: [0], state: "Ready" },
        { uuid: U2, label: "", svcReps: [1], state: "Ready" },
        { uuid: U3, label: "three", svcReps: [2], state: "Ready" },
      ],
    })
    .on(QUERY, (req) => {
      if (req.id === U2) throw remote(new Error("stats unavailable"));
      if (req.id === U3) return { status: -1015 };
      return queried(U1, "one", {
        disabled: 0,
        total: 16,
        scmMin: 5n * G,
        nvmeMin: 20n * G,
        rebuild: PoolRebuildStatus_State.IDLE,
      });
    });
  const r = await run(["pool", "list"], m);
  equal(r.code, 1);
  const warn1 = `Query on pool "00000002" unsuccessful, error: "`;
  const warn2 =
    `Query on pool "three" unsuccessful, status: "DER_UNINIT(-1015): Device or resource not initialized"`;
  equal(
    r.out,
    `Pool Size   State Used Imbalance Disabled UpgradeNeeded? 
---- ----   ----- ---- --------- -------- -------------- 
one  6.0 TB Ready 83%  8%        0/16     1->2           

`,
  );
  // The warnings on stderr first, then the same text as the command's error.
  const lines = r.err.split("\n");
  equal(lines[0].startsWith("ERROR: " + warn1), true, r.err);
  equal(lines[0].includes("stats unavailable"), true, r.err);
  equal(lines[1], warn2);
  equal(lines[2], "");
  equal(lines[3].startsWith("ERROR: dmg: " + warn1), true, r.err);
  equal(lines[4], warn2);
  // JSON: error null, exit 0, every pool listed.
  const j = await run(["-j", "pool", "list"], m);
  equal(j.code, 0, j.err);
  const env = JSON.parse(j.out);
  equal(env.error, null);
  equal(env.status, 0);
  deepEqual(env.response.pools.map((p: { uuid: string }) => p.uuid), [U2, U1, U3]);
});

Deno.test("dmg pool list: not-Ready pools are not queried; no pools", async () => {
  const m = new MockInvoker().reply(LIST, {
    pools: [{ uuid: U1, label: "one", svcReps: [0], state: "Creating" }],
  });
  const r = await run(["pool", "list"], m);
  equal(r.code, 0, r.err);
  equal(r.out, "Pool State    \n---- -----    \none  Creating \n\n");
  equal(m.requests(QUERY).length, 0);
  const none = await run(["pool", "list"], new MockInvoker().reply(LIST, { pools: [] }));
  equal(none.out, "No pools in system\n");
  equal(none.code, 0);
});

Deno.test("dmg pool list -j -n: the §5.13 JSON example", async () => {
  const m = new MockInvoker().reply(LIST, {
    pools: [{ uuid: U2, label: "two", svcReps: [3, 4, 5], state: "Ready" }],
  });
  const r = await run(["-j", "pool", "list", "-n"], m);
  equal(r.code, 0, r.err);
  equal(
    r.out,
    `{
  "response": {
    "status": 0,
    "pools": [
      {
        "query_mask": "",
        "state": "Ready",
        "uuid": "00000002-0002-0002-0002-000000000002",
        "label": "two",
        "total_targets": 0,
        "active_targets": 0,
        "total_engines": 0,
        "disabled_targets": 0,
        "version": 0,
        "svc_ldr": 0,
        "svc_reps": [
          3,
          4,
          5
        ],
        "rebuild": null,
        "tier_stats": null,
        "pool_layout_ver": 0,
        "upgrade_layout_ver": 0,
        "mem_file_bytes": 0,
        "md_on_ssd_active": false,
        "self_heal_policy": ""
      }
    ]
  },
  "error": null,
  "status": 0
}
`,
  );
});

Deno.test("dmg pool list: ListPools failure is the command's (prefix in text, bare in JSON)", async () => {
  const fault = makeFault(609, "pool service unavailable");
  const m = () => new MockInvoker().fail(LIST, remote(fault));
  const r = await run(["pool", "list"], m());
  equal(r.code, 1);
  equal(r.err.startsWith("ERROR: dmg: list pools failed: "), true, r.err);
  const j = await run(["-j", "pool", "list"], m());
  equal(j.code, 1);
  equal(JSON.parse(j.out).response, null);
  equal(JSON.parse(j.out).error.startsWith("list pools failed"), false);
});

Deno.test("dmg pool list: 20 pools queried 8 at a time in list order, printed sorted whatever the answer order", async () => {
  const uuids = Array.from(
    { length: 20 },
    (_, i) => `00000000-0000-0000-0000-${String(i + 10).padStart(12, "0")}`,
  );
  let inFlight = 0;
  let most = 0;
  const m = new MockInvoker()
    .reply(LIST, {
      pools: uuids.map((uuid, i) => ({
        uuid,
        label: `p${String(19 - i).padStart(2, "0")}`,
        svcReps: [0],
        state: "Ready",
      })),
    })
    .on(QUERY, async (req) => {
      inFlight++;
      most = Math.max(most, inFlight);
      const i = uuids.indexOf(req.id);
      // Later pools answer first: the printed order must not follow the answers.
      await new Promise((r) => setTimeout(r, 2 * (20 - i)));
      inFlight--;
      return queried(req.id, `p${String(19 - i).padStart(2, "0")}`, {
        disabled: 0,
        total: 16,
        scmMin: 5n * G,
        nvmeMin: 20n * G,
        rebuild: PoolRebuildStatus_State.IDLE,
      });
    });
  const r = await run(["-j", "pool", "list"], m);
  equal(r.code, 0, r.err);
  equal(most, 8);
  deepEqual(m.requests(QUERY).map((q) => q.id), uuids);
  const pools = JSON.parse(r.out).response.pools as { label: string }[];
  deepEqual(
    pools.map((p) => p.label),
    Array.from({ length: 20 }, (_, i) => `p${String(i).padStart(2, "0")}`),
  );
});
