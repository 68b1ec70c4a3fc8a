import { deepEqual, equal, throws } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { NetworkScanRespSchema } from "../../proto/gen/ts/ctl/network_pb.ts";
import { StorageScanRespSchema } from "../../proto/gen/ts/ctl/storage_pb.ts";
import {
  defaultConfGenerateRequest,
  generatedConfigYaml,
  generateServerConfig,
  threadCounts,
} from "./generate.ts";
import { checkServerConfigText } from "./load.ts";

/** Two NUMA nodes of 16 cores; ib0/ib1 (verbs, tcp) and eth0 (tcp) on node 0. */
function fabric() {
  const ib = (device: string, numanode: number) => [
    { provider: "ofi+verbs;ofi_rxm", device, numanode, priority: 0, netdevclass: 32 },
    { provider: "ofi+verbs", device, numanode, priority: 1, netdevclass: 32 },
    { provider: "ofi+tcp;ofi_rxm", device, numanode, priority: 2, netdevclass: 32 },
  ];
  return create(NetworkScanRespSchema, {
    interfaces: [
      ...ib("ib1", 1),
      ...ib("ib0", 0),
      { provider: "ofi+tcp;ofi_rxm", device: "eth0", numanode: 0, priority: 0, netdevclass: 1 },
    ],
    numacount: 2,
    corespernuma: 16,
  });
}

/** PMem namespace and SSDs on each node (three on node 0, two on node 1). */
function storage() {
  const ctrlr = (pciAddr: string, socketId: number) => ({ pciAddr, socketId });
  return create(StorageScanRespSchema, {
    scm: {
      namespaces: [
        { blockdev: "pmem1", numaNode: 1, size: 1n << 40n },
        { blockdev: "pmem0", numaNode: 0, size: 1n << 40n },
      ],
    },
    nvme: {
      ctrlrs: [
        ctrlr("0000:81:00.0", 1),
        ctrlr("0000:02:00.0", 0),
        ctrlr("0000:01:00.0", 0),
        ctrlr("0000:82:00.0", 1),
        ctrlr("0000:03:00.0", 0),
      ],
    },
  });
}

function validates(yaml: string) {
  const { config, problems } = checkServerConfigText(yaml, "generated.yml");
  deepEqual(problems, []);
  return config!;
}

Deno.test("threadCounts: one core kept, targets a multiple of the SSD count, helpers from the rest", () => {
  deepEqual(threadCounts(16, 3), { targets: 15, helpers: 0 });
  deepEqual(threadCounts(16, 2), { targets: 14, helpers: 1 });
  deepEqual(threadCounts(16, 0), { targets: 15, helpers: 0 });
  deepEqual(threadCounts(2, 4), { targets: 4, helpers: 0 });
  throws(() => threadCounts(1, 0), /1 core\(s\) per engine leave no core for I\/O targets/);
});

Deno.test("generate: an engine per NUMA node with its interface, PMem and SSDs, the same counts on each; validates", () => {
  const cfg = generateServerConfig(defaultConfGenerateRequest(), fabric(), storage());
  const yaml = generatedConfigYaml(cfg);
  const parsed = validates(yaml);
  equal(parsed.fabric.provider, "ofi+verbs;ofi_rxm");
  deepEqual(parsed.mgmtSvcReplicas, ["localhost:10001"]);
  deepEqual(
    parsed.engines.map((e) => [
      e.fabric.fabricIface,
      e.fabric.fabricIfacePort,
      e.pinnedNumaNode,
      e.scm!.class,
      e.scm!.scmList,
      e.bdevs[0].bdevList,
      e.targets,
      e.nrXsHelpers,
    ]),
    [
      [
        "ib0",
        31416,
        0,
        "dcpm",
        ["/dev/pmem0"],
        ["0000:01:00.0", "0000:02:00.0", "0000:03:00.0"],
        14,
        0,
      ],
      ["ib1", 32416, 1, "dcpm", ["/dev/pmem1"], ["0000:81:00.0", "0000:82:00.0"], 14, 0],
    ],
  );
});

Deno.test("generate: tmpfs + MD-on-SSD, ethernet, one engine, ports and replicas given", () => {
  const req = {
    ...defaultConfGenerateRequest(),
    nrEngines: 1,
    netClass: "ethernet" as const,
    useTmpfsScm: true,
    controlMetadataPath: "/var/daos/md",
    msReplicas: ["10.0.0.1", "10.0.0.2", "10.0.0.3:10005"],
    fabricPorts: [40000],
  };
  const cfg = validates(generatedConfigYaml(generateServerConfig(req, fabric(), storage())));
  equal(cfg.controlMetadata.path, "/var/daos/md");
  const e = cfg.engines[0];
  deepEqual([e.fabric.fabricIface, e.fabric.fabricIfacePort, e.scm!.class, e.bdevs[0].roleBits], [
    "eth0",
    40000,
    "ram",
    7,
  ]);
  // Cores of both nodes go to the one engine.
  equal(e.targets, 30);
  deepEqual(cfg.mgmtSvcReplicas, ["10.0.0.1:10001", "10.0.0.2:10001", "10.0.0.3:10005"]);
  const ramOnly = { ...defaultConfGenerateRequest(), scmOnly: true, useTmpfsScm: true };
  const r = validates(generatedConfigYaml(generateServerConfig(ramOnly, fabric(), storage())));
  deepEqual(r.engines.map((x) => x.bdevs.length), [0, 0]);
});

Deno.test("generate: refusals name what is missing", () => {
  const base = defaultConfGenerateRequest();
  const noIb = create(NetworkScanRespSchema, {
    interfaces: fabric().interfaces.filter((i) => i.netdevclass === 1),
    numacount: 2,
    corespernuma: 16,
  });
  throws(
    () => generateServerConfig(base, noIb, storage()),
    /insufficient number of infiniband network interfaces on separate NUMA nodes \(want 2, got 0\)/,
  );
  throws(
    () => generateServerConfig({ ...base, netClass: "ethernet" }, fabric(), storage()),
    /ethernet network interfaces supporting ofi\+tcp;ofi_rxm on separate NUMA nodes \(want 2, got 1\)/,
  );
  const noPmem = storage();
  noPmem.scm!.namespaces = [];
  throws(
    () => generateServerConfig(base, fabric(), noPmem),
    /no PMem namespace on NUMA node 0 for engine 0/,
  );
  const fewSsd = storage();
  fewSsd.nvme!.ctrlrs = fewSsd.nvme!.ctrlrs.filter((c) => c.socketId === 0);
  throws(
    () => generateServerConfig(base, fabric(), fewSsd),
    /no NVMe SSD on NUMA node 1 for engine 1/,
  );
  throws(
    () => generateServerConfig({ ...base, useTmpfsScm: true }, fabric(), storage()),
    /--use-tmpfs-scm will generate an md-on-ssd config and so --control-metadata-path must also be set/,
  );
  throws(
    () =>
      generateServerConfig(
        { ...base, scmOnly: true, controlMetadataPath: "/md" },
        fabric(),
        storage(),
      ),
    /needs NVMe SSDs: drop --scm-only/,
  );
  throws(
    () => generateServerConfig({ ...base, nrEngines: 3 }, fabric(), storage()),
    /3 engines requested but the host has 2 NUMA node/,
  );
  throws(
    () => generateServerConfig({ ...base, fabricPorts: [1] }, fabric(), storage()),
    /1 port\(s\) given for 2 engine/,
  );
  throws(
    () => generateServerConfig({ ...base, netProvider: "ofi+psm2" }, fabric(), storage()),
    /supporting ofi\+psm2/,
  );
});
