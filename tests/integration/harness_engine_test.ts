/**
 * The harness with two real engines (bin/daos_engine → libdaos_engine.so through FFI): start,
 * NotifyReady, join, SetRank/SetUp → Ready; SIGKILL one → Stopped with its exit status →
 * start again → Ready with a larger incarnation; prep-shutdown and stop both → exit 0.
 * SCM is a plain temp directory (the engine accepts one), superblocks are written into it.
 */
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { EngineConfig } from "../../control/config/types.ts";
import { engineArgs, engineEnv } from "../../control/harness/engine_launch.ts";
import { RasId } from "../../control/harness/events.ts";
import { DEFAULT_ENGINE_PATH } from "../../control/harness/from_config.ts";
import { prepShutdownRanks, startRanks, stopRanks } from "../../control/harness/rank_ops.ts";
import { type EngineLaunch, startFixture } from "../../control/harness/testing/fixture.ts";
import { MemberState } from "../../control/lib/states.ts";
import { readSuperblock } from "../../control/storage/superblock.ts";
import { engineConfig, loFabric } from "../util/config_fixtures.ts";

const WAIT = 30_000;
const native = new URL("../../engine-ffi/native", import.meta.url).pathname;

async function ensureEngineBuilt(): Promise<void> {
  // the engine and its modules (libmgmt.so is built after libdaos_engine.so)
  const lib = `${native}/build/modules/libmgmt.so`;
  if (await Deno.stat(lib).then(() => true, () => false)) return;
  const out = await new Deno.Command("make", { args: ["-s", "-C", native] }).output();
  if (!out.success) {
    throw new Error(`building the engine failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Engine `index`: 2 targets, SCM at `scmMount` (a plain directory), any free fabric port. */
function engineAt(index: number, scmMount: string): EngineConfig {
  return engineConfig({
    index,
    targets: 2,
    nrXsHelpers: 1,
    fabric: loFabric(0),
    logFile: "",
    scm: { tier: 0, class: "ram", scmMount, scmList: [], scmSize: 0, scmHugepagesDisabled: null },
  });
}

/** Launches the real engine for `engineAt(idx, scmDir)`, changed first by `edit` when given. */
function realEngine(
  idx: number,
  scmDir: string,
  socketDir: string,
  edit?: (cfg: EngineConfig) => void,
): EngineLaunch {
  const cfg = engineAt(idx, scmDir);
  edit?.(cfg);
  return {
    enginePath: DEFAULT_ENGINE_PATH,
    args: (checkMode) => engineArgs(cfg, { socketDir, checkMode }),
    env: engineEnv(cfg, Deno.env.toObject()),
  };
}

/** The fixture with one real engine whose config `edit` changes first. */
function oneEngine(edit: (cfg: EngineConfig) => void) {
  return startFixture({
    engines: 1,
    launch: (idx, scmDir, socketDir) => realEngine(idx, scmDir, socketDir, edit),
  });
}

Deno.test("two real engines: ready, kill -9, restart with a larger incarnation, clean stop", async () => {
  await ensureEngineBuilt();
  const f = await startFixture({ engines: 2, launch: realEngine });
  try {
    const [i0, i1] = f.harness.instances;
    assert(await i0.waitFor((i) => i.isReady(), WAIT), f.logs.join("\n"));
    assert(await i1.waitFor((i) => i.isReady(), WAIT), f.logs.join("\n"));
    assertEquals([i0.rank(), i1.rank()], [0, 1]);
    for (const [idx, rank] of [[0, 0], [1, 1]]) {
      const sb = (await readSuperblock(f.scmDirs[idx]))!;
      assertEquals([sb.rank, sb.validRank], [rank, true]);
      assert(/^ofi\+tcp:\/\/127\.0\.0\.1:\d+$/.test(sb.uri), sb.uri);
      assertEquals(sb.incarnation, f.harness.instances[idx].info().incarnation);
    }
    assertEquals(f.joins.map((j) => [j.idx, j.nctxs, j.addr]).sort(), [
      [0, 4, "127.0.0.1:10001"],
      [1, 4, "127.0.0.1:10001"],
    ]);
    assert(f.logs.some((l) => l.includes("daos_engine:0 ")), "engine output is in the log");

    const pid = i1.info().pid!;
    const inc = i1.info().incarnation;
    Deno.kill(pid, "SIGKILL");
    assert(await i1.waitFor((i) => i.localState() === MemberState.Stopped, WAIT));
    assertEquals(i1.info().lastExitStatus, "signal: killed");
    assert(
      f.logs.includes(`ERROR instance 1, pid ${pid}, rank 1 exited with status: signal: killed`),
    );
    assertEquals(
      f.events.filter((e) => e.id === RasId.ENGINE_DIED).map((e) => [e.rank, e.incarnation]),
      [[1, inc]],
    );
    assert(i0.isReady());

    const started = await startRanks(f.harness, [1], { timeoutMs: WAIT });
    assertEquals(started.map((r) => [r.rank, r.state, r.errored]), [[1, "ready", false]]);
    assert(i1.info().incarnation > inc, `${i1.info().incarnation} > ${inc}`);
    assertEquals(f.joins.at(-1)?.rank, 1, "the restarted engine rejoins with its rank");

    const prep = await prepShutdownRanks(f.harness, [0, 1], { timeoutMs: 10_000 });
    assertEquals(prep.map((r) => [r.rank, r.state, r.errored]), [
      [0, "stopping", false],
      [1, "stopping", false],
    ]);
    const stopped = await stopRanks(f.harness, [0, 1], { timeoutMs: WAIT, force: false });
    assertEquals(stopped.map((r) => [r.rank, r.state, r.msg]), [
      [0, "stopped", "system stop"],
      [1, "stopped", "system stop"],
    ]);
    assertEquals([i0.info().lastExitStatus, i1.info().lastExitStatus], [
      "exit status 0",
      "exit status 0",
    ]);
    assertEquals(f.events.filter((e) => e.id === RasId.ENGINE_DIED).length, 1);
    const left = [...Deno.readDirSync(f.socketDir)].map((e) => e.name).sort();
    assertEquals(left, ["daos_server.sock"], "engine sockets are gone");
  } finally {
    await f.close();
  }
});

Deno.test("a real engine that cannot start is reported stopped with its error in the log", async () => {
  await ensureEngineBuilt();
  const f = await oneEngine((cfg) => {
    cfg.fabric = { ...cfg.fabric, fabricIface: "nosuchif0" };
  });
  try {
    const [i0] = f.harness.instances;
    assert(await i0.waitFor((i) => i.info().lastExitStatus !== null, WAIT), f.logs.join("\n"));
    assertEquals(i0.info().lastExitStatus, "exit status 1");
    assertEquals(i0.localState(), MemberState.Stopped);
    assert(
      f.logs.some((l) => l.startsWith("ERROR daos_engine:0 ") && l.includes("nosuchif0")),
      f.logs.join("\n"),
    );
    assertEquals(f.joins.length, 0);
    assertEquals(f.events.map((e) => [e.id, e.rank]), [[RasId.ENGINE_DIED, 0xffffffff]]);
  } finally {
    await f.close();
  }
});

Deno.test("a real engine with a module it cannot load stops with the file named in the log", async () => {
  await ensureEngineBuilt();
  const f = await oneEngine((cfg) => {
    cfg.modules = "mgmt,nosuch";
  });
  try {
    const [i0] = f.harness.instances;
    assert(await i0.waitFor((i) => i.info().lastExitStatus !== null, WAIT), f.logs.join("\n"));
    assertEquals(i0.info().lastExitStatus, "exit status 1");
    assert(
      f.logs.some((l) =>
        l.startsWith("ERROR daos_engine:0 ") &&
        l.includes("unknown engine module 'nosuch' (-m)") &&
        l.includes(`${native}/build/modules/libnosuch.so`)
      ),
      f.logs.join("\n"),
    );
    assertEquals(f.joins.length, 0);
  } finally {
    await f.close();
  }
});

Deno.test("crt_timeout unset (0): daos_server passes CRT_TIMEOUT=0 and the engine runs with CaRT's default", async () => {
  await ensureEngineBuilt();
  const f = await oneEngine((cfg) => {
    cfg.fabric = { ...cfg.fabric, crtTimeout: 0 };
  });
  try {
    const [i0] = f.harness.instances;
    assert(await i0.waitFor((i) => i.isReady(), WAIT), f.logs.join("\n"));
    // 60 s: DSS_TUN_CRT_TIMEOUT_S_DEFAULT, CaRT's default RPC timeout.
    assert(
      f.logs.some((l) => l.includes("tunables: ") && /\bCRT_TIMEOUT=60\b/.test(l)),
      f.logs.join("\n"),
    );
  } finally {
    await f.close();
  }
});
