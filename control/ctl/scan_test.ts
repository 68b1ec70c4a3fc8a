import { deepEqual, equal } from "node:assert/strict";
import { NilRank } from "../lib/rankset.ts";
import { create } from "@bufbuild/protobuf";
import { NetworkScanReqSchema } from "../../proto/gen/ts/ctl/network_pb.ts";
import { ResponseStatus } from "../../proto/gen/ts/ctl/common_pb.ts";
import { StorageScanReqSchema } from "../../proto/gen/ts/ctl/storage_pb.ts";
import {
  engineYaml,
  LOCAL_SERVER_HEAD,
  parseConfig,
  ramTierYaml,
} from "../../tests/util/config_fixtures.ts";
import type { EngineConfig } from "../config/types.ts";
import { networkScan, type NetworkScanSource } from "./network_scan.ts";
import { NO_PMEM, storageScan } from "./storage_scan.ts";
import { fakeStorageSource } from "./testing.ts";

function engines(storage: string): EngineConfig[] {
  return parseConfig(LOCAL_SERVER_HEAD + engineYaml(storage), "test.yml").engines;
}

Deno.test("storageScan: ram tier reported as a ramdisk namespace with tmpfs usage", async () => {
  const e = engines(ramTierYaml("/mnt/daos0"));
  const req = create(StorageScanReqSchema, { nvme: { Basic: true } });
  const unmounted = await storageScan(req, fakeStorageSource(e));
  equal(unmounted.scm?.state?.status, ResponseStatus.CTL_SUCCESS);
  equal(unmounted.scm?.namespaces[0].blockdev, "ramdisk");
  equal(unmounted.scm?.namespaces[0].size, 4n * 1024n ** 3n);
  equal(unmounted.scm?.namespaces[0].mount?.totalBytes, 0n);
  equal(unmounted.memInfo?.hugepagesTotal, 4n);
  deepEqual(unmounted.nvme?.ctrlrs, []);

  const mounted = await storageScan(
    req,
    fakeStorageSource(e, {
      mount: (p) => Promise.resolve({ mountPoint: p, fsType: "tmpfs", source: "tmpfs" }),
      usage: () => Promise.resolve({ totalBytes: 4 * 1024 ** 3, availBytes: 1000 }),
    }),
  );
  const m = mounted.scm?.namespaces[0].mount;
  equal(m?.path, "/mnt/daos0");
  equal(m?.availBytes, 1000n);
  equal(m?.rank, NilRank);
});

Deno.test("storageScan: dcpm has no PMem here; NVMe failures stay in the NVMe part", async () => {
  const e = engines(
    "      - class: dcpm\n        scm_mount: /mnt/pmem0\n        scm_list: [/dev/pmem0]\n",
  );
  const resp = await storageScan(
    create(StorageScanReqSchema, {}),
    fakeStorageSource(e, { nvme: () => Promise.reject(new Error("sysfs unreadable")) }),
  );
  equal(resp.scm?.state?.status, ResponseStatus.CTL_ERR_SCM);
  equal(resp.scm?.state?.error, NO_PMEM);
  equal(resp.scm?.state?.info, "configured: /dev/pmem0");
  equal(resp.nvme?.state?.status, ResponseStatus.CTL_ERR_NVME);
  equal(resp.nvme?.state?.error, "nvme scan failed: sysfs unreadable");
  equal(resp.memInfo?.memTotalKb, 1000n, "memory still reported");
});

Deno.test("storageScan: NVMe controllers, basic strips identity, configured ones get roles", async () => {
  const e = engines(
    ramTierYaml("/mnt/d") +
      "      - class: nvme\n        bdev_list: ['0000:81:00.0']\n",
  );
  const nvme = () =>
    Promise.resolve([{
      pciAddr: "0000:81:00.0",
      model: "M",
      serial: "S",
      fwRev: "F",
      socketId: 1,
      namespaces: [{ id: 1, sizeBytes: 2e12 }],
    }]);
  const full = await storageScan(create(StorageScanReqSchema, {}), fakeStorageSource(e, { nvme }));
  const c = full.nvme!.ctrlrs[0];
  deepEqual([c.model, c.serial, c.fwRev, c.socketId], ["M", "S", "F", 1]);
  equal(c.namespaces[0].size, 2000000000000n);
  equal(c.smdDevices.length, 1);
  equal(c.smdDevices[0].rank, NilRank);
  const basic = await storageScan(
    create(StorageScanReqSchema, { nvme: { Basic: true } }),
    fakeStorageSource(e, { nvme }),
  );
  deepEqual([basic.nvme!.ctrlrs[0].model, basic.nvme!.ctrlrs[0].smdDevices.length], ["", 0]);
});

Deno.test("networkScan: provider filter (request, configured, all) and excluded interfaces", async () => {
  const src = (configuredProvider: string): NetworkScanSource => ({
    configuredProvider,
    interfaces: () =>
      Promise.resolve([
        { name: "eth0", addresses: ["10.0.0.1"], numaNode: 1, netDevClass: 1, rdma: false },
        { name: "ib0", addresses: ["10.1.0.1"], numaNode: 0, netDevClass: 32, rdma: true },
      ]),
    topology: () => Promise.resolve({ numaCount: 2, coresPerNuma: 8 }),
  });
  const all = await networkScan(create(NetworkScanReqSchema, { provider: "all" }), src("ofi+tcp"));
  equal(all.interfaces.length, 6);
  equal(all.numacount, 2);
  equal(all.corespernuma, 8);
  const configured = await networkScan(create(NetworkScanReqSchema, {}), src("ofi+tcp"));
  deepEqual(configured.interfaces.map((i) => [i.device, i.numanode, i.netdevclass]), [
    ["eth0", 1, 1],
    ["ib0", 0, 32],
  ]);
  const verbs = await networkScan(
    create(NetworkScanReqSchema, { provider: "ofi+verbs", excludeinterfaces: "eth0" }),
    src(""),
  );
  deepEqual(verbs.interfaces.map((i) => i.device), ["ib0"]);
  const discovery = await networkScan(create(NetworkScanReqSchema, {}), src(""));
  equal(discovery.interfaces.length, 6, "no configured provider: all");
});
