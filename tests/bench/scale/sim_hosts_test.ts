import { deepEqual as assertEquals } from "node:assert/strict";
import { checkServerConfigText } from "../../../control/config/load.ts";
import { hostRanges } from "./sim_client.ts";
import { hostConfigText, hostIp } from "./sim_hosts.ts";

Deno.test("hostIp: 250 hosts per 127.0.x block, never .0 or .255", () => {
  assertEquals(
    [0, 1, 249, 250, 511, 1023].map(hostIp),
    ["127.0.1.1", "127.0.1.2", "127.0.1.250", "127.0.2.1", "127.0.3.12", "127.0.5.24"],
  );
  assertEquals(new Set(Array.from({ length: 1024 }, (_, i) => hostIp(i))).size, 1024);
});

Deno.test("hostConfigText: a valid config per host, engines on the host's own address", () => {
  const base = { dir: "/x", engines: 2, port: 10001, dbClient: 2379, dbPeer: 2380 };
  const replica = "127.0.1.1:10001";
  for (const index of [0, 300]) {
    const path = `/x/h${index}/daos_server.yml`;
    const { config, problems } = checkServerConfigText(
      hostConfigText({ ...base, index, replica }),
      path,
    );
    assertEquals(problems, []);
    const ip = hostIp(index);
    assertEquals(config!.controlAddress, ip);
    assertEquals(config!.port, 10001);
    assertEquals(config!.mgmtSvcReplicas, [replica]);
    assertEquals(config!.faultPath, `/sim${index}`);
    assertEquals(config!.socketDir, `/x/h${index}/run`);
    assertEquals(config!.engines.map((e) => e.fabric.fabricIfacePort), [31416, 31417]);
    assertEquals(config!.engines.map((e) => e.envVars), [
      [`DAOS_FABRIC_ADDR=${ip}`],
      [`DAOS_FABRIC_ADDR=${ip}`],
    ]);
    assertEquals(config!.engines.map((e) => [e.scm?.scmMount, e.bdevs.length]), [
      [`/x/h${index}/scm0`, 0],
      [`/x/h${index}/scm1`, 0],
    ]);
  }
});

Deno.test("hostRanges: control IPs folded per 127.0.x block for daos_control.yml", () => {
  const addrs = Array.from({ length: 512 }, (_, i) => `${hostIp(i)}:10001`);
  assertEquals(hostRanges(addrs), ["127.0.1.[1-250]", "127.0.2.[1-250]", "127.0.3.[1-12]"]);
  assertEquals(hostRanges(["127.0.1.1:10001"]), ["127.0.1.1"]);
});
