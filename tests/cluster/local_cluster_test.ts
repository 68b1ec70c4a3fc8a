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

Deno.test("LocalCluster.destroy fails on a process it leaves behind, after killing it", async () => {
  const c = await LocalCluster.create({ servers: 1, engines: 1 });
  // Stands in for an orphaned engine or etcd member: not in any server's process group, but
  // its command line names a file of the cluster.
  const orphan = new Deno.Command("tail", {
    args: ["-f", c.servers[0].configPath],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await rejects(
      () => c.destroy(),
      (e: Error) =>
        new RegExp(`process left after teardown: pid ${orphan.pid}: \\S*tail -f `).test(e.message),
    );
    assertEquals((await orphan.status).signal, "SIGKILL");
    assert(!(await Deno.stat(c.root).then(() => true, () => false)), "temp tree removed anyway");
  } finally {
    try {
      orphan.kill("SIGKILL");
    } catch { /* killed by destroy */ }
    await orphan.status;
  }
});

Deno.test("LocalCluster.destroy unmounts a tmpfs below its root and reports nothing left", async () => {
  const c = await LocalCluster.create({ servers: 1, engines: 1 });
  const mnt = `${c.root}/srv1/scm0`;
  await Deno.mkdir(mnt, { recursive: true });
  const m = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt],
    stderr: "piped",
  }).output();
  assert(m.success, new TextDecoder().decode(m.stderr));
  await c.destroy();
  const mounts = await Deno.readTextFile("/proc/self/mountinfo");
  assert(!mounts.includes(c.root), "mount gone");
  assert(!(await Deno.stat(c.root).then(() => true, () => false)), "temp tree removed");
});
