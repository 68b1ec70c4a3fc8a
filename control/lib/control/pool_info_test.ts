/** The pool info JSON builder against spec/dmg.md §5.13 (`-n`) and §5.14 examples. */
import { deepEqual, equal } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import {
  ListPoolsResp_PoolSchema,
  PoolQueryRespSchema,
  PoolRebuildStatus_State,
  PoolServiceState,
  StorageMediaType,
} from "../../../proto/gen/ts/mgmt/pool_pb.ts";
import { goMarshalIndent } from "../../../cli/output/gojson.ts";
import {
  poolInfoFromList,
  poolInfoFromQuery,
  poolInfoJson,
  poolName,
  poolQueryMask,
  poolQueryMaskString,
} from "./pool_info.ts";

Deno.test("pool query mask names are sorted and comma-joined", () => {
  equal(poolQueryMaskString(0n), "");
  equal(
    poolQueryMaskString(poolQueryMask("space", "rebuild", "disabled_engines")),
    "disabled_engines,rebuild,space",
  );
  equal(
    poolQueryMaskString(poolQueryMask("dead_engines", "rebuild", "disabled_engines")),
    "dead_engines,disabled_engines,rebuild",
  );
  // Unknown high bits are not named.
  equal(poolQueryMaskString((1n << 40n) | poolQueryMask("space")), "space");
});

Deno.test("pool info JSON of a query reply matches the §5.14 example", () => {
  const r = create(PoolQueryRespSchema, {
    status: 0,
    uuid: "00000001-0001-0001-0001-000000000001",
    label: "tank",
    totalTargets: 16,
    activeTargets: 16,
    totalEngines: 2,
    version: 1,
    svcLdr: 0,
    svcReps: [0],
    state: PoolServiceState.Ready,
    queryMask: poolQueryMask("disabled_engines", "rebuild", "self_heal_policy", "space"),
    rebuild: { status: 0, state: PoolRebuildStatus_State.IDLE },
    tierStats: [
      {
        total: 100000000000n,
        free: 20000000000n,
        min: 5000000000n,
        max: 6000000000n,
        mean: 5500000000n,
        mediaType: StorageMediaType.SCM,
      },
      {
        total: 6000000000000n,
        free: 1000000000000n,
        min: 20000000000n,
        max: 50000000000n,
        mean: 35000000000n,
        mediaType: StorageMediaType.NVME,
      },
    ],
    poolLayoutVer: 3,
    upgradeLayoutVer: 3,
  });
  const pi = poolInfoFromQuery(r);
  pi.selfHealPolicy = "exclude;rebuild";
  equal(
    goMarshalIndent(poolInfoJson(pi)),
    `{
  "query_mask": "disabled_engines,rebuild,self_heal_policy,space",
  "state": "Ready",
  "uuid": "00000001-0001-0001-0001-000000000001",
  "label": "tank",
  "total_targets": 16,
  "active_targets": 16,
  "total_engines": 2,
  "disabled_targets": 0,
  "version": 1,
  "svc_ldr": 0,
  "svc_reps": [
    0
  ],
  "rebuild": {
    "status": 0,
    "state": "idle",
    "derived_state": "idle",
    "objects": 0,
    "records": 0,
    "total_objects": 0,
    "degraded": false
  },
  "tier_stats": [
    {
      "total": 100000000000,
      "free": 20000000000,
      "min": 5000000000,
      "max": 6000000000,
      "mean": 5500000000,
      "media_type": "scm"
    },
    {
      "total": 6000000000000,
      "free": 1000000000000,
      "min": 20000000000,
      "max": 50000000000,
      "mean": 35000000000,
      "media_type": "nvme"
    }
  ],
  "disabled_ranks": [],
  "pool_layout_ver": 3,
  "upgrade_layout_ver": 3,
  "mem_file_bytes": 0,
  "md_on_ssd_active": false,
  "self_heal_policy": "exclude;rebuild",
  "usage": [
    {
      "tier_name": "SCM",
      "size": 100000000000,
      "free": 20000000000,
      "imbalance": 16
    },
    {
      "tier_name": "NVME",
      "size": 6000000000000,
      "free": 1000000000000,
      "imbalance": 8
    }
  ]
}`,
  );
});

Deno.test("pool info from a query: state fix-ups, derived rebuild state, rank sets", () => {
  const pi = poolInfoFromQuery(create(PoolQueryRespSchema, {
    status: 0,
    uuid: "u",
    totalTargets: 2,
    disabledTargets: 1,
    state: PoolServiceState.Creating,
    queryMask: poolQueryMask("dead_engines", "disabled_engines", "rebuild"),
    disabledRanks: "0-1,3",
    deadRanks: "7-9",
    rebuild: { status: -1003, state: PoolRebuildStatus_State.BUSY, objects: 42n, records: 21n },
  }));
  equal(pi.state, "TargetsExcluded");
  equal(pi.rebuild?.derivedState, "failing");
  equal(pi.rebuild?.degraded, true);
  const j = poolInfoJson(pi) as Record<string, unknown>;
  deepEqual(j.disabled_ranks, [0, 1, 3]);
  deepEqual(j.dead_ranks, [7, 8, 9]);
  equal("enabled_ranks" in j, false);
  equal("label" in j, false);
  equal("usage" in j, false);
  equal(j.tier_stats, null);
  equal(poolInfoFromQuery(create(PoolQueryRespSchema, { totalTargets: 0 })).state, "Unknown");
});

Deno.test("pool info JSON of a ListPools entry matches the §5.13 -n example", () => {
  const pi = poolInfoFromList(create(ListPoolsResp_PoolSchema, {
    uuid: "00000002-0002-0002-0002-000000000002",
    label: "two",
    svcReps: [3, 4, 5],
    state: "Ready",
  }));
  equal(poolName(pi), "two");
  equal(poolName({ label: "", uuid: "00000002-0002-0002-0002-000000000002" }), "00000002");
  deepEqual(JSON.parse(goMarshalIndent(poolInfoJson(pi))), {
    query_mask: "",
    state: "Ready",
    uuid: "00000002-0002-0002-0002-000000000002",
    label: "two",
    total_targets: 0,
    active_targets: 0,
    total_engines: 0,
    disabled_targets: 0,
    version: 0,
    svc_ldr: 0,
    svc_reps: [3, 4, 5],
    rebuild: null,
    tier_stats: null,
    pool_layout_ver: 0,
    upgrade_layout_ver: 0,
    mem_file_bytes: 0,
    md_on_ssd_active: false,
    self_heal_policy: "",
  });
  // Field order too.
  equal(
    Object.keys(poolInfoJson(pi) as Record<string, unknown>).join(","),
    "query_mask,state,uuid,label,total_targets,active_targets,total_engines,disabled_targets," +
      "version,svc_ldr,svc_reps,rebuild,tier_stats,pool_layout_ver,upgrade_layout_ver," +
      "mem_file_bytes,md_on_ssd_active,self_heal_policy",
  );
});
