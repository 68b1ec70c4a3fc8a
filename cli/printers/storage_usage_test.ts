import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { ResponseStateSchema, ResponseStatus } from "../../proto/gen/ts/ctl/common_pb.ts";
import { NvmeControllerSchema, SmdDeviceSchema } from "../../proto/gen/ts/ctl/smd_pb.ts";
import {
  ScanNvmeRespSchema,
  ScanScmRespSchema,
  ScmNamespace_MountSchema,
  ScmNamespaceSchema,
  type StorageScanResp,
  StorageScanRespSchema,
} from "../../proto/gen/ts/ctl/storage_pb.ts";
import type { HostResult } from "../../control/lib/rpc/fanout.ts";
import { goMarshalIndent } from "../output/gojson.ts";
import { foldUsage } from "../../control/lib/control/storage.ts";
import { checkUsageFlags } from "../commands/storage_usage.ts";
import { printUsage, usageHostStorage } from "./storage_usage.ts";

const T = 1_000_000_000_000n;

function scan(
  scm: [bigint, bigint],
  devs: Array<[number, number, bigint, bigint]>,
): StorageScanResp {
  return create(StorageScanRespSchema, {
    scm: create(ScanScmRespSchema, {
      namespaces: [create(ScmNamespaceSchema, {
        mount: create(ScmNamespace_MountSchema, { totalBytes: scm[0], availBytes: scm[1] }),
      })],
    }),
    nvme: create(ScanNvmeRespSchema, {
      ctrlrs: [create(NvmeControllerSchema, {
        smdDevices: devs.map(([rank, roleBits, total, avail]) =>
          create(SmdDeviceSchema, { rank, roleBits, totalBytes: total, availBytes: avail })
        ),
      })],
    }),
  });
}

Deno.test("PMem mode table (dmg.md §5.10 example 1)", () => {
  const r: HostResult<StorageScanResp>[] = [{
    addr: "host1:10001",
    response: scan([3n * T, 750_000_000_000n], [[0, 0, 36n * T, 27n * T]]),
  }];
  const p = printUsage(foldUsage(r), { showUsable: false });
  assert.equal(
    p.out,
    "Hosts SCM-Total SCM-Free SCM-Used NVMe-Total NVMe-Free NVMe-Used \n" +
      "----- --------- -------- -------- ---------- --------- --------- \n" +
      "host1 3.0 TB    750 GB   75 %     36 TB      27 TB     25 %      \n",
  );
  assert.equal(
    printUsage(foldUsage(r), { showUsable: true }).notice,
    "--show-usable flag ignored when MD-on-SSD is not enabled",
  );
});

Deno.test("failed scans become host errors and zero rows (example 2)", () => {
  const bad = create(StorageScanRespSchema, {
    scm: create(ScanScmRespSchema, {
      state: create(ResponseStateSchema, {
        status: ResponseStatus.CTL_ERR_SCM,
        error: "scm scan failed",
      }),
    }),
    nvme: create(ScanNvmeRespSchema, {
      state: create(ResponseStateSchema, {
        status: ResponseStatus.CTL_ERR_NVME,
        error: "nvme scan failed",
      }),
    }),
  });
  const r = ["host1:1", "host2:1"].map((addr) => ({ addr, response: bad }));
  const p = printUsage(foldUsage(r), { showUsable: false });
  assert.equal(
    p.err,
    "Errors:\n  Hosts     Error            \n  -----     -----            \n" +
      "  host[1-2] nvme scan failed \n  host[1-2] scm scan failed  \n\n",
  );
  assert.match(p.out, /host\[1-2\] 0 B {7}0 B {6}N\/A {6}0 B {8}0 B {7}N\/A {7}\n$/);
});

Deno.test("MD-on-SSD mode prints tiers and per-rank usage (example 3)", () => {
  const r = [{
    addr: "host1:1",
    response: scan([0n, 0n], [
      [0, 6, 2n * T, 1n * T],
      [0, 1, 2n * T, 1_500_000_000_000n],
      [1, 6, 2n * T, 500_000_000_000n],
      [1, 1, 2n * T, 1n * T],
    ]),
  }];
  assert.equal(
    printUsage(foldUsage(r), { showUsable: false }).out,
    "Tier Roles    \n---- -----    \nT1   meta,wal \nT2   data     \n\n" +
      "Rank T1-Total T1-Free T1-Usage T2-Total T2-Free T2-Usage \n" +
      "---- -------- ------- -------- -------- ------- -------- \n" +
      "0    2.0 TB   1.0 TB  50 %     2.0 TB   1.5 TB  25 %     \n" +
      "1    2.0 TB   500 GB  75 %     2.0 TB   1.0 TB  50 %     \n",
  );
  assert.throws(
    () => checkUsageFlags({ showUsable: false, memRatio: 0.5 }),
    /--mem-ratio is only supported/,
  );
});

Deno.test("-j HostStorage: hosts grouped by exact usage, failed hosts and parts left out", () => {
  const a = scan([3n * T, T], [[0, 0, 2n * T, T]]);
  const b = scan([3n * T, T], [[1, 0, 2n * T, T / 2n]]);
  const failedNvme = scan([3n * T, T], [[2, 0, 2n * T, T]]);
  failedNvme.nvme!.state = create(ResponseStateSchema, {
    status: ResponseStatus.CTL_ERR_NVME,
    error: "nvme scan failed",
  });
  const results: HostResult<StorageScanResp>[] = [
    { addr: "host1:10001", response: a },
    { addr: "host2:10001", response: a },
    { addr: "host3:10001", response: b },
    { addr: "host4:10001", response: failedNvme },
    { addr: "host5:10001", error: new Error("refused") },
  ];
  const out = goMarshalIndent(usageHostStorage(foldUsage(results).answers));
  const map = JSON.parse(out) as Record<string, {
    hosts: string;
    storage: {
      nvme_devices: { smd_devices: { rank: number; avail_bytes: number; roles: string }[] }[];
    };
  }>;
  const byHosts = new Map(Object.values(map).map((g) => [g.hosts, g.storage]));
  assert.deepEqual([...byHosts.keys()].sort(), [
    "host3:10001",
    "host4:10001",
    "host[1-2]:10001",
  ]);
  const dev = byHosts.get("host3:10001")!.nvme_devices[0].smd_devices[0];
  assert.deepEqual([dev.rank, dev.avail_bytes, dev.roles], [1, Number(T / 2n), "NA"]);
  assert.deepEqual(byHosts.get("host4:10001")!.nvme_devices, [], "failed NVMe part dropped");
  assert.equal(
    usageHostStorage(foldUsage([{ addr: "h:1", error: new Error("x") }]).answers),
    null,
  );
});
