/**
 * `dmg pool create` against a MockInvoker: the §5.12 entity blocks, info/notice lines, JSON,
 * the request of every mode (manual, MD-on-SSD, auto, -z N% from SystemQuery + usage scan)
 * and every flag-combination error (no request sent).
 */
import { deepEqual, equal, match } from "node:assert/strict";
import { MockInvoker } from "../../control/lib/control/mock_invoker.ts";
import { PoolPropNumber } from "../../control/lib/pool_props.ts";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { NvmeDevState } from "../../proto/gen/ts/ctl/smd_pb.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { runDmg, testConfig } from "../testing/dmg_harness.ts";

const CREATE = MgmtSvc.method.poolCreate;
const SYSQ = MgmtSvc.method.systemQuery;
const SCAN = CtlSvc.method.storageScan;
const UUID = "00000001-0001-0001-0001-000000000001";

/** Runs dmg; the client's random pool uuid is replaced by UUID in the output (same width). */
async function run(args: string[], m: MockInvoker, hosts = ["h1:10001"]) {
  const r = await runDmg(args, m, testConfig(hosts));
  const sent = m.requests(CREATE)[0]?.uuid;
  if (sent) r.out = r.out.replaceAll(sent, UUID);
  return r;
}

/** A create that answers as the §5.12 examples (4 ranks, leader 0, replicas 0-2). */
function created(tierBytes: bigint[], memFileBytes = 0n) {
  return new MockInvoker().on(CREATE, () => {
    return {
      status: 0,
      svcLdr: 0,
      svcReps: [0, 1, 2],
      tgtRanks: [0, 1, 2, 3],
      tierBytes,
      memFileBytes,
    };
  });
}

const PMEM_BLOCK = `Pool created with 5.66%,94.34% storage tier ratio
-------------------------------------------------
  UUID                 : 00000001-0001-0001-0001-000000000001
  Service Leader       : 0                                   
  Service Ranks        : [0-2]                               
  Storage Ranks        : [0-3]                               
  Total Size           : 42 GB                               
  Storage tier 0 (SCM) : 2.4 GB (600 MB / rank)              
  Storage tier 1 (NVMe): 40 GB (10 GB / rank)                

`;

Deno.test("dmg pool create -s -n: info line, request, the §5.12 PMem block", async () => {
  const m = created([600_000_000n, 10_000_000_000n]);
  const r = await run(["pool", "create", "-s", "600MB", "-n", "10GB", "-r", "0-3", "tank"], m);
  equal(r.code, 0, r.err);
  equal(r.err, "");
  equal(
    r.out,
    "Creating DAOS pool with manual per-engine storage allocation: 600 MB SCM, 10 GB NVMe " +
      "(5.66% storage tier ratio)\n" + PMEM_BLOCK,
  );
  const [req] = m.requests(CREATE);
  deepEqual(req.tierBytes, [600_000_000n, 10_000_000_000n]);
  deepEqual(req.ranks, [0, 1, 2, 3]);
  equal(req.totalBytes, 0n);
  deepEqual(req.tierRatio, []);
  equal(req.properties[0].number, PoolPropNumber.LABEL);
  deepEqual(req.properties[0].value, { case: "strval", value: "tank" });
  match(req.user, /@/);
  match(req.userGroup, /@/);
});

Deno.test("dmg pool create: the client generates a v4 uuid and keeps it across retries", async () => {
  const m = new MockInvoker().on(CREATE, (_req, _a, n) =>
    n === 0 ? { status: -1013 } : {
      status: 0,
      svcReps: [0],
      tgtRanks: [0],
      tierBytes: [1_000_000_000n, 0n],
    });
  const r = await runDmg(
    ["-j", "pool", "create", "-s", "1GB", "tank"],
    m,
    testConfig(["h1:10001"]),
  );
  equal(r.code, 0, r.err);
  const reqs = m.requests(CREATE);
  equal(reqs.length, 2);
  match(reqs[0].uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  equal(reqs[1].uuid, reqs[0].uuid);
  equal(JSON.parse(r.out).response.uuid, reqs[0].uuid);
});

Deno.test("dmg pool create --meta-size/--data-size: MD-on-SSD info line and block", async () => {
  const m = created([600_000_000n, 10_000_000_000n], 300_000_000n);
  const r = await run(
    ["pool", "create", "--meta-size", "600MB", "--data-size", "10GB", "--mem-ratio", "50", "tank"],
    m,
  );
  equal(r.code, 0, r.err);
  equal(
    r.out,
    "Creating DAOS pool in MD-on-SSD mode with manual per-engine storage allocation: 600 MB " +
      "metadata, 10 GB data (5.66% storage tier ratio) and 50.00% memory-file:meta-blob size ratio\n" +
      `Pool created with 5.66%,94.34% storage tier ratio
-------------------------------------------------
  UUID             : 00000001-0001-0001-0001-000000000001
  Service Leader   : 0                                   
  Service Ranks    : [0-2]                               
  Storage Ranks    : [0-3]                               
  Total Size       : 42 GB                               
  Metadata Storage : 2.4 GB (600 MB / rank)              
  Data Storage     : 40 GB (10 GB / rank)                
  Memory File Size : 1.2 GB (300 MB / rank)              

`,
  );
  equal(m.requests(CREATE)[0].memRatio, 0.5);
});

Deno.test("dmg pool create -s only: single-tier notice and the 100% block", async () => {
  const m = created([600_000_000n, 0n]);
  const r = await run(["pool", "create", "-s", "600MB", "tank"], m);
  equal(r.code, 0, r.err);
  equal(r.err, "NOTICE: Creating DAOS pool with only a single tier of storage\n");
  equal(
    r.out,
    "Creating DAOS pool with manual per-engine storage allocation: 600 MB SCM, 0 B NVMe " +
      "(100.00% storage tier ratio)\n" +
      `Pool created with 100.00% storage tier ratio
--------------------------------------------
  UUID                 : 00000001-0001-0001-0001-000000000001
  Service Leader       : 0                                   
  Service Ranks        : [0-2]                               
  Storage Ranks        : [0-3]                               
  Total Size           : 2.4 GB                              
  Storage tier 0 (SCM) : 2.4 GB (600 MB / rank)              

`,
  );
});

Deno.test("dmg pool create: SCM under 1% of the pool prints the performance notice", async () => {
  const m = created([1_000_000n, 1_000_000_000n]);
  const r = await run(["pool", "create", "-s", "1MB", "-n", "1GB", "tank"], m);
  equal(r.code, 0, r.err);
  equal(r.err, "NOTICE: storage tier ratio is less than 1.00%, DAOS performance may suffer!\n");
});

Deno.test("dmg pool create -z: auto mode request and info line", async () => {
  const m = created([600_000_000n, 10_000_000_000n]);
  const r = await run(["pool", "create", "-z", "1TB", "-k", "8", "-v", "3", "tank"], m);
  equal(r.code, 0, r.err);
  equal(
    r.out.split("\n")[0],
    "Creating DAOS pool with automatic storage allocation: 1.0 TB total, 6.00% storage tier ratio with 8 ranks",
  );
  const [req] = m.requests(CREATE);
  equal(req.totalBytes, 1_000_000_000_000n);
  deepEqual(req.tierRatio, [0.06, 0.94]);
  equal(req.numRanks, 8);
  equal(req.numSvcReps, 3);
  deepEqual(req.tierBytes, []);
  const t = await run(["pool", "create", "-z", "1TB", "-t", "10", "tank"], created([1n, 9n]));
  equal(t.code, 0, t.err);
  equal(
    t.out.split("\n")[0],
    "Creating DAOS pool with automatic storage allocation: 1.0 TB total, 10.00% storage tier ratio",
  );
});

/** One host's usage scan: SCM mounts and NVMe SMD devices per rank. */
function usageScan(scm: [number, bigint][], nvme: [number, bigint, NvmeDevState][]) {
  return {
    scm: {
      namespaces: scm.map(([rank, usable], i) => ({
        uuid: `ns${i}`,
        mount: { path: `/mnt/daos${i}`, usableBytes: usable, rank },
      })),
      state: {},
    },
    nvme: {
      ctrlrs: nvme.map(([rank, usable, devState], i) => ({
        pciAddr: `0000:0${i}:00.0`,
        devState,
        smdDevices: [{ uuid: `d${i}`, rank, usableBytes: usable, roleBits: 0 }],
      })),
      state: {},
    },
  };
}

Deno.test("dmg pool create -z 50%: SystemQuery, usage scan, per-rank minima × 50%", async () => {
  const m = created([1n, 1n])
    .reply(SYSQ, {
      members: [0, 1, 2].map((rank) => ({ rank, state: "joined" })),
    })
    .reply(
      SCAN,
      usageScan([[0, 100n * 10n ** 9n]], [[0, 1000n * 10n ** 9n, NvmeDevState.NORMAL]]),
      "h1:10001",
    )
    .reply(
      SCAN,
      usageScan(
        [[1, 80n * 10n ** 9n], [2, 90n * 10n ** 9n]],
        [
          [1, 500n * 10n ** 9n, NvmeDevState.NORMAL],
          [1, 300n * 10n ** 9n, NvmeDevState.NORMAL],
          [2, 2000n * 10n ** 9n, NvmeDevState.NORMAL],
          // Faulty devices do not count.
          [2, 9000n * 10n ** 9n, NvmeDevState.EVICTED],
        ],
      ),
      "h2:10001",
    );
  const r = await run(["pool", "create", "-z", "50%", "tank"], m, ["h1:10001", "h2:10001"]);
  equal(r.code, 0, r.err);
  equal(r.out.split("\n")[0], "Creating DAOS pool with 50% of all storage");
  const [req] = m.requests(CREATE);
  // min SCM 80 GB, min per-rank NVMe 800 GB (rank 1), halved.
  deepEqual(req.tierBytes, [40n * 10n ** 9n, 400n * 10n ** 9n]);
  equal(req.totalBytes, 0n);
  // Only ranks 0 and 2 wanted: SCM min 90 GB, NVMe min 1000 GB.
  const m2 = created([1n, 1n])
    .reply(SYSQ, { members: [0, 1, 2].map((rank) => ({ rank, state: "joined" })) })
    .reply(
      SCAN,
      usageScan([[0, 100n * 10n ** 9n]], [[0, 1000n * 10n ** 9n, NvmeDevState.NORMAL]]),
      "h1:10001",
    )
    .reply(
      SCAN,
      usageScan([[1, 80n * 10n ** 9n], [2, 90n * 10n ** 9n]], [[
        2,
        2000n * 10n ** 9n,
        NvmeDevState.NORMAL,
      ]]),
      "h2:10001",
    );
  const r2 = await run(["pool", "create", "-z", "100%", "-r", "0,2", "tank"], m2, [
    "h1:10001",
    "h2:10001",
  ]);
  equal(r2.code, 0, r2.err);
  deepEqual(m2.requests(CREATE)[0].tierBytes, [90n * 10n ** 9n, 1000n * 10n ** 9n]);
  deepEqual(m2.requests(CREATE)[0].ranks, [0, 2]);
});

Deno.test("dmg pool create -z N% -r: a rank that is not joined is refused", async () => {
  const m = new MockInvoker().reply(SYSQ, {
    members: [{ rank: 0, state: "joined" }, { rank: 3, state: "stopped" }],
  });
  const r = await run(["pool", "create", "-z", "10%", "-r", "0,3", "tank"], m);
  equal(r.code, 1);
  equal(r.err, "ERROR: dmg: pool create failed: specified rank 3 is not joined\n");
  equal(m.requests(CREATE).length, 0);
});

Deno.test("dmg pool create -j: the §5.12 JSON response", async () => {
  const r = await run(
    ["-j", "pool", "create", "-s", "600MB", "-n", "10GB", "tank"],
    created([600_000_000n, 10_000_000_000n]),
  );
  equal(r.code, 0, r.err);
  equal(
    r.out,
    `{
  "response": {
    "uuid": "00000001-0001-0001-0001-000000000001",
    "svc_ldr": 0,
    "svc_reps": [
      0,
      1,
      2
    ],
    "tgt_ranks": [
      0,
      1,
      2,
      3
    ],
    "tier_bytes": [
      600000000,
      10000000000
    ],
    "mem_file_bytes": 0,
    "md_on_ssd_active": false
  },
  "error": null,
  "status": 0
}
`,
  );
});

Deno.test("dmg pool create: a DER status fails the command (text and JSON)", async () => {
  const m = () => new MockInvoker().reply(CREATE, { status: -1007 });
  const r = await run(["pool", "create", "-s", "1GB", "-n", "9GB", "tank"], m());
  equal(r.code, 1);
  equal(r.err, "ERROR: dmg: pool create failed: DER_NOSPACE(-1007): No space on storage target\n");
  const j = await run(["-j", "pool", "create", "-s", "1GB", "-n", "9GB", "tank"], m());
  equal(j.code, 1);
  deepEqual(JSON.parse(j.out), {
    response: null,
    error: "DER_NOSPACE(-1007): No space on storage target",
    status: -1007,
  });
});

Deno.test("dmg pool create: a reply without tiers or ranks is an error", async () => {
  const noTiers = new MockInvoker().reply(CREATE, { status: 0, tgtRanks: [0] });
  equal(
    (await run(["pool", "create", "-s", "1GB", "-n", "9GB", "tank"], noTiers)).err,
    "ERROR: dmg: create response had 0 storage tiers\n",
  );
  const noRanks = new MockInvoker().reply(CREATE, { status: 0, tierBytes: [1n] });
  equal(
    (await run(["pool", "create", "-s", "1GB", "-n", "9GB", "tank"], noRanks)).err,
    "ERROR: dmg: create response had 0 target ranks\n",
  );
});

Deno.test("dmg pool create: flag errors, before any request", async () => {
  const combo =
    "unsupported option combination, use (--scm-size and --nvme-size) or (--meta-size and --data-size) or (--size)";
  const cases: [string[], string][] = [
    [["tank"], combo],
    [["-z", "1TB", "-s", "1GB", "tank"], combo],
    [["-s", "1GB", "--meta-size", "1GB", "tank"], combo],
    [["-z", "50%", "-k", "2", "tank"], "--size=% may not be mixed with --nranks"],
    [["-z", "50%", "-t", "6,94", "tank"], "--size=% may not be mixed with --tier-ratio"],
    [
      ["-z", "0%", "tank"],
      "Creating DAOS pool with invalid full size ratio 0%: allowed range 0 < ratio <= 100",
    ],
    [
      ["-z", "101%", "tank"],
      "Creating DAOS pool with invalid full size ratio 101%: allowed range 0 < ratio <= 100",
    ],
    [["-z", "1TB", "-k", "2", "-r", "0-1", "tank"], "--nranks may not be mixed with --ranks"],
    [["-s", "1GB", "-k", "2", "tank"], "--nranks may not be mixed with --scm-size"],
    [["-s", "1GB", "-t", "6", "tank"], "--tier-ratio may not be mixed with --scm-size"],
    [
      ["-s", "1GB", "--mem-ratio", "50", "tank"],
      "--mem-ratio may not be mixed with --scm-size or --nvme-size",
    ],
    [["-n", "1GB", "tank"], "--nvme-size cannot be set without --scm-size"],
    [["-z", "1TB", "-t", "50,60", "tank"], "Storage tier ratios must add up to 100% (got 110.00%)"],
    [["-s", "1GB", "alfalfa!"], `invalid label "alfalfa!"`],
    [["-s", "1GB", UUID], `invalid label "${UUID}"`],
    [["-s", "1GB"], "the required argument `<pool label>` was not provided"],
    [["-s", "1GB", "tank", "more"], "unexpected arguments: more"],
    [["-s", "1GB", "-P", "label:x", "tank"], "can't set label property with label argument"],
  ];
  for (const [args, msg] of cases) {
    const m = new MockInvoker();
    const r = await run(["pool", "create", ...args], m);
    equal(r.code, 1, args.join(" "));
    equal(r.err, `ERROR: dmg: ${msg}\n`, args.join(" "));
    equal(m.calls.length, 0, args.join(" "));
  }
  const bad = await run(
    ["pool", "create", "-s", "1GB", "-P", "nosuch:1", "tank"],
    new MockInvoker(),
  );
  equal(bad.code, 1);
  match(bad.err, /^ERROR: dmg: failed to generate PoolCreate request: .*nosuch/);
});

Deno.test("dmg pool create -P/-u/-g/-a: properties, owner and ACL sent", async () => {
  const acl = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(acl, "# comment\nA::OWNER@:rw\n\nA:G:GROUP@:r\n");
    const m = created([1n, 1n]);
    const r = await run(
      [
        "pool",
        "create",
        "-s",
        "1GB",
        "-P",
        "reclaim:disabled",
        "-u",
        "alice",
        "-g",
        "ops@dom",
        "-a",
        acl,
        "tank",
      ],
      m,
    );
    equal(r.code, 0, r.err);
    const [req] = m.requests(CREATE);
    equal(req.user, "alice@");
    equal(req.userGroup, "ops@dom");
    deepEqual(req.acl, ["A::OWNER@:rw", "A:G:GROUP@:r"]);
    equal(req.properties.length, 2);
    equal(req.properties[1].number, PoolPropNumber.RECLAIM);
    await Deno.writeTextFile(acl, "garbage\n");
    const bad = await run(["pool", "create", "-s", "1GB", "-a", acl, "tank"], new MockInvoker());
    equal(bad.code, 1);
    match(bad.err, /failed to generate PoolCreate request: invalid ACE "garbage"/);
  } finally {
    await Deno.remove(acl);
  }
});
