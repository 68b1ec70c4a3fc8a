import { deepEqual as assertEquals } from "node:assert/strict";
import { checkServerConfigText } from "../config/load.ts";
import type { ServerConfig } from "../config/types.ts";
import { replicaRole, resolveIPv4 } from "./ms_replicas.ts";

function cfg(replicas: string): ServerConfig {
  const { config, problems } = checkServerConfigText(
    `name: daos_server\nport: 10001\nmgmt_svc_replicas: [${replicas}]\nengines: []\n`,
    "/t/daos_server.yml",
  );
  if (!config) throw new Error(JSON.stringify(problems));
  return config;
}

const noAddrs = () => Promise.resolve([] as string[]);

Deno.test("replicaRole: the control address decides; the first entry bootstraps", async () => {
  const c = cfg("127.0.0.1, 127.0.0.2:10001, 127.0.0.3:10002");
  assertEquals(await replicaRole(c, "127.0.0.1", noAddrs), {
    replicas: ["127.0.0.1:10001", "127.0.0.2:10001", "127.0.0.3:10002"],
    self: "127.0.0.1:10001",
    bootstrap: true,
  });
  const second = await replicaRole(c, "127.0.0.2", noAddrs);
  assertEquals([second.self, second.bootstrap], ["127.0.0.2:10001", false]);
  // Port not compared: the replica address keeps the configured port.
  assertEquals((await replicaRole(c, "127.0.0.3", noAddrs)).self, "127.0.0.3:10002");
  assertEquals((await replicaRole(c, "127.0.0.4", noAddrs)).self, null);
});

Deno.test("replicaRole: localhost resolves to 127.0.0.1; 0.0.0.0 compares every local address", async () => {
  assertEquals((await replicaRole(cfg("localhost"), "127.0.0.1", noAddrs)).replicas, [
    "127.0.0.1:10001",
  ]);
  const c = cfg("10.9.8.7, 127.0.0.9");
  const r = await replicaRole(c, "0.0.0.0", () => Promise.resolve(["::1", "127.0.0.9"]));
  assertEquals([r.self, r.bootstrap], ["127.0.0.9:10001", false]);
  assertEquals((await replicaRole(c, "0.0.0.0", noAddrs)).self, null);
  assertEquals(await resolveIPv4("192.168.1.2"), "192.168.1.2");
});
