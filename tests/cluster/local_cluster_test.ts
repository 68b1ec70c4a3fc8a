import { deepEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { checkServerConfigText } from "../../control/config/load.ts";
import { LocalCluster } from "./local_cluster.ts";

Deno.test("LocalCluster.create: valid configs, replicas first, distinct ports; destroy removes all", async () => {
  const c = await LocalCluster.create({ servers: 3, replicas: 1, engines: 2 });
  let root = "";
  try {
    root = c.root;
    assertEquals(c.servers.map((s) => [s.addr, s.isReplica]), [
      [`127.0.0.1:${c.port}`, true],
      [`127.0.0.2:${c.port}`, false],
      [`127.0.0.3:${c.port}`, false],
    ]);
    const fabricPorts: number[] = [];
    for (const s of c.servers) {
      const text = await Deno.readTextFile(s.configPath);
      const { config, problems } = checkServerConfigText(text, s.configPath);
      assertEquals(problems, []);
      assertEquals(config!.controlAddress, s.ip);
      assertEquals(config!.mgmtSvcReplicas, [`127.0.0.1:${c.port}`]);
      assertEquals(config!.engines.map((e) => e.scm?.scmSize), [4, 4]);
      assertEquals(config!.engines.map((e) => e.bdevs[0].bdevSize), [1, 1]);
      assertEquals(config!.systemRamReserved, 1);
      fabricPorts.push(...config!.engines.map((e) => e.fabric.fabricIfacePort));
      assert((await Deno.stat(s.socketDir)).isDirectory);
    }
    assertEquals(new Set(fabricPorts).size, 6, `fabric ports ${fabricPorts}`);
    assert(!fabricPorts.includes(c.port));
    assert((await Deno.readTextFile(c.dmgConfigPath)).includes(`port: ${c.port}`));
    assertEquals(c.server("127.0.0.2").index, 1);
    await rejects(() => c.stop(0), /is not running/);
  } finally {
    await c.destroy();
  }
  assert(!(await Deno.stat(root).then(() => true, () => false)), "temp tree removed");
});

Deno.test("LocalCluster.create rejects an even or too large replica count", async () => {
  await rejects(() => LocalCluster.create({ servers: 3, replicas: 2 }), /replicas must be odd/);
  await rejects(() => LocalCluster.create({ servers: 1, replicas: 3 }), /within 1..servers/);
});
