/**
 * The etcd member's lifetime (issue 15 item 5): it dies with its daos_server even on SIGKILL,
 * a restarted supervisor stops a stale member of its data dir, restarts back off and log the
 * member's own last error.
 */
import { deepEqual as assertEquals, match as assertMatch, ok as assert } from "node:assert/strict";
import { defaultMgmtSvcDbConfig, type MgmtSvcDbConfig } from "./db_config.ts";
import {
  describeEtcdExit,
  etcdArgs,
  type EtcdExit,
  EtcdMember,
  type EtcdMemberSpec,
  isOwnMember,
  MEMBER_PID_FILE,
  reapStaleMember,
} from "./etcd_member.ts";

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
  } catch {
    return false;
  }
  // A zombie is dead, only not yet reaped by whoever inherited it.
  const stat = (() => {
    try {
      return Deno.readTextFileSync(`/proc/${pid}/stat`);
    } catch {
      return "";
    }
  })();
  return stat !== "" && !/\) Z /.test(stat);
}

async function until(what: string, f: () => boolean | Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** A fake etcd (executable named "etcd") running `body` as a shell script. */
async function fakeEtcd(dir: string, body: string): Promise<string> {
  const path = `${dir}/etcd`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

function spec(dir: string, db: Partial<MgmtSvcDbConfig>): EtcdMemberSpec {
  const self = "127.0.0.1:10001";
  return {
    self,
    replicas: [self],
    system: "daos_server",
    dataDir: `${dir}/db`,
    db: { ...defaultMgmtSvcDbConfig(), ...db },
  };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("etcd member: a failing member restarts with a doubling back-off and its own last error is logged", async () => {
  const dir = await Deno.makeTempDir({ prefix: "etcd-member-" });
  const bin = await fakeEtcd(
    dir,
    'echo "starting" >&2; echo "listen tcp 127.0.0.1:2380: bind: address already in use" >&2; exit 1',
  );
  const m = new EtcdMember(spec(dir, { etcdBinary: bin }), { initialMs: 20, maxMs: 160 });
  const exits: EtcdExit[] = [];
  m.onExit = (e) => exits.push(e);
  try {
    await m.start();
    await until("seven exits", () => exits.length >= 7);
  } finally {
    await m.stop();
    await Deno.remove(dir, { recursive: true });
  }
  assertEquals(
    exits.slice(0, 7).map((e) => e.restartInMs),
    [20, 40, 80, 160, 160, 160, 160],
  );
  for (const e of exits) assertEquals(e.status.code, 1);
  assertEquals(exits[0].lastOutput, [
    "starting",
    "listen tcp 127.0.0.1:2380: bind: address already in use",
  ]);
  assertMatch(
    describeEtcdExit(exits[0]),
    /^etcd member \(pid \d+\) exited \(code 1\), restarting in 20 ms; its last output: starting \| listen tcp .*address already in use$/,
  );
});

Deno.test("etcd member: stop() during a back-off delay starts nothing more", async () => {
  const dir = await Deno.makeTempDir({ prefix: "etcd-member-" });
  const bin = await fakeEtcd(dir, "exit 3");
  const m = new EtcdMember(spec(dir, { etcdBinary: bin }), { initialMs: 60_000 });
  const exits: EtcdExit[] = [];
  m.onExit = (e) => exits.push(e);
  try {
    await m.start();
    await until("the first exit", () => exits.length === 1);
    await m.stop(); // must not wait out the 60 s delay, nor start the member again
    assertEquals(m.starts, 1);
    assertEquals(exits.map((e) => [e.status.code, e.restartInMs]), [[3, 60_000]]);
    assertEquals(await Deno.stat(`${dir}/db/${MEMBER_PID_FILE}`).then(() => 1, () => 0), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("etcd member: SIGKILL of its daos_server takes the member down too", async () => {
  const dir = await Deno.makeTempDir({ prefix: "etcd-member-" });
  // exec: the member process is `sleep` itself, as etcd would be.
  const bin = await fakeEtcd(dir, "exec sleep 120");
  const modUrl = new URL("./etcd_member.ts", import.meta.url).href;
  const script = `${dir}/server.ts`;
  await Deno.writeTextFile(
    script,
    `import { EtcdMember } from ${JSON.stringify(modUrl)};
const m = new EtcdMember(${JSON.stringify(spec(dir, { etcdBinary: bin }))});
await m.start();
console.log(m.pid);
await new Promise((r) => setTimeout(r, 120_000));
`,
  );
  const server = new Deno.Command(Deno.execPath(), {
    // The script lives in a temp dir: it needs the project's import map (npm packages).
    args: [
      "run",
      "--allow-all",
      "--quiet",
      "--config",
      new URL("../../deno.json", import.meta.url).pathname,
      script,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let member = 0;
  try {
    const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    reader.releaseLock();
    member = Number(out.trim());
    assert(member > 1 && alive(member), `member pid from the server: ${out}`);
    assertEquals(await Deno.readTextFile(`${dir}/db/${MEMBER_PID_FILE}`), `${member}\n`);
    server.kill("SIGKILL");
    await server.status;
    await until(`member ${member} gone after its server's SIGKILL`, () => !alive(member), 5000);
  } finally {
    try {
      server.kill("SIGKILL");
    } catch { /* gone */ }
    await server.status;
    await server.stdout.cancel().catch(() => {});
    if (member > 1 && alive(member)) Deno.kill(member, "SIGKILL");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("etcd member identity: the etcd binary over exactly this data dir", () => {
  const argv = ["/usr/bin/etcd", "--name", "x", "--data-dir", "/d/db", "--pre-vote"];
  assert(isOwnMember(argv, "/usr/bin/etcd", "/d/db"));
  assert(isOwnMember(argv, "/opt/etcd/bin/etcd", "/d/db"));
  assert(!isOwnMember(argv, "/usr/bin/etcd", "/d/db2"));
  assert(!isOwnMember(argv, "/usr/bin/etcd", "/d"));
  assert(!isOwnMember(["/bin/sleep", "--data-dir", "/d/db"], "/usr/bin/etcd", "/d/db"));
  assert(!isOwnMember(["/usr/bin/etcd", "--data-dir"], "/usr/bin/etcd", "/d/db"));
  assert(!isOwnMember([], "/usr/bin/etcd", "/d/db"));
});

Deno.test("etcd member: a restarted supervisor stops the stale member it owns, not a stranger", async () => {
  const dir = await Deno.makeTempDir({ prefix: "etcd-member-" });
  const s = spec(dir, {
    ports: { "127.0.0.1:10001": { client: freePort(), peer: freePort() } },
  });
  await Deno.mkdir(s.dataDir, { recursive: true, mode: 0o700 });
  // A pid file naming an unrelated process (a recycled pid): it must survive.
  const stranger = new Deno.Command("sleep", { args: ["60"] }).spawn();
  // The member of a daos_server that was SIGKILLed before this fix: a real etcd on our ports
  // and data dir, not tied to any supervisor.
  const stale = new Deno.Command(s.db.etcdBinary, {
    args: etcdArgs(s),
    stdout: "null",
    stderr: "null",
  }).spawn();
  const m = new EtcdMember(s, { initialMs: 50 });
  const exits: EtcdExit[] = [];
  m.onExit = (e) => exits.push(e);
  try {
    const url = `http://127.0.0.1:${s.db.ports["127.0.0.1:10001"].client}/health`;
    const healthy = async () => {
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
        const body = await r.text();
        return r.ok && body.includes("true");
      } catch {
        return false;
      }
    };
    await until("the stale member serves", healthy, 15_000);

    // A pid file naming a process that is not a member of that data dir: never signalled.
    const other = `${dir}/other`;
    await Deno.mkdir(other);
    await Deno.writeTextFile(`${other}/${MEMBER_PID_FILE}`, `${stranger.pid}\n`);
    assertEquals(await reapStaleMember(other, s.db.etcdBinary), undefined);
    assert(alive(stranger.pid), "a process that is not our member is never signalled");
    assert(alive(stale.pid), "a member of another data dir is never signalled");

    // Our pid file names a recycled pid (the stranger): the stale member is found by its
    // command line instead, and the stranger survives.
    await Deno.writeTextFile(`${s.dataDir}/${MEMBER_PID_FILE}`, `${stranger.pid}\n`);
    await m.start();
    assert(alive(stranger.pid));
    assertEquals(m.reaped, stale.pid);
    assertEquals((await stale.status).signal, "SIGKILL");
    await until("the new member serves", healthy, 15_000);
    assert(m.pid !== undefined && m.pid !== stale.pid);
    assertEquals(exits, [], "the new member starts once, no restart storm");
    assertEquals(m.starts, 1);
  } finally {
    await m.stop();
    for (const p of [stale, stranger]) {
      try {
        p.kill("SIGKILL");
      } catch { /* gone */ }
      await p.status;
    }
    await Deno.remove(dir, { recursive: true });
  }
});
