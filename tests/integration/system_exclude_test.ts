/**
 * `dmg system exclude` reaches the engine (issue 15 item 9): the excluded rank's engine finds
 * itself left out of the group map, raises engine_self_terminated and exits; its daos_server
 * restarts it (auto-restart), and its join is refused while administratively excluded.
 * `clear-exclude` + `system start` bring it back to Joined, and "OK" is printed only then.
 * One engine per server, so the excluded rank's host holds no member of the new map.
 */
import { equal, match, ok } from "node:assert/strict";
import { LocalCluster } from "../cluster/local_cluster.ts";

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "system exclude: the engine self-terminates and is restarted; clear-exclude + start → joined",
  fn: async (t) => {
    const c = await LocalCluster.create({ servers: 2, replicas: 1, engines: 1 });
    try {
      await c.startAll();
      const f = await c.dmg(["storage", "format"]);
      equal(f.code, 0, f.stdout + f.stderr);
      await c.waitFor("ranks 0-1 joined", async () => (await c.joinedRanks()).length === 2);
      const rank1 = async () => (await c.members()).find((m) => m.rank === 1)!;
      const host1 = (await rank1()).addr === c.server(0).addr ? 0 : 1;
      const [oldPid] = await c.enginePids(host1);
      ok(oldPid > 0);

      await t.step(
        "exclude: the engine leaves and is restarted, the rank stays excluded",
        async () => {
          const ex = await c.dmg(["system", "exclude", "--ranks", "1"]);
          equal(ex.code, 0, ex.stdout + ex.stderr);
          match(ex.stdout, /updated ranks: 1/);
          await c.waitFor("the excluded engine to exit", () => Promise.resolve(!alive(oldPid)));
          const log = await c.waitFor("the restart of the self-terminated rank", async () => {
            const l = await c.log(host1);
            return /restarting self-terminated rank 1/.test(l) ? l : null;
          });
          match(log, /rank 1 excluded from the group map/);
          const [newPid] = await c.waitFor("a new engine for rank 1", async () => {
            const p = await c.enginePids(host1);
            return p[0] !== undefined && p[0] !== oldPid ? p : null;
          });
          ok(alive(newPid));
          // Its join is refused while it is administratively excluded.
          await c.waitFor(
            "the new engine's join to be refused",
            async () => /administratively excluded/.test(await c.log(host1)),
          );
          equal((await rank1()).state, "adminexcluded");
          equal(
            (await c.members()).find((m) => m.rank === 0)!.state,
            "joined",
          );
        },
      );

      await t.step("clear-exclude + start: OK only because the rank is joined again", async () => {
        const clr = await c.dmg(["system", "clear-exclude", "--ranks", "1"]);
        equal(clr.code, 0, clr.stdout + clr.stderr);
        equal((await rank1()).state, "excluded");
        const st = await c.dmg(["system", "start", "--ranks", "1"]);
        equal(st.code, 0, st.stdout + st.stderr);
        match(st.stdout, /^1\s+start\s+OK\s*$/m);
        // No wait: "OK" means the rank reached Joined before the answer.
        equal((await rank1()).state, "joined");
      });
    } catch (e) {
      console.error(await c.diagnostics());
      throw e;
    } finally {
      await c.destroy();
    }
  },
});

Deno.test({
  name: "system exclude by host with auto-restart disabled: the engine stays down until start",
  fn: async () => {
    const c = await LocalCluster.create({
      servers: 2,
      replicas: 1,
      engines: 1,
      extraServerYaml: "disable_engine_auto_restart: true",
    });
    try {
      await c.startAll();
      const f = await c.dmg(["storage", "format"]);
      equal(f.code, 0, f.stdout + f.stderr);
      await c.waitFor("ranks 0-1 joined", async () => (await c.joinedRanks()).length === 2);
      const m1 = (await c.members()).find((m) => m.rank === 1)!;
      const host1 = m1.addr === c.server(0).addr ? 0 : 1;
      const [oldPid] = await c.enginePids(host1);
      const ex = await c.dmg(["system", "exclude", "--rank-hosts", c.server(host1).ip]);
      equal(ex.code, 0, ex.stdout + ex.stderr);
      await c.waitFor("the excluded engine to exit", () => Promise.resolve(!alive(oldPid)));
      await new Promise((r) => setTimeout(r, 1000)); // a restart, if any, would have begun
      equal((await c.enginePids(host1)).filter((p) => p !== undefined).length, 0);
      ok(!/restarting self-terminated rank 1/.test(await c.log(host1)));
      const clr = await c.dmg(["system", "clear-exclude", "--ranks", "1"]);
      equal(clr.code, 0, clr.stdout + clr.stderr);
      const st = await c.dmg(["system", "start", "--ranks", "1"]);
      equal(st.code, 0, st.stdout + st.stderr);
      match(st.stdout, /^1\s+start\s+OK\s*$/m);
      equal((await c.members()).find((m) => m.rank === 1)!.state, "joined");
    } catch (e) {
      console.error(await c.diagnostics());
      throw e;
    } finally {
      await c.destroy();
    }
  },
});
