/**
 * The scale bench's simulated hosts (tests/bench/scale): several real daos_servers in one
 * process with stand-in engines, driven through bin/dmg; and the stand-in engine itself.
 */
import { deepEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { dmgOk, groupAlive, Simulation } from "../bench/scale/sim_client.ts";
import { buildStandinEngine } from "../bench/scale/standin.ts";

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

Deno.test("simulated hosts: format, all joined, system stop/start via bin/dmg; close leaves nothing", async () => {
  const sim = await Simulation.start(2, 2);
  const { pid, dir } = sim;
  try {
    assertEquals(sim.ready.hosts.map((h) => h.split(":")[0]), ["127.0.1.1", "127.0.1.2"]);
    await sim.dmg(["storage", "format"]);
    await sim.waitState("joined", 4, 60_000);
    // Format mounted tmpfs in the simulator's own mount namespace only.
    assert(!(await Deno.readTextFile("/proc/self/mountinfo")).includes(dir));
    const q = JSON.parse((await sim.dmg(["-j", "system", "query"])).stdout);
    const members = q.response.members as { rank: number; addr: string; state: string }[];
    assertEquals(members.map((m) => m.rank).sort(), [0, 1, 2, 3]);
    assertEquals(new Set(members.map((m) => m.addr.split(":")[0])).size, 2);
    const mem = await sim.memory();
    assertEquals(mem.engines, 4);
    assert(mem.simRss > 0 && mem.enginesRss > 0 && mem.etcdRss > 0, JSON.stringify(mem));
    assert((await sim.cpuSec()) > 0);

    await sim.dmg(["system", "stop"]);
    await sim.waitState("stopped", 4, 60_000);
    assertEquals((await sim.memory()).engines, 0, "engine processes gone after system stop");
    await sim.dmg(["system", "start"]);
    await sim.waitState("joined", 4, 60_000);
    assertEquals((await sim.memory()).engines, 4);
    assertEquals(await sim.errorLines(), "");
  } finally {
    await sim.close();
  }
  assert(!groupAlive(pid), "no process of the simulation left");
  assert(!(await exists(dir)), "temp dir removed");
});

Deno.test("dmgOk: a failing dmg command throws with its exit code and output", async () => {
  await rejects(
    () => dmgOk(["-i", "-l", "127.0.0.1:1", "system", "frobnicate"]),
    /dmg -i -l 127\.0\.0\.1:1 system frobnicate exited 1:\n[^]*frobnicate/,
  );
});

Deno.test("stand-in engine: bad arguments exit 1 naming them; SIGTERM stops it with 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "standin-test-" });
  let child: Deno.ChildProcess | undefined;
  try {
    const exe = await buildStandinEngine(dir);
    const bad = await new Deno.Command(exe, { args: ["-t", "1"], stdin: "null" }).output();
    assertEquals(bad.code, 1);
    assert(new TextDecoder().decode(bad.stderr).startsWith("daos_engine: "));

    await Deno.mkdir(`${dir}/scm`);
    await Deno.mkdir(`${dir}/run`);
    child = new Deno.Command(exe, {
      args: ["-t", "1", "-x", "0", "-g", "daos_server", "-d", `${dir}/run`, "-I", "0", "-T", "1"]
        .concat(["-s", `${dir}/scm`]),
      env: { D_PROVIDER: "ofi+tcp", DAOS_FABRIC_ADDR: "127.0.0.1", D_PORT: "0" },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    // Listening once its dRPC socket exists (bounded poll).
    const sock = `${dir}/run/daos_engine_${child.pid}.sock`;
    for (let i = 0; i < 100 && !(await exists(sock)); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert(await exists(sock), "dRPC socket created");
    child.kill("SIGTERM");
    assertEquals((await child.status).code, 0);
    child = undefined;
    assert(!(await exists(sock)), "dRPC socket removed on stop");
  } finally {
    if (child) {
      child.kill("SIGKILL");
      await child.status;
    }
    await Deno.remove(dir, { recursive: true });
  }
});
