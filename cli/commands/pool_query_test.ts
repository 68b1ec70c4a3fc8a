/**
 * `dmg pool query` and `dmg pool query-targets` against a MockInvoker: the §5.14 text and
 * JSON examples, the query masks sent, self-heal lines, errors (unknown pool, MS down).
 */
import { deepEqual, equal, match } from "node:assert/strict";
import { MockInvoker, refused } from "../../control/lib/control/mock_invoker.ts";
import { PoolQueryBit, poolQueryMaskString } from "../../control/lib/control/pool_info.ts";
import { PoolPropNumber } from "../../control/lib/pool_props.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import {
  PoolQueryTargetInfo_TargetState,
  PoolQueryTargetInfo_TargetType,
  PoolRebuildStatus_State,
  PoolServiceState,
  StorageMediaType,
} from "../../proto/gen/ts/mgmt/pool_pb.ts";
import { runDmg, testConfig } from "../testing/dmg_harness.ts";
import { poolQueryMaskFor, selfHealDisableLines } from "./pool_query.ts";

const H1 = "h1:10001";
const QUERY = MgmtSvc.method.poolQuery;
const GETPROP = MgmtSvc.method.poolGetProp;
const SYSPROP = MgmtSvc.method.systemGetProp;
const QT = MgmtSvc.method.poolQueryTarget;
const UUID1 = "00000001-0001-0001-0001-000000000001";

function run(args: string[], m: MockInvoker) {
  return runDmg(args, m, testConfig([H1]));
}

/** The first §5.14 example's reply (one of two targets disabled, busy rebuild). */
function busyReply(mask: bigint) {
  return {
    status: 0,
    uuid: UUID1,
    totalTargets: 2,
    activeTargets: 1,
    disabledTargets: 1,
    svcLdr: 42,
    version: 100,
    state: PoolServiceState.Ready,
    queryMask: mask,
    rebuild: { status: 0, state: PoolRebuildStatus_State.BUSY, objects: 42n, records: 21n },
    tierStats: [
      { total: 2n, free: 1n, mediaType: StorageMediaType.SCM },
      { total: 2n, free: 1n, mediaType: StorageMediaType.NVME },
    ],
    disabledRanks: "[0-1,3]",
    deadRanks: "2",
    poolLayoutVer: 1,
    upgradeLayoutVer: 2,
  };
}

function withProps(m: MockInvoker, selfHeal?: bigint, sys = "exclude;pool_exclude;pool_rebuild") {
  return m.reply(GETPROP, {
    properties: selfHeal === undefined
      ? []
      : [{ number: PoolPropNumber.SELF_HEAL, value: { case: "numval", value: selfHeal } }],
  }).reply(SYSPROP, { properties: { self_heal: sys } });
}

Deno.test("pool query masks: default, -t, -e, --no-self-heal-check", () => {
  equal(
    poolQueryMaskString(poolQueryMaskFor({ selfHealCheck: false })),
    "disabled_engines,rebuild,space",
  );
  equal(
    poolQueryMaskString(poolQueryMaskFor({ selfHealCheck: true })),
    "disabled_engines,rebuild,self_heal_policy,space",
  );
  equal(
    poolQueryMaskString(poolQueryMaskFor({ healthOnly: true, selfHealCheck: false })),
    "dead_engines,disabled_engines,rebuild",
  );
  equal(
    poolQueryMaskString(poolQueryMaskFor({ showEnabled: true, selfHealCheck: false })),
    "disabled_engines,enabled_engines,rebuild,space",
  );
  // The other (unnamed) bits are set, as the reference's ^0 &^ … masks.
  equal(poolQueryMaskFor({}) & (1n << 63n), 1n << 63n);
});

Deno.test("dmg pool query: the §5.14 text with space info", async () => {
  const m = withProps(
    new MockInvoker().reply(QUERY, busyReply(poolQueryMaskFor({ selfHealCheck: true }))),
    3n,
  );
  const r = await run(["pool", "query", "tank"], m);
  equal(r.code, 0, r.err);
  equal(
    r.out,
    `Pool ${UUID1}, ntarget=2, disabled=1, leader=42, version=100, state=TargetsExcluded
Pool layout out of date (1 < 2) -- see \`dmg pool upgrade\` for details.
Pool health info:
- Disabled ranks: 0-1,3
- Rebuild busy, 42 objs, 21 recs
- Data redundancy: degraded
Pool space info:
- Target count:1
- Storage tier 0 (SCM):
  Total size: 2 B
  Free: 1 B, min:0 B, max:0 B, mean:0 B
- Storage tier 1 (NVME):
  Total size: 2 B
  Free: 1 B, min:0 B, max:0 B, mean:0 B
`,
  );
  const [req] = m.requests(QUERY);
  equal(req.id, "tank");
  equal(
    poolQueryMaskString(req.queryMask),
    "disabled_engines,rebuild,self_heal_policy,space",
  );
  deepEqual(m.requests(GETPROP)[0].properties.map((p) => p.number), [PoolPropNumber.SELF_HEAL]);
});

Deno.test("dmg pool query -t: health only, dead ranks, no space", async () => {
  const mask = poolQueryMaskFor({ healthOnly: true, selfHealCheck: false });
  const m = new MockInvoker().reply(QUERY, busyReply(mask));
  const r = await run(["pool", "query", "-t", "--no-self-heal-check", "tank"], m);
  equal(r.code, 0, r.err);
  equal(
    r.out,
    `Pool ${UUID1}, ntarget=2, disabled=1, leader=42, version=100, state=TargetsExcluded
Pool layout out of date (1 < 2) -- see \`dmg pool upgrade\` for details.
Pool health info:
- Disabled ranks: 0-1,3
- Dead ranks: 2
- Rebuild busy, 42 objs, 21 recs
- Data redundancy: degraded
`,
  );
  equal(poolQueryMaskString(m.requests(QUERY)[0].queryMask), poolQueryMaskString(mask));
  equal(m.requests(GETPROP).length, 0);
});

Deno.test("dmg pool query: creating pool without rebuild status; -e enabled ranks", async () => {
  const m = new MockInvoker().reply(QUERY, {
    // Status 0 makes it Ready, but no targets known makes it Unknown (§5.14 fix-ups).
    state: PoolServiceState.Creating,
    uuid: "00000000-0000-0000-0000-000000000000",
  });
  const r = await run(["pool", "query", "--no-self-heal-check", "x"], m);
  equal(r.code, 0, r.err);
  equal(
    r.out,
    "Pool 00000000-0000-0000-0000-000000000000, ntarget=0, disabled=0, leader=0, version=0, " +
      "state=Unknown\nPool health info:\n- No rebuild status available.\n",
  );
  const m2 = new MockInvoker().reply(QUERY, {
    uuid: UUID1,
    totalTargets: 8,
    activeTargets: 8,
    queryMask: poolQueryMaskFor({ showEnabled: true, selfHealCheck: false }),
    enabledRanks: "[0-3]",
    rebuild: { status: -2027, state: PoolRebuildStatus_State.IDLE },
  });
  const r2 = await run(["pool", "query", "-e", "--no-self-heal-check", "x"], m2);
  equal(r2.code, 0, r2.err);
  match(r2.out, /\n- Enabled ranks: 0-3\n- Rebuild stopped \(state=idle, status=-2027\)\n/);
  equal(
    poolQueryMaskString(m2.requests(QUERY)[0].queryMask),
    "disabled_engines,enabled_engines,rebuild,space",
  );
});

Deno.test("pool query self-heal lines (PrintPoolSelfHealDisable cases)", () => {
  const sysAll = "exclude;pool_exclude;pool_rebuild";
  deepEqual(selfHealDisableLines("exclude;rebuild", sysAll), []);
  deepEqual(selfHealDisableLines("none", sysAll), [
    "exclude disabled on pool due to [pool] policy",
    "rebuild disabled on pool due to [pool] policy",
  ]);
  deepEqual(selfHealDisableLines("none", "none"), [
    "exclude disabled on pool due to [pool system] policies",
    "rebuild disabled on pool due to [pool system] policies",
  ]);
  deepEqual(selfHealDisableLines("exclude;rebuild", "exclude;pool_exclude"), [
    "rebuild disabled on pool due to [system] policy",
  ]);
});

Deno.test("dmg pool query: self_heal none on the pool prints the policy lines", async () => {
  const m = withProps(
    new MockInvoker().reply(QUERY, {
      uuid: UUID1,
      totalTargets: 8,
      activeTargets: 8,
      state: PoolServiceState.Ready,
      rebuild: { state: PoolRebuildStatus_State.IDLE },
    }),
    0n,
    "none",
  );
  const r = await run(["pool", "query", "tank"], m);
  equal(r.code, 0, r.err);
  match(
    r.out,
    /- Data redundancy: normal\nexclude disabled on pool due to \[pool system\] policies\n/,
  );
  equal(m.requests(SYSPROP)[0].keys[0], "self_heal");
});

Deno.test("dmg pool query -j: the pool info object (§5.14 JSON)", async () => {
  const m = withProps(
    new MockInvoker().reply(QUERY, {
      uuid: UUID1,
      label: "tank",
      totalTargets: 16,
      activeTargets: 16,
      totalEngines: 2,
      version: 1,
      svcReps: [0],
      state: PoolServiceState.Ready,
      queryMask: poolQueryMaskFor({ selfHealCheck: true }),
      rebuild: { status: 0, state: PoolRebuildStatus_State.IDLE },
      tierStats: [{
        total: 100000000000n,
        free: 20000000000n,
        min: 5000000000n,
        max: 6000000000n,
        mean: 5500000000n,
        mediaType: StorageMediaType.SCM,
      }],
      poolLayoutVer: 3,
      upgradeLayoutVer: 3,
    }),
  );
  const r = await run(["-j", "pool", "query", "tank"], m);
  equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  equal(j.error, null);
  equal(j.status, 0);
  equal(j.response.query_mask, "disabled_engines,rebuild,self_heal_policy,space");
  equal(j.response.self_heal_policy, "exclude;rebuild");
  deepEqual(j.response.disabled_ranks, []);
  deepEqual(j.response.usage, [{ tier_name: "SCM", size: 1e11, free: 2e10, imbalance: 16 }]);
  equal(j.response.rebuild.derived_state, "idle");
  // JSON carries no system self-heal value: no SystemGetProp needed.
  equal(m.requests(SYSPROP).length, 0);
});

Deno.test("dmg pool query: unknown pool (text and -j) and MS down", async () => {
  const m = new MockInvoker().reply(QUERY, { status: -1005 });
  const r = await run(["pool", "query", "nope"], m);
  equal(r.code, 1);
  equal(r.out, "");
  equal(
    r.err,
    "ERROR: dmg: pool query failed: DER_NONEXIST(-1005): The specified entity does not exist\n",
  );
  const j = await run(["-j", "pool", "query", "nope"], m);
  equal(j.code, 1);
  deepEqual(JSON.parse(j.out), {
    response: null,
    error: "DER_NONEXIST(-1005): The specified entity does not exist",
    status: -1005,
  });
  const down = new MockInvoker();
  down.on(QUERY, (_r, addr) => {
    throw refused(addr);
  });
  const d = await run(["pool", "query", "tank"], down);
  equal(d.code, 1);
  match(d.err, /^ERROR: dmg: pool query failed: .*unable to contact the DAOS Management Service/);
});

const TARGET = {
  type: PoolQueryTargetInfo_TargetType.PM,
  state: PoolQueryTargetInfo_TargetState.UP_IN,
  space: [
    { total: 1000000000n, free: 500000000n, mediaType: StorageMediaType.SCM },
    { total: 6000000000000n, free: 5000000000000n, mediaType: StorageMediaType.NVME },
  ],
};

Deno.test("dmg pool query-targets: explicit targets, text and request", async () => {
  const m = new MockInvoker().reply(QT, {
    infos: [TARGET, { ...TARGET, state: PoolQueryTargetInfo_TargetState.DOWN_OUT }],
  });
  const r = await run(["pool", "query-targets", "tank", "--rank", "1", "--target-idx", "0,2"], m);
  equal(r.code, 0, r.err);
  const block = (state: string) =>
    `Target: type pm, state ${state}\n- Storage tier 0 (SCM):\n  Total size: 1.0 GB\n` +
    `  Free: 500 MB\n- Storage tier 1 (NVME):\n  Total size: 6.0 TB\n  Free: 5.0 TB\n`;
  equal(r.out, block("up_in") + block("down_out"));
  const [req] = m.requests(QT);
  equal(req.rank, 1);
  deepEqual(req.targets, [0, 2]);
  equal(m.requests(QUERY).length, 0);
});

Deno.test("dmg pool query-targets: all targets from the pool query; -j", async () => {
  const m = new MockInvoker()
    .reply(QUERY, { uuid: UUID1, totalTargets: 8, totalEngines: 2 })
    .reply(QT, { infos: [TARGET] });
  const r = await run(["-j", "pool", "query-targets", "tank", "--rank", "0"], m);
  equal(r.code, 0, r.err);
  deepEqual(m.requests(QT)[0].targets, [0, 1, 2, 3]);
  deepEqual(JSON.parse(r.out).response, {
    status: 0,
    Infos: [{
      target_type: "pm",
      target_state: "up_in",
      space: [
        { total: 1000000000, free: 500000000, media_type: "scm" },
        { total: 6000000000000, free: 5000000000000, media_type: "nvme" },
      ],
      mem_file_bytes: 0,
    }],
  });
  // No self-heal query for the count.
  equal(m.requests(QUERY)[0].queryMask & PoolQueryBit.self_heal_policy, 0n);
});

Deno.test("dmg pool query-targets: errors", async () => {
  const m = new MockInvoker().reply(QUERY, { uuid: UUID1 });
  const none = await run(["pool", "query-targets", "tank"], m);
  equal(none.code, 1);
  match(none.err, /--rank/);
  const bad = await run(["pool", "query-targets", "tank", "--rank", "x"], m);
  match(bad.err, /invalid --rank "x"/);
  equal(m.requests(QUERY).length, 0);
  const empty = await run(["pool", "query-targets", "tank", "--rank", "0"], m);
  equal(empty.code, 1);
  equal(empty.err, "ERROR: dmg: failed to derive target count from pool query\n");
  const unk = await run(
    ["pool", "query-targets", "tank", "--rank", "0", "--target-idx", "9"],
    new MockInvoker().reply(QT, { status: -1003 }),
  );
  equal(unk.code, 1);
  equal(unk.err, "ERROR: dmg: pool query targets failed: DER_INVAL(-1003): Invalid parameters\n");
});
