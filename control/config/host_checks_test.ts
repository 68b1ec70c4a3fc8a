import assert from "node:assert/strict";
import { checkServerConfigText } from "./load.ts";
import {
  checkControlIfaceReplica,
  checkNetDevClasses,
  checkThp,
  netDevClassName,
  thpAlways,
} from "./host_checks.ts";
import type { ServerConfig } from "./types.ts";

function engine(i: number, iface: string): string {
  return `  - targets: 4
    fabric_iface: ${iface}
    fabric_iface_port: ${31416 + i * 100}
    log_file: /tmp/e${i}.log
    storage:
      - class: ram
        scm_mount: /mnt/daos${i}
        scm_size: 4
`;
}

function config(extra: string, ifaces: string[] = ["lo"]): ServerConfig {
  const text = `name: daos_server
provider: ofi+tcp
transport_config:
  allow_insecure: true
${extra}engines:
${ifaces.map((f, i) => engine(i, f)).join("")}`;
  const { config, problems } = checkServerConfigText(text, "t.yml");
  assert.deepEqual(problems, []);
  assert(config);
  return config;
}

Deno.test("THP [always] is fault 624 unless allow_thp or disable_hugepages", () => {
  assert.equal(thpAlways("[always] madvise never\n"), true);
  assert.equal(thpAlways("always [madvise] never\n"), false);
  assert.equal(thpAlways(null), false);
  const p = checkThp(config(""), "[always] madvise never\n");
  assert.equal(p.length, 1);
  assert.equal(p[0].code, 624);
  assert.deepEqual(p[0].path, ["allow_thp"]);
  assert.match(p[0].message, /transparent hugepages are enabled on this host/);
  assert.match(p[0].resolution, /set allow_thp: true/);
  assert.deepEqual(checkThp(config("allow_thp: true\n"), "[always] madvise never"), []);
  assert.deepEqual(checkThp(config("disable_hugepages: true\n"), "[always] madvise never"), []);
  assert.deepEqual(checkThp(config(""), "always madvise [never]"), []);
});

Deno.test("engines' fabric interfaces of different device classes are fault 613", () => {
  const cfg = config("", ["eth0", "ib0", "eth1"]);
  const classes = new Map([["eth0", 1], ["ib0", 32], ["eth1", 1]]);
  const p = checkNetDevClasses(cfg, classes);
  assert.equal(p.length, 1);
  assert.equal(p[0].code, 613);
  assert.deepEqual(p[0].path, ["engines", 1, "fabric_iface"]);
  assert.equal(
    p[0].message,
    'I/O Engine 1 specifies fabric_iface "ib0" of class "INFINIBAND" that conflicts with ' +
      'the primary server\'s device class "ETHER"',
  );
  assert.deepEqual(checkNetDevClasses(cfg, new Map([["eth0", 1], ["ib0", 1], ["eth1", 1]])), []);
  // Unknown classes (interface absent) are left to the interface checks.
  assert.deepEqual(checkNetDevClasses(cfg, new Map([["eth0", 1]])), []);
  assert.equal(netDevClassName(772), "LOOPBACK");
  assert.equal(netDevClassName(24), "class 24");
});

Deno.test("a replica host whose control_iface has another address is fault 740", () => {
  const cfg = config("control_iface: eth1\nmgmt_svc_replicas: [10.0.0.1]\n");
  const local = ["10.0.0.1", "10.1.0.1", "127.0.0.1"];
  const p = checkControlIfaceReplica(cfg, ["10.1.0.1"], local, ["10.0.0.1"]);
  assert.equal(p?.code, 740);
  assert.deepEqual(p?.path, ["control_iface"]);
  assert.match(
    p!.message,
    /control_iface "eth1" address 10\.1\.0\.1 does not match .* 10\.0\.0\.1/,
  );
  // The iface holds the replica address; or this host is no replica at all.
  assert.equal(checkControlIfaceReplica(cfg, ["10.0.0.1"], local, ["10.0.0.1"]), null);
  assert.equal(checkControlIfaceReplica(cfg, ["10.1.0.1"], ["10.1.0.1"], ["10.0.0.1"]), null);
  const noIface = config("mgmt_svc_replicas: [10.0.0.1]\n");
  assert.equal(checkControlIfaceReplica(noIface, [], local, ["10.0.0.1"]), null);
});
