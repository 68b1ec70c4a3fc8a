/**
 * A full SCM tmpfs on the single MS replica (issue 15 item 7), with real processes and a real
 * tmpfs: `system start` names the cause (ENOSPC writing the superblock, with its path), no MS
 * error carries empty leader hints, and once space is freed the engine recovers by itself.
 * The tmpfs is shrunk to what it holds plus a little (remount), then filled with a file, so the
 * test does not take gigabytes of RAM; removing the file frees the space.
 * The MS database (etcd) is kept off that tmpfs (mgmt_svc_db.data_dir): on a full tmpfs etcd
 * fails at its next database growth, at a moment the test does not choose, and the MS then
 * loses leadership (and answers) before the step that stops etcd on purpose; that race made
 * this test flaky. The etcd stall the test is about is the SIGSTOP below, at a known point.
 */
import { equal, match, ok } from "node:assert/strict";
import { LocalCluster } from "../cluster/local_cluster.ts";

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${text}`);
  return text;
}

/** Shrinks the tmpfs at dir to its usage + slackMiB and fills it with dir/filler. */
async function fill(dir: string, slackMiB = 4): Promise<void> {
  const used = Number((await run("df", ["-B1", "--output=used", dir])).trim().split("\n")[1]);
  const size = Math.ceil(used / 1048576) + slackMiB;
  await run("mount", ["-o", `remount,size=${size}m`, dir]);
  const f = await Deno.open(`${dir}/filler`, { write: true, create: true });
  const chunk = new Uint8Array(1 << 20);
  try {
    for (;;) await f.write(chunk);
  } catch (e) {
    if (!/No space left/.test(String(e))) throw e;
  } finally {
    f.close();
  }
}

/** Pids of server 0's etcd member. */
async function etcdOf(c: LocalCluster): Promise<number[]> {
  const out: number[] = [];
  for (const p of await c.processes(0)) {
    const comm = await Deno.readTextFile(`/proc/${p}/comm`).catch(() => "");
    if (comm.trim() === "etcd") out.push(p);
  }
  return out;
}

Deno.test({
  name:
    "full SCM on the MS replica: start names ENOSPC and the path, a stuck etcd is named, the engine recovers once freed",
  fn: async (t) => {
    const root = await Deno.makeTempDir({ prefix: "daos-cluster-" });
    // Under the server's dir, so that the fixture's teardown finds and checks the etcd member.
    const c = await LocalCluster.create({
      servers: 1,
      replicas: 1,
      engines: 1,
      root,
      extraDbYaml: `  data_dir: ${root}/srv1/mgmt_db`,
    });
    const scm = `${c.server(0).dir}/scm0`;
    let stopped: number[] = [];
    try {
      await c.startAll();
      const f = await c.dmg(["storage", "format"]);
      equal(f.code, 0, f.stdout + f.stderr);
      await c.waitFor("rank 0 joined", async () => (await c.joinedRanks()).length === 1);
      const stop = await c.dmg(["system", "stop", "--ranks", "0"]);
      equal(stop.code, 0, stop.stdout + stop.stderr);
      await fill(scm);

      await t.step("system start names the cause and the superblock path", async () => {
        const st = await c.dmg(["system", "start", "--ranks", "0"]);
        equal(st.code, 1, st.stdout + st.stderr);
        match(
          st.stdout,
          /^0\s+start\s+system start: rank failed to start: .*No space left on device/m,
        );
        match(st.stdout, new RegExp(`writing superblock "${scm}/superblock"`));
        // The rank's state says why too.
        const m0 = (await c.members())[0];
        equal(m0.state, "errored");
        match(m0.info ?? "", /No space left on device/);
      });

      await t.step(
        "an etcd that does not answer is named, not passed on as a port error",
        async () => {
          // Under load the member may be between a restart and its next start: wait (bounded).
          await c.waitFor("the MS replica's one etcd member", async () => {
            stopped = await etcdOf(c);
            return stopped.length === 1;
          });
          ok(stopped.length === 1, `etcd pids: ${stopped}`);
          // Only a loss logged after the stop counts: an earlier line (e.g. a leadership change
          // at start-up) would let the query below race a replica that is still the leader.
          const losses = async () => (await c.log(0)).match(/lost MS leadership/g)?.length ?? 0;
          const before = await losses();
          for (const p of stopped) Deno.kill(p, "SIGSTOP");
          await c.waitFor("the MS to lose leadership", async () => (await losses()) > before);
          const q = await c.dmg(["system", "query"]);
          equal(q.code, 1, q.stdout + q.stderr);
          match(
            q.stderr,
            /the MS database is unavailable: etcd at 127\.0\.0\.1:\d+ did not answer/,
          );
          match(q.stderr, /space left on the filesystem/);
        },
      );

      await t.step("space freed and etcd back: the engine joins by itself", async () => {
        await Deno.remove(`${scm}/filler`);
        await new Promise((r) => setTimeout(r, 2000)); // start-up retries meet a leaderless MS
        for (const p of stopped.splice(0)) Deno.kill(p, "SIGCONT");
        await c.waitFor("rank 0 joined again", async () => (await c.joinedRanks()).length === 1);
        const log = await c.log(0);
        ok(!/try {2}or one of \)/.test(log), "empty leader hints in the control log");
        match(log, /start-up attempt \d+ failed, retrying/);
      });
    } catch (e) {
      console.error(await c.diagnostics());
      throw e;
    } finally {
      for (const p of stopped) Deno.kill(p, "SIGCONT");
      await c.destroy();
    }
  },
});
