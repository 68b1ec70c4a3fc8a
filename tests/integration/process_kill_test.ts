/**
 * kill -9 of each process kind of a running system, then a restart (issue 15 item 5): an
 * engine, an etcd member, a daos_server alone (not its process group: its children must go by
 * themselves), and the MS leader's daos_server. After each: no orphan process names the killed
 * server's files, the system comes back, and the control log holds no restart storm.
 */
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { LocalCluster } from "../cluster/local_cluster.ts";

/** Hang guard for waits (not a speed limit: speed is the bench's). */
const BOUND_MS = 60_000;
/** How long the log is watched for restart lines after the system is back. */
const WATCH_MS = 2000;

async function leader(c: LocalCluster): Promise<string> {
  const r = await c.dmgJson<{ current_leader: string }>(["system", "leader-query"]);
  if (!r.response?.current_leader) throw new Error(`no leader: ${r.error}`);
  return r.response.current_leader;
}

async function cmdline(pid: number): Promise<string> {
  return (await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "")).replaceAll("\0", " ");
}

/** pid of the server's etcd member (its data dir is below the server's dir). */
async function etcdPid(c: LocalCluster, which: number): Promise<number | null> {
  for (const pid of await c.processes(which)) {
    if (/\betcd --name /.test(await cmdline(pid))) return pid;
  }
  return null;
}

/** Lines of the server's control log written after `offset` (a length of the log). */
async function logSince(c: LocalCluster, which: number, offset: number): Promise<string[]> {
  return (await c.log(which)).slice(offset).split("\n").filter((l) => l !== "");
}

const etcdExit = /etcd member .*exited/;
const engineStart = /started daos_engine, pid/;

Deno.test("kill -9 of an engine, an etcd member, a daos_server and the MS leader: no orphans, no restart storm", async (t) => {
  const c = await LocalCluster.create({ servers: 3, replicas: 3, engines: 1 });
  try {
    await c.startAll();
    const f = await c.dmg(["storage", "format"]);
    assert(f.code === 0, f.stdout + f.stderr);
    const allJoined = () =>
      c.waitFor("3 ranks joined", async () => (await c.joinedRanks()).length === 3, BOUND_MS);
    await allJoined();

    /** A server that is not the MS leader. */
    const follower = async () => {
      const lead = await leader(c);
      return c.servers.find((s) => s.addr !== lead)!.index;
    };

    await t.step("engine: killed, restarted; one engine per instance, one start", async () => {
      const i = await follower();
      const [old] = await c.enginePids(i);
      const rank = (await c.members()).find((m) => m.addr === c.server(i).addr)!.rank;
      const offset = (await c.log(i)).length;
      Deno.kill(old, "SIGKILL");
      await c.waitFor(`rank ${rank} not joined`, async () => {
        return !(await c.joinedRanks()).includes(rank);
      }, BOUND_MS);
      // Restart it (a no-op if auto-restart was first).
      await c.waitFor(`rank ${rank} joined again`, async () => {
        if (!(await c.enginePids(i)).some(Boolean)) {
          await c.dmg(["system", "start", "-r", String(rank)]);
        }
        return (await c.joinedRanks()).includes(rank);
      }, BOUND_MS);
      await new Promise((r) => setTimeout(r, WATCH_MS));
      const pids = (await c.enginePids(i)).filter(Boolean);
      assertEquals(pids.length, 1, `engines of server ${i}: ${pids}`);
      assert(pids[0] !== old);
      const starts = (await logSince(c, i, offset)).filter((l) => engineStart.test(l));
      assertEquals(starts.length, 1, starts.join("\n"));
    });

    await t.step("etcd member: killed, restarted once by its supervisor", async () => {
      const i = await follower();
      const old = await etcdPid(c, i);
      assert(old !== null, "the replica runs an etcd member");
      const offset = (await c.log(i)).length;
      Deno.kill(old, "SIGKILL");
      const next = await c.waitFor("a new etcd member", async () => {
        const p = await etcdPid(c, i);
        return p !== null && p !== old ? p : null;
      }, BOUND_MS);
      await allJoined();
      await new Promise((r) => setTimeout(r, WATCH_MS));
      assertEquals(await etcdPid(c, i), next, "the restarted member keeps running");
      const exits = (await logSince(c, i, offset)).filter((l) => etcdExit.test(l));
      assertEquals(exits.length, 1, exits.join("\n"));
      assert(/exited \(signal SIGKILL\)/.test(exits[0]), exits[0]);
    });

    /** SIGKILLs daos_server alone and waits until its engine and etcd member are gone. */
    const killServer = async (i: number, what: string) => {
      const procs = await c.processes(i);
      // daos_server, the engine and the etcd member.
      assert(procs.length >= 3, `${what}: processes before the kill: ${procs}`);
      await c.killServerOnly(i);
      try {
        await c.waitFor(
          `${what}: its engine and etcd member to go by themselves`,
          async () => (await c.processes(i)).length === 0,
          10_000,
        );
      } catch (e) {
        const left = await c.processes(i);
        const desc = await Promise.all(left.map(async (p) => `  ${p} ${await cmdline(p)}`));
        throw new Error(`${String(e).split("\n")[0]}; orphans:\n${desc.join("\n")}`);
      }
      return (await c.log(i)).length;
    };

    const noStormAfterRestart = async (i: number, offset: number) => {
      await allJoined();
      await new Promise((r) => setTimeout(r, WATCH_MS));
      const lines = await logSince(c, i, offset);
      const exits = lines.filter((l) => etcdExit.test(l));
      assertEquals(exits, [], "the restarted server's etcd member never exits");
      assertEquals(lines.filter((l) => engineStart.test(l)).length, 1);
      assertEquals(await c.processes(i).then((p) => p.length >= 3), true);
    };

    await t.step("daos_server alone: its children die with it; restarted cleanly", async () => {
      const i = await follower();
      const offset = await killServer(i, `daos_server ${c.server(i).addr}`);
      await c.start(i);
      await noStormAfterRestart(i, offset);
    });

    await t.step("MS leader's daos_server alone: another leader; restarted cleanly", async () => {
      const lead = await leader(c);
      const i = c.server(lead).index;
      const offset = await killServer(i, `leader ${lead}`);
      await c.waitFor("another leader", async () => (await leader(c)) !== lead, BOUND_MS);
      await c.start(i);
      await noStormAfterRestart(i, offset);
    });
  } finally {
    await c.destroy();
  }
});
