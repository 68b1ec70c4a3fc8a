/**
 * Orphaned engines stop themselves: bin/daos_engine runs under a stand-in daos_server (a `sh`
 * that passes its own pid as DAOS_SERVER_PID and keeps the engine as its child). SIGKILLing that
 * parent must end the engine by itself, within a bounded time, with an orderly stop: its dRPC
 * socket removed, its threads joined and the reason on stderr and in its log.
 */
import { equal, match, ok } from "node:assert/strict";
import { LocalCluster } from "../cluster/local_cluster.ts";

const top = new URL("../../", import.meta.url).pathname;

/** Polls cond every 20 ms, at most 500 times (10 s); throws naming what never happened. */
async function until(what: string, cond: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * True while pid is a live process. A zombie counts as exited: the engine is not our child, so
 * whoever inherited it (init or a subreaper) reaps it on its own schedule.
 */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // the state follows the parenthesised command name, which may itself contain ") "
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function killQuietly(pid: number): void {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch { /* already gone */ }
}

/** Reads stdout up to the first newline (the engine pid the wrapper prints). */
async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
  } finally {
    await reader.cancel();
  }
  return text.split("\n")[0];
}

Deno.test("daos_engine: SIGKILL of its daos_server → the engine stops itself, socket removed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "engine_orphan_" });
  const log = `${dir}/engine.log`;
  let enginePid = 0;
  let parent: Deno.ChildProcess | undefined;
  let stderr: Promise<string> | undefined;
  try {
    // the wrapper stays the engine's parent (no exec) and tells us the engine's pid
    parent = new Deno.Command("sh", {
      args: [
        "-c",
        'DAOS_SERVER_PID=$$ "$0" "$@" & echo $!; wait',
        `${top}bin/daos_engine`,
        ...["-t", "2", "-x", "1", "-s", dir, "-d", dir, "-I", "0"],
      ],
      env: { DAOS_FABRIC_ADDR: "127.0.0.1", D_LOG_FILE: log, D_LOG_MASK: "INFO" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    stderr = new Response(parent.stderr).text();
    enginePid = Number(await firstLine(parent.stdout));
    ok(Number.isInteger(enginePid) && enginePid > 1, `engine pid from the wrapper: ${enginePid}`);
    const sock = `${dir}/daos_engine_${enginePid}.sock`;
    await until(
      "the engine socket",
      () => Deno.stat(sock).then((s) => s.isSocket === true, () => false),
    );
    ok(await alive(enginePid), "the engine runs while its daos_server does");

    const killedAt = performance.now();
    parent.kill("SIGKILL");
    equal((await parent.status).signal, "SIGKILL");
    await until("the orphaned engine to exit", async () => !(await alive(enginePid)));
    const tookMs = Math.round(performance.now() - killedAt);
    console.log(`orphaned engine exited ${tookMs} ms after its daos_server was SIGKILLed`);

    equal(await Deno.stat(sock).catch(() => null), null, "the engine removed its socket");
    const err = await stderr;
    stderr = undefined;
    match(err, new RegExp(`daos_server \\(pid ${parent.pid}\\) exited: stopping the orphaned`));
    const text = await Deno.readTextFile(log);
    match(text, /engine 0 stopped: all threads joined/);
  } finally {
    if (enginePid > 1 && await alive(enginePid)) killQuietly(enginePid);
    if (parent !== undefined) {
      killQuietly(parent.pid);
      await parent.status;
      await parent.stdout.cancel().catch(() => undefined);
    }
    await stderr?.catch(() => undefined);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "a real daos_server SIGKILLed alone → its ready engines stop themselves",
  fn: async () => {
    const c = await LocalCluster.create({ servers: 1, replicas: 1, engines: 2 });
    try {
      await c.startAll();
      const f = await c.dmg(["storage", "format"]);
      ok(f.code === 0, f.stdout + f.stderr);
      await c.waitFor("2 ranks joined", async () => (await c.joinedRanks()).length === 2, 30_000);
      const s = c.server(0);
      const engines = (await c.enginePids(0)).filter(Boolean);
      equal(engines.length, 2);

      // only the daos_server process, not its process group (that would take the engines too)
      Deno.kill(s.proc!.pid, "SIGKILL");
      await until("both orphaned engines to exit", async () => {
        const live = await Promise.all(engines.map(alive));
        return !live.includes(true);
      });
      const left = [...Deno.readDirSync(s.socketDir)].map((e) => e.name)
        .filter((n) => n.startsWith("daos_engine_"));
      equal(left.length, 0, `engine sockets left behind: ${left.join(", ")}`);
      for (const i of [0, 1]) {
        const text = await Deno.readTextFile(`${s.dir}/engine${i}.log`).catch(() => "");
        match(text, /daos_server \(pid \d+\) exited: stopping the orphaned engine/);
      }
    } finally {
      await c.destroy();
    }
  },
});
