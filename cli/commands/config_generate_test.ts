/**
 * `dmg config generate` on a MockInvoker: the YAML (the shared generator's output on the scans
 * every host gave) and its -j form, the scans requested, hosts whose hardware differs, host
 * errors, no answers, and bad flags.
 */
import { deepEqual, equal, match, rejects } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { parse } from "yaml";
import {
  defaultConfGenerateRequest,
  generatedConfigYaml,
  generateServerConfig,
} from "../../control/config/generate.ts";
import { checkServerConfigText } from "../../control/config/load.ts";
import { configGenerate } from "../../control/lib/control/config_generate.ts";
import { MockInvoker, refused } from "../../control/lib/control/mock_invoker.ts";
import { ResponseStateSchema } from "../../proto/gen/ts/ctl/common_pb.ts";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { type NetworkScanReq, NetworkScanRespSchema } from "../../proto/gen/ts/ctl/network_pb.ts";
import { type StorageScanReq, StorageScanRespSchema } from "../../proto/gen/ts/ctl/storage_pb.ts";
import { runDmg } from "../testing/dmg_harness.ts";

const NET = CtlSvc.method.networkScan;
const STO = CtlSvc.method.storageScan;

/** Two NUMA nodes of 8 cores, ib0 on node 0 and ib1 on node 1 (verbs, tcp). */
function fabric(numacount = 2) {
  const ib = (device: string, numanode: number) => [
    { provider: "ofi+verbs", device, numanode, priority: 0, netdevclass: 32 },
    { provider: "ofi+tcp", device, numanode, priority: 2, netdevclass: 32 },
  ];
  return create(NetworkScanRespSchema, {
    interfaces: [...ib("ib0", 0), ...ib("ib1", 1)],
    numacount,
    corespernuma: 8,
  });
}

/** A PMem namespace and two SSDs on each node. */
function storage(extraSsd = false) {
  return create(StorageScanRespSchema, {
    scm: {
      namespaces: [
        { blockdev: "pmem0", numaNode: 0, size: 1n << 40n, uuid: "u0" },
        { blockdev: "pmem1", numaNode: 1, size: 1n << 40n, uuid: "u1" },
      ],
    },
    nvme: {
      ctrlrs: [
        { pciAddr: "0000:01:00.0", socketId: 0, model: "A", serial: "s1" },
        { pciAddr: "0000:02:00.0", socketId: 0, model: "A", serial: "s2" },
        { pciAddr: "0000:81:00.0", socketId: 1, model: "A", serial: "s3" },
        { pciAddr: "0000:82:00.0", socketId: 1, model: "A", serial: "s4" },
        ...(extraSsd ? [{ pciAddr: "0000:83:00.0", socketId: 1 }] : []),
      ],
    },
  });
}

function alike(): MockInvoker {
  return new MockInvoker().reply(NET, fabric()).reply(STO, storage());
}

Deno.test("config generate: the shared generator's YAML for the hosts' one hardware set; it validates", async () => {
  const m = alike()
    // Serials, UUIDs and models differ between hosts of the same layout: still alike.
    .reply(
      STO,
      (() => {
        const s = storage();
        s.nvme!.ctrlrs.forEach((c) => (c.serial += "x", c.model = "B"));
        s.scm!.namespaces.forEach((n) => n.uuid += "x");
        return s;
      })(),
      "h2:10001",
    );
  const r = await runDmg(["config", "generate", "-r", "h1,h2,h3"], m);
  equal(r.code, 0, r.err);
  equal(r.err, "");
  const want = generateServerConfig(
    { ...defaultConfGenerateRequest(), msReplicas: ["h1", "h2", "h3"] },
    fabric(),
    storage(),
  );
  equal(r.out, generatedConfigYaml(want));
  const { problems } = checkServerConfigText(r.out, "generated.yml");
  deepEqual(problems, []);
  const doc = parse(r.out);
  deepEqual(doc.engines.map((e: { fabric_iface: string }) => e.fabric_iface), ["ib0", "ib1"]);
  deepEqual(doc.mgmt_svc_replicas, ["h1", "h2", "h3"]);
  // Every host asked for every provider's interfaces and a basic NVMe scan.
  deepEqual(m.calls.map((c) => c.method), [
    "NetworkScan",
    "NetworkScan",
    "StorageScan",
    "StorageScan",
  ]);
  deepEqual(m.calls.slice(0, 2).map((c) => c.addr).sort(), ["h1:10001", "h2:10001"]);
  deepEqual(m.calls.slice(2).map((c) => c.addr).sort(), ["h1:10001", "h2:10001"]);
  equal((m.requests(NET)[0] as NetworkScanReq).provider, "all");
  equal((m.requests(STO)[0] as StorageScanReq).nvme?.Basic, true);
});

Deno.test("config generate -j: the config object as the response; flags reach the generator", async () => {
  const m = alike();
  const r = await runDmg(
    ["-j", "config", "generate", "-l", "h1", "-e", "1", "-s", "-t", "-p", "ofi+tcp", "-f", "4000"],
    m,
  );
  equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out);
  equal(doc.error, null);
  equal(doc.status, 0);
  const cfg = doc.response;
  equal(cfg.engines.length, 1);
  deepEqual(cfg.engines[0].storage, [{ class: "ram", scm_mount: "/mnt/daos0" }]);
  equal(cfg.engines[0].fabric_iface_port, 4000);
  equal(cfg.provider, "ofi+tcp");
  deepEqual(cfg.mgmt_svc_replicas, ["localhost"]);
  deepEqual(m.calls.map((c) => c.addr), ["h1:10001", "h1:10001"]);
});

Deno.test("config generate -a: deprecated, NOTICE, value used as the MS replicas", async () => {
  const r = await runDmg(["config", "gen", "-a", "ap1,ap2"], alike());
  equal(r.code, 0, r.err);
  equal(r.err, "NOTICE: access-points is deprecated; please use ms-replicas instead\n");
  deepEqual(parse(r.out).mgmt_svc_replicas, ["ap1", "ap2"]);
});

Deno.test("config generate: hosts whose fabric differs are refused, naming each host set", async () => {
  const m = alike().reply(NET, fabric(1), "h2:10001");
  const r = await runDmg(["config", "generate"], m);
  equal(r.code, 1);
  equal(r.out, "");
  match(r.err, /different network hardware:\n {2}h1\n {2}h2\n/);
  match(r.err, /ERROR: dmg: network hardware not consistent across hosts\n$/);
  equal(m.requests(STO).length, 0);

  const j = await runDmg(["-j", "config", "generate"], m);
  equal(j.code, 1);
  equal(JSON.parse(j.out).error, "network hardware not consistent across hosts");
});

Deno.test("config generate: hosts whose storage differs are refused", async () => {
  const m = alike().reply(STO, storage(true), "h2:10001");
  const r = await runDmg(["config", "generate"], m);
  equal(r.code, 1);
  equal(r.out, "");
  match(r.err, /different storage hardware:\n {2}h1\n {2}h2\n/);
  match(r.err, /ERROR: dmg: storage hardware not consistent across hosts\n$/);
});

Deno.test("config generate: a host error ends it with the Errors: block, no config", async () => {
  const m = alike().on(NET, (_r, addr) => {
    throw refused(addr);
  }, "h2:10001");
  const r = await runDmg(["config", "generate"], m);
  equal(r.code, 1);
  equal(r.out, "");
  match(r.err, /^ERROR: Errors:\n {2}Hosts Error/);
  match(r.err, /h2 +the server at h2:10001 refused the connection/);
  match(r.err, /ERROR: dmg: 1 host had errors\n$/);
  equal(m.requests(STO).length, 0);

  const j = await runDmg(["-j", "config", "generate"], m);
  equal(j.code, 1);
  const doc = JSON.parse(j.out);
  equal(doc.error, "1 host had errors");
  deepEqual(Object.values(doc.response.host_errors), ["h2:10001"]);
});

Deno.test("config generate: a failed storage part is a host error too", async () => {
  const bad = storage();
  bad.scm!.state = create(ResponseStateSchema, { status: -1, error: "scm scan failed: no ipmctl" });
  const m = alike().reply(STO, bad, "h1:10001");
  const r = await runDmg(["config", "generate"], m);
  equal(r.code, 1);
  match(r.err, /h1 +scm scan failed: no ipmctl/);
  match(r.err, /1 host had errors\n$/);
});

Deno.test("configGenerate: no host answering at all is 'no host responses'", async () => {
  await rejects(
    configGenerate(
      new MockInvoker(),
      { targets: [], deadline: Date.now() + 1000 },
      defaultConfGenerateRequest(),
    ),
    /^Error: no host responses$/,
  );
});

Deno.test("config generate: bad flags and the generator's refusals name the fix", async () => {
  const cases: [string[], RegExp][] = [
    [["-c", "token-ring"], /Invalid value `token-ring' for option `-c, --net-class'/],
    [["-e", "two"], /invalid argument for flag `-e, --num-engines'/],
    [["-f", "70000"], /invalid argument for flag `-f, --fabric-ports'.*"70000"/],
    [["-e", "3"], /3 engines requested but the host has 2 NUMA node\(s\)/],
    [["-t"], /--control-metadata-path must also be set/],
    [["-c", "ethernet"], /insufficient number of ethernet network interfaces/],
    [["-f", "1,2,3"], /--fabric-ports: 3 port\(s\) given for 2 engine\(s\)/],
    [["--bogus"], /unknown flag `bogus'/],
  ];
  for (const [flags, want] of cases) {
    const r = await runDmg(["config", "generate", ...flags], alike());
    equal(r.code, 1, flags.join(" "));
    equal(r.out, "", flags.join(" "));
    match(r.err, want, flags.join(" "));
  }
});

Deno.test("config generate -d: diagnostics on stderr, stdout still only the YAML", async () => {
  const r = await runDmg(["-d", "config", "generate", "-e", "1"], alike());
  equal(r.code, 0, r.err);
  match(r.err, /network hardware is consistent on 2 host\(s\): 4 interface\(s\), 2 NUMA node/);
  match(r.err, /storage hardware is consistent: 2 PMem namespace\(s\), 4 NVMe SSD\(s\)/);
  equal(parse(r.out).engines.length, 1);
  match(r.out, /^name: daos_server\n/);
});
