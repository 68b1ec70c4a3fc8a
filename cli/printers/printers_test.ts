import { equal, ok } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { ResponseStateSchema, ResponseStatus } from "../../proto/gen/ts/ctl/common_pb.ts";
import { NetworkScanRespSchema } from "../../proto/gen/ts/ctl/network_pb.ts";
import { type StorageScanResp, StorageScanRespSchema } from "../../proto/gen/ts/ctl/storage_pb.ts";
import { groupPayloads } from "../../control/lib/rpc/group.ts";
import { scanResultParts } from "../../control/lib/control/storage.ts";
import { fabricFingerprint, formatNetworkScan } from "./network_scan.ts";
import { formatScanTable, formatScanVerbose, storageFingerprint } from "./storage_scan.ts";

function withModule(): StorageScanResp {
  return create(StorageScanRespSchema, {
    scm: {
      modules: [{
        physicalid: 1,
        socketid: 1,
        controllerid: 1,
        channelid: 1,
        channelposition: 1,
        capacity: 1000000000n,
        uid: "Device1",
        partNumber: "PartNumber1",
        healthState: "Healthy",
      }],
    },
    nvme: {},
    memInfo: { hugepageSizeKb: 2048, hugepagesFree: 1n },
  });
}

function withNvme(): StorageScanResp {
  return create(StorageScanRespSchema, {
    nvme: {
      ctrlrs: [{
        pciAddr: "0000:01:00.0",
        model: "model-1",
        fwRev: "fwRev-1",
        socketId: 1,
        namespaces: [{ id: 1, size: 2000000000000n }],
        smdDevices: [{ rank: 0, roleBits: 0 }],
      }],
    },
    memInfo: { hugepageSizeKb: 2048 },
  });
}

Deno.test("storage scan table matches dmg.md §5.8 example byte for byte", () => {
  const groups = groupPayloads([
    { addr: "host1:10001", payload: withModule() },
    { addr: "host2:10001", payload: withNvme() },
  ], storageFingerprint);
  equal(
    formatScanTable(groups),
    "Hosts SCM Total          NVMe Total            \n" +
      "----- ---------          ----------            \n" +
      "host1 954 MiB (1 module) 0 B (0 controllers)   \n" +
      "host2 0 B (0 modules)    2.0 TB (1 controller) \n",
  );
});

Deno.test("storage scan groups hosts whose only differences are volatile", () => {
  const a = withModule();
  const b = withModule();
  b.memInfo!.hugepagesFree = 99n;
  b.memInfo!.memAvailableKb = 12n;
  const groups = groupPayloads([
    { addr: "host1:1", payload: a },
    { addr: "host3:1", payload: b },
    { addr: "host2:1", payload: withNvme() },
  ], storageFingerprint);
  equal(groups.length, 2);
  equal(groups[0].hosts.toString(), "host2:1");
  equal(groups[1].hosts.toString(), "host[1,3]:1");
});

Deno.test("storage scan -v block matches dmg.md §5.8 verbose example", () => {
  const s = withModule();
  s.nvme = withNvme().nvme;
  const groups = groupPayloads([{ addr: "host1:10001", payload: s }], storageFingerprint);
  equal(
    formatScanVerbose(groups),
    "-----\nhost1\n-----\nHugePage Size: 2048 KB\n\n" +
      "SCM Module Socket Memory Ctrlr Channel Channel Slot Capacity UID     Part Number Health  \n" +
      "---------- ------ ------------ ------- ------------ -------- ---     ----------- ------  \n" +
      "1          1      1            1       1            954 MiB  Device1 PartNumber1 Healthy \n" +
      "\n" +
      "NVMe PCI     Model   FW Revision Socket Capacity Role(s) Rank \n" +
      "--------     -----   ----------- ------ -------- ------- ---- \n" +
      "0000:01:00.0 model-1 fwRev-1     1      2.0 TB   NA      0    \n" +
      "\n",
  );
});

Deno.test("scanResultParts: failed parts become host errors and contribute nothing", () => {
  const r = withNvme();
  r.nvme!.state = create(ResponseStateSchema, {
    status: ResponseStatus.CTL_ERR_NVME,
    error: "nvme scan failed",
  });
  r.scm = create(StorageScanRespSchema, {
    scm: { state: { status: ResponseStatus.CTL_ERR_SCM, error: "", info: "why" } },
  }).scm;
  const { errors, storage } = scanResultParts(r);
  equal(errors.map((e) => e.message).join("|"), "nvme scan failed|unknown error (why)");
  equal(storage.nvme?.ctrlrs.length, 0);
  ok(storage.memInfo);
});

Deno.test("network scan block matches dmg.md §5.11 layout", () => {
  const resp = create(NetworkScanRespSchema, {
    numacount: 2,
    corespernuma: 24,
    interfaces: [
      { provider: "ofi+tcp", device: "ib0", numanode: 0 },
      { provider: "ofi+verbs", device: "ib0", numanode: 0 },
      { provider: "ofi+tcp", device: "eth0", numanode: 0 },
      { provider: "ofi+tcp", device: "ib1", numanode: 1 },
      { provider: "ofi+verbs", device: "ib1", numanode: 1 },
      { provider: "ofi+tcp", device: "eth1", numanode: 1 },
    ],
  });
  const groups = groupPayloads([
    { addr: "wolf-1:10001", payload: resp },
    { addr: "wolf-2:10001", payload: resp },
  ], fabricFingerprint);
  equal(
    formatNetworkScan(groups),
    "----------\nwolf-[1-2]\n----------\n\n" +
      "    -------------\n    NUMA Socket 0\n    -------------\n\n" +
      "        Provider  Interfaces \n        --------  ---------- \n" +
      "        ofi+tcp   ib0, eth0  \n        ofi+verbs ib0        \n\n" +
      "    -------------\n    NUMA Socket 1\n    -------------\n\n" +
      "        Provider  Interfaces \n        --------  ---------- \n" +
      "        ofi+tcp   ib1, eth1  \n        ofi+verbs ib1        \n\n",
  );
});
