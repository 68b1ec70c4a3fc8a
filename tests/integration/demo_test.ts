/**
 * The README's demo command end to end: `scripts/demo --state-dir <tmp>` brings up three
 * daos_servers (two engines each, three MS replicas) that outlive the command, all ranks
 * Joined; a second run reports "already running" without touching it; after a crash of
 * every server a new run cleans the stale state and starts fresh; `scripts/demo down`
 * leaves no process, mount or file behind.
 */
import assert from "node:assert/strict";
import { parseMembers } from "../demo/members.ts";
import { allProcesses, isAlive, sessionMembers } from "../demo/procs.ts";
import { type DemoState, readState } from "../demo/state.ts";
import { mountsBelow, tearDown } from "../demo/teardown.ts";

const top = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const dec = new TextDecoder();

async function run(cmd: string, args: string[]) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: top,
    stdin: "null",
    // The demo must outlive itself; a deadline keeps a hung run from hanging the suite.
    signal: AbortSignal.timeout(120_000),
  }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const demo = (...args: string[]) => run(`${top}/scripts/demo`, args);

/** Live processes that mention `dir` on their command line (engines, etcd, servers). */
function processesUsing(dir: string): string[] {
  const out: string[] = [];
  for (const p of allProcesses()) {
    if (p.pid === Deno.pid) continue;
    const cmd = (() => {
      try {
        return Deno.readTextFileSync(`/proc/${p.pid}/cmdline`).replaceAll("\0", " ");
      } catch {
        return "";
      }
    })();
    // The demo commands themselves carry --state-dir; only the system's processes count.
    if (cmd.includes(`${dir}/`)) out.push(`${p.pid} ${cmd.slice(0, 120)}`);
  }
  return out;
}

async function assertJoined(state: DemoState, want: number) {
  const q = await run(`${top}/bin/dmg`, ["-o", state.dmgConfig, "-j", "system", "query"]);
  assert.equal(q.code, 0, q.stdout + q.stderr);
  const members = parseMembers(q.stdout);
  assert.equal(members.length, want, q.stdout);
  assert.deepEqual(members.map((m) => m.state), Array(want).fill("joined"));
}

Deno.test({
  name:
    "demo: up (3 servers, 6 ranks Joined after it exits), already running, stale restart, down leaves nothing",
  fn: async () => {
    const parent = await Deno.makeTempDir({ prefix: "demo-it-" });
    const dir = `${parent}/state`;
    try {
      const up = await demo("--state-dir", dir);
      assert.equal(up.code, 0, up.stdout + up.stderr);
      assert.match(up.stdout, /The local DAOS system is up and keeps running/);
      assert.match(up.stdout, /Stopping and restarting rank 5/);
      assert.match(up.stdout, /Current Leader: 127\.0\.0\.[1-3]:\d+/);
      // The pool: created on all 6 ranks, listed Ready, one vos-0 shard per SCM mount.
      assert.match(up.stdout, /Pool created with \d+\.\d\d%,\d+\.\d\d% storage tier ratio/);
      assert.match(up.stdout, /Storage Ranks\s+: \[0-5\]/);
      assert.match(up.stdout, /^tank\s+\S+ [MG]B\s+Ready\s/m);
      const shards = up.stdout.match(/^ {2}\S+\/scm\d\/[0-9a-f-]{36}\/: vos-0 \(\d+ bytes\)$/gm);
      assert.equal(shards?.length, 6, up.stdout);
      const state = (await readState(dir))!;
      assert.equal(state.phase, "running");
      assert.equal(state.servers.length, 3);
      // The demo process is gone; its system is not.
      for (const s of state.servers) assert.ok(isAlive(s), `daos_server ${s.addr} alive`);
      await assertJoined(state, 6);
      assert.equal((await mountsBelow(dir)).length, 6, "one tmpfs per engine");

      // The printed dmg line works as printed (from the checkout).
      const line = /^ {2}(bin\/dmg -o \S+ system query -v)$/m.exec(up.stdout);
      assert.ok(line, up.stdout);
      const [cmd, ...args] = line[1].split(" ");
      const printed = await run(`${top}/${cmd}`, args);
      assert.equal(printed.code, 0, printed.stderr);
      assert.equal(printed.stdout.match(/ Joined /g)?.length, 6, printed.stdout);
      assert.match(up.stdout, /^ {2}\.\/scripts\/demo down --state-dir \S+$/m);

      // The printed metrics address serves the engines' and the control plane's metrics.
      const url = /^ {2}curl -s (http:\/\/127\.0\.0\.1:\d+\/metrics)$/m.exec(up.stdout);
      assert.ok(url, up.stdout);
      let metrics = "";
      for (let i = 0; i < 50 && !/^engine_\w+\{[^}]*rank="\d+"/m.test(metrics); i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 200));
        metrics = await fetch(url[1]).then((r) => r.text(), () => "");
      }
      assert.match(metrics, /^engine_\w+\{[^}]*rank="\d+"/m, metrics.slice(0, 2000));
      assert.match(metrics, /^daos_cp_rpc_duration_seconds_bucket\{/m);

      // Second run: says so, exits 0, leaves the running system exactly as it was.
      const again = await demo("--state-dir", dir);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /already running in .*; leaving it as it is/);
      assert.deepEqual(await readState(dir), state);
      for (const s of state.servers) assert.ok(isAlive(s));
      assert.equal((await demo("status", "--state-dir", dir)).code, 0);

      // Every server crashes (whole sessions SIGKILLed): the next run cleans up and starts anew.
      for (const s of state.servers) {
        for (const p of sessionMembers(s)) Deno.kill(p.pid, "SIGKILL");
      }
      for (let i = 0; i < 200 && state.servers.some((s) => sessionMembers(s).length > 0); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      // The wait's outcome: every process of every demo server is gone.
      assert.deepEqual(
        state.servers.flatMap((s) => sessionMembers(s).map((p) => p.pid)),
        [],
        "demo server processes still alive after SIGKILL",
      );
      assert.equal((await demo("status", "--state-dir", dir)).code, 3);
      const fresh = await demo("--state-dir", dir, "--servers", "1", "--engines", "1");
      assert.equal(fresh.code, 0, fresh.stdout + fresh.stderr);
      assert.match(fresh.stdout, /Found a stale demo .* cleaning up first/);
      assert.match(fresh.stdout, /unmounted 6 tmpfs/);
      const state2 = (await readState(dir))!;
      assert.notDeepEqual(state2.servers, state.servers);
      await assertJoined(state2, 1);
      assert.equal((await mountsBelow(dir)).length, 1);

      const down = await demo("down", "--state-dir", dir);
      assert.equal(down.code, 0, down.stdout + down.stderr);
      assert.match(down.stdout, /unmounted 1 tmpfs, removed /);
      assert.match(down.stdout, /Verified: no demo processes, no mounts under .*, no files left/);
      for (const s of [...state.servers, ...state2.servers]) {
        assert.deepEqual(sessionMembers(s), [], `session of ${s.addr} empty`);
      }
      assert.deepEqual(processesUsing(dir), []);
      assert.deepEqual(await mountsBelow(dir), []);
      await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
      assert.deepEqual([...Deno.readDirSync(parent)], []);

      const twice = await demo("down", "--state-dir", dir);
      assert.equal(twice.code, 0);
      assert.match(twice.stdout, /No demo system in/);
    } finally {
      // Whatever a failed assertion left running or mounted goes, then the temp tree.
      const st = await readState(dir).catch(() => null);
      if (await Deno.stat(dir).then(() => true, () => false)) {
        await tearDown(dir, st?.servers ?? [], { graceMs: 5000, killMs: 5000 }).catch(() => {});
      }
      await Deno.remove(parent, { recursive: true }).catch(() => {});
    }
  },
});
