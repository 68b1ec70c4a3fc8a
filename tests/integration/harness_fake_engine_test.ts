/**
 * Harness lifecycle against a stand-in engine process (control/harness/testing/fake_engine.ts):
 * start, NotifyReady, join, SetRank/SetUp → Ready, crash, restart, stop, reset format.
 */
import { deepEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { NotifyReadyReqSchema } from "../../proto/gen/ts/srv/srv_pb.ts";
import { callDrpc } from "../../control/drpc/client.ts";
import { DrpcModule, SrvMethod } from "../../control/drpc/ids.ts";
import { JoinResp_State, JoinRespSchema } from "../../proto/gen/ts/mgmt/svc_pb.ts";
import { hasFaultCode } from "../../control/lib/fault.ts";
import { MemberState } from "../../control/lib/states.ts";
import {
  prepShutdownRanks,
  resetFormatRanks,
  startRanks,
  stopRanks,
} from "../../control/harness/rank_ops.ts";
import { RasId } from "../../control/harness/events.ts";
import { readSuperblock } from "../../control/storage/superblock.ts";
import { fakeEngineLaunch, startFixture } from "../../control/harness/testing/fixture.ts";

const WAIT = 20_000;

Deno.test("two fake engines: ready, crash, start, prep-shutdown, stop, reset format", async () => {
  const f = await startFixture({ engines: 2, launch: fakeEngineLaunch() });
  try {
    const [i0, i1] = f.harness.instances;
    assert(await i0.waitFor((i) => i.isReady(), WAIT), f.logs.join("\n"));
    assert(await i1.waitFor((i) => i.isReady(), WAIT), f.logs.join("\n"));
    // Bootstrap replica: instance 0 asked for rank 0, instance 1 got the next rank.
    assertEquals([i0.rank(), i1.rank()], [0, 1]);
    const sb1 = (await readSuperblock(f.scmDirs[1]))!;
    assertEquals([sb1.rank, sb1.validRank, sb1.hostFaultDomain], [1, true, "/host1"]);
    assert(sb1.uri.startsWith("ofi+tcp://127.0.0.1:"));
    assertEquals(sb1.incarnation, i1.info().incarnation);
    assert(
      f.logs.includes("INFO daos_engine:1 fake engine 1: set up as rank 1"),
      f.logs.join("\n"),
    );
    assert(f.logs.includes("ERROR daos_engine:0 fake engine 0: listening"));

    // Crash: SIGKILL behind the harness's back.
    const pid = i1.info().pid!;
    const inc1 = i1.info().incarnation;
    Deno.kill(pid, "SIGKILL");
    assert(await i1.waitFor((i) => i.localState() === MemberState.Stopped, WAIT));
    assertEquals(i1.info().lastExitStatus, "signal: killed");
    assert(
      f.logs.includes(`ERROR instance 1, pid ${pid}, rank 1 exited with status: signal: killed`),
    );
    const died = f.events.filter((e) => e.id === RasId.ENGINE_DIED);
    assertEquals(died.map((e) => [e.rank, e.hostname]), [[1, "host1"]]);
    assert(i0.isReady(), "the other engine is unaffected");

    const started = await startRanks(f.harness, [1], { timeoutMs: WAIT });
    assertEquals(started.map((r) => [r.rank, r.state, r.msg, r.errored]), [
      [1, "ready", "system start", false],
    ]);
    assert(i1.info().incarnation > inc1, "a restart brings a larger incarnation");
    assertEquals(f.joins.filter((j) => j.idx === 1).map((j) => j.rank), [0xffffffff, 1]);

    const prep = await prepShutdownRanks(f.harness, [0, 1], { timeoutMs: 5000 });
    assertEquals(prep.map((r) => [r.rank, r.state, r.addr]), [
      [0, "stopping", "127.0.0.1:10001"],
      [1, "stopping", "127.0.0.1:10001"],
    ]);

    await rejects(
      () => resetFormatRanks(f.harness, [0], { timeoutMs: 5000 }),
      (e) =>
        hasFaultCode(e, 612) && /reset format not supported when rank 0 is running/.test(e.message),
    );

    const stopped = await stopRanks(f.harness, [0, 1], { timeoutMs: WAIT, force: false });
    assertEquals(stopped.map((r) => [r.rank, r.state, r.msg, r.errored]), [
      [0, "stopped", "system stop", false],
      [1, "stopped", "system stop", false],
    ]);
    assertEquals(i0.info().lastExitStatus, "exit status 0");
    assertEquals(
      f.events.filter((e) => e.id === RasId.ENGINE_DIED).length,
      1,
      "no new engine_died",
    );

    const reset = await resetFormatRanks(f.harness, [0], { timeoutMs: WAIT });
    assertEquals(reset.map((r) => [r.rank, r.state, r.errored]), [[0, "awaitformat", false]]);
    assertEquals(await readSuperblock(f.scmDirs[0]), null);
    assert(f.events.some((e) => e.id === RasId.ENGINE_FORMAT_REQUIRED));
    assertEquals(f.harness.report().map((r) => r.state), [
      MemberState.AwaitFormat,
      MemberState.Stopped,
    ]);
  } finally {
    await f.close();
  }
});

Deno.test("unformatted instance waits in AwaitFormat, then starts once formatted", async () => {
  const f = await startFixture({ engines: 1, launch: fakeEngineLaunch(), formatted: false });
  try {
    const [i0] = f.harness.instances;
    assert(await i0.waitFor((i) => i.isAwaitingFormat(), WAIT));
    assert(f.logs.includes("INFO SCM format required on instance 0"));
    assertEquals(i0.localState(), MemberState.AwaitFormat);
    await f.format(0);
    assert(await i0.waitFor((i) => i.isReady(), WAIT), f.logs.join("\n"));
    assertEquals(i0.rank(), 0);
  } finally {
    await f.close();
  }
});

Deno.test("a rejected join leaves the engine running but not ready", async () => {
  const f = await startFixture({
    engines: 1,
    launch: fakeEngineLaunch(),
    join: () => Promise.reject(new Error("system member with rank 0 already exists")),
  });
  try {
    const [i0] = f.harness.instances;
    assert(await i0.waitFor(() => f.joins.length === 1, WAIT));
    assert(await i0.waitFor((i) => i.info().lastError !== null, WAIT));
    assertEquals(i0.localState(), MemberState.Starting);
    assert(/already exists/.test(i0.info().lastError!));
    const res = await stopRanks(f.harness, [0], { timeoutMs: WAIT, force: true });
    assertEquals(res.length, 0, "no rank was ever assigned, so rank 0 is not local");
  } finally {
    await f.close();
  }
});

Deno.test("an excluded rank or a failing SetUp do not make the instance ready", async () => {
  const excluded = await startFixture({
    engines: 1,
    launch: fakeEngineLaunch(),
    join: (req) =>
      Promise.resolve(create(JoinRespSchema, { rank: req.rank, state: JoinResp_State.OUT })),
  });
  try {
    const [i0] = excluded.harness.instances;
    assert(await i0.waitFor((i) => i.info().lastError !== null, WAIT));
    assertEquals(i0.info().lastError, "rank 0 excluded");
    assertEquals(i0.localState(), MemberState.Starting);
  } finally {
    await excluded.close();
  }
  const badSetup = await startFixture({
    engines: 1,
    launch: fakeEngineLaunch({ FAKE_SETUP_STATUS: "-1003" }),
  });
  try {
    const [i0] = badSetup.harness.instances;
    assert(await i0.waitFor((i) => i.info().lastError !== null, WAIT));
    assert(/DER_INVAL\(-1003\)/.test(i0.info().lastError!), i0.info().lastError!);
    assert(!i0.isReady());
    const res = await startRanks(badSetup.harness, [0], { timeoutMs: 300 });
    assertEquals(res.map((r) => [r.state, r.errored]), [["errored", true]]);
    // The cause reaches the result, not only the log.
    assert(
      /^system start: rank failed to start: .*DER_INVAL\(-1003\)/.test(res[0].msg),
      res[0].msg,
    );
  } finally {
    await badSetup.close();
  }
});

Deno.test("a self-terminated engine is restarted automatically", async () => {
  const dir = await Deno.makeTempDir({ prefix: "harness-marker-" });
  const f = await startFixture({
    engines: 1,
    launch: fakeEngineLaunch({ FAKE_SELF_TERMINATE_ONCE: `${dir}/done` }),
  });
  try {
    const [i0] = f.harness.instances;
    // Ready, self-terminates (exit 1), then restarted by the harness and ready again.
    assert(
      await i0.waitFor((i) => i.isReady() && i.info().lastExitStatus === "exit status 1", WAIT),
      f.logs.join("\n"),
    );
    assert(f.logs.includes("INFO restarting self-terminated rank 0 (instance 0)"));
    assertEquals(f.joins.length, 2);
  } finally {
    await f.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a repeated NotifyReady does not start a second join", async () => {
  const f = await startFixture({
    engines: 1,
    launch: fakeEngineLaunch({ FAKE_NOTIFY_TWICE: "1" }),
  });
  try {
    const [i0] = f.harness.instances;
    assert(await i0.waitFor((i) => i.isReady(), WAIT), f.logs.join("\n"));
    assertEquals(f.joins.length, 1);
    assert(f.logs.includes("DEBUG instance 0: NotifyReady repeated while joining; ignored"));
  } finally {
    await f.close();
  }
});

Deno.test("a superblock write failing with ENOSPC is retried: the engine gets ready by itself once there is space", async () => {
  let full = true;
  let failures = 0;
  const f = await startFixture({
    engines: 1,
    launch: fakeEngineLaunch(),
    superblock: (_idx, store) => ({
      ...store,
      write: (sb) => {
        if (!full) return store.write(sb);
        failures++;
        return Promise.reject(
          new Error('writing superblock "/scm0/superblock" failed: No space left on device'),
        );
      },
    }),
  });
  try {
    const [i0] = f.harness.instances;
    assert(await i0.waitFor(() => failures >= 2, WAIT), f.logs.join("\n"));
    assert(!i0.isReady());
    assert(/No space left on device/.test(i0.info().lastError ?? ""), i0.info().lastError!);
    full = false; // space freed: the retry gets it ready, no operator needed
    assert(await i0.waitFor((i) => i.isReady(), WAIT), f.logs.join("\n"));
    assertEquals(i0.rank(), 0);
    assertEquals(f.joins.length, 1, "one join, after the superblock could be written");
    assertEquals(i0.info().lastError, null);

    // A system start that hits the full SCM reports the cause at once (not only "rank failed
    // to start", not after its deadline), and the engine still recovers by itself.
    await stopRanks(f.harness, [0], { timeoutMs: WAIT, force: true });
    full = true;
    const res = await startRanks(f.harness, [0], { timeoutMs: 10 * WAIT });
    assertEquals(res.map((r) => [r.rank, r.state, r.errored]), [[0, "errored", true]]);
    assert(
      /^system start: rank failed to start: .*superblock.*No space left on device.*\(start-up retried in the background\)$/
        .test(res[0].msg),
      res[0].msg,
    );
    full = false;
    assert(await i0.waitFor((i) => i.isReady(), WAIT), f.logs.join("\n"));
  } finally {
    await f.close();
  }
});

Deno.test("start-up retries are bounded: then the engine is left running, not ready, with the cause", async () => {
  const f = await startFixture({
    engines: 1,
    launch: fakeEngineLaunch({ FAKE_SETUP_STATUS: "-1003" }),
    startupRetryMs: 600,
  });
  try {
    const [i0] = f.harness.instances;
    assert(await i0.waitFor((i) => i.startupFailed(), WAIT), f.logs.join("\n"));
    assert(i0.isStarted() && !i0.isReady());
    assert(f.logs.some((l) => /start-up attempt 1 failed, retrying/.test(l)), f.logs.join("\n"));
    assert(f.logs.some((l) => /left running but not ready: .*DER_INVAL/.test(l)));
  } finally {
    await f.close();
  }
});

Deno.test("system start of an engine whose join was refused restarts it; OK only once it is ready again", async () => {
  let refuse = false;
  const f = await startFixture({
    engines: 1,
    launch: fakeEngineLaunch(),
    join: (req, assign) =>
      refuse
        ? Promise.reject(new Error("member 0 (rank 0) has been administratively excluded"))
        : Promise.resolve(assign(req)),
  });
  try {
    const [i0] = f.harness.instances;
    assert(await i0.waitFor((i) => i.isReady(), WAIT), f.logs.join("\n"));
    refuse = true; // exclude
    Deno.kill(i0.info().pid!, "SIGKILL");
    assert(await i0.waitFor((i) => !i.isStarted(), WAIT));
    // The new engine's join is refused: the result says why, not "OK".
    const first = await startRanks(f.harness, [0], { timeoutMs: WAIT });
    assertEquals(first.map((r) => [r.state, r.errored]), [["errored", true]]);
    assert(/failed to start: .*administratively excluded/.test(first[0].msg), first[0].msg);
    assert(i0.startupFailed() && i0.isStarted(), "left running, not ready");
    const pid = i0.info().pid;
    // Still refused: the engine is restarted (a new process), fails again, says why.
    const again = await startRanks(f.harness, [0], { timeoutMs: WAIT });
    assertEquals(again.map((r) => [r.state, r.errored]), [["errored", true]]);
    assert(/administratively excluded/.test(again[0].msg), again[0].msg);
    assert(i0.info().pid !== pid, "a new engine process was started");
    refuse = false; // clear-exclude
    const res = await startRanks(f.harness, [0], { timeoutMs: WAIT });
    assertEquals(res.map((r) => [r.state, r.msg, r.errored]), [["ready", "system start", false]]);
    assert(i0.isReady());
  } finally {
    await f.close();
  }
});

Deno.test("system start names why the engine exited (its last stderr line) and why a join is still retried", async () => {
  const dir = await Deno.makeTempDir({ prefix: "harness-fail-" });
  const marker = `${dir}/fail`;
  let release: (() => void) | undefined;
  let firstDone = false;
  const f = await startFixture({
    engines: 1,
    launch: fakeEngineLaunch({ FAKE_FAIL_START_IF: marker }),
    join: async (req, assign, onRetry) => {
      if (!firstDone) return assign(req); // the first start
      onRetry?.(new Error("not the DAOS Management Service leader (no leader known)"));
      await new Promise<void>((r) => release = r);
      return assign(req);
    },
  });
  try {
    const [i0] = f.harness.instances;
    assert(await i0.waitFor((i) => i.isReady(), WAIT), f.logs.join("\n"));
    firstDone = true;
    await stopRanks(f.harness, [0], { timeoutMs: WAIT, force: true });
    await Deno.writeTextFile(marker, "cannot open /scm0/daos_nvme.conf: No space left on device");
    const res = await startRanks(f.harness, [0], { timeoutMs: WAIT });
    assertEquals(res.map((r) => [r.state, r.errored]), [["errored", true]]);
    assertEquals(
      res[0].msg,
      "system start: rank failed to start: instance 0 exited: exit status 1 " +
        "(daos_engine: cannot open /scm0/daos_nvme.conf: No space left on device)",
    );
    await Deno.remove(marker);
    // The MS has no leader: the join is retried, and a start that ends meanwhile says so.
    const waiting = await startRanks(f.harness, [0], { timeoutMs: 1500 });
    assertEquals(waiting.map((r) => [r.state, r.errored]), [["errored", true]]);
    assert(
      /failed to start: join: not the DAOS Management Service leader \(no leader known\) \(retrying\)$/
        .test(waiting[0].msg),
      waiting[0].msg,
    );
    release?.();
    assert(await i0.waitFor((i) => i.isReady(), WAIT), f.logs.join("\n"));
  } finally {
    release?.();
    await f.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("system start of a rank whose storage needs format answers so at once", async () => {
  const f = await startFixture({ engines: 1, launch: fakeEngineLaunch() });
  try {
    const [i0] = f.harness.instances;
    assert(await i0.waitFor((i) => i.isReady(), WAIT), f.logs.join("\n"));
    await stopRanks(f.harness, [0], { timeoutMs: WAIT, force: true });
    await resetFormatRanks(f.harness, [0], { timeoutMs: WAIT });
    await stopRanks(f.harness, [0], { timeoutMs: WAIT, force: true });
    // A deadline far beyond any test timeout: only the answer "format required" ends the wait.
    const res = await startRanks(f.harness, [0], { timeoutMs: 3_600_000 });
    assertEquals(res.map((r) => [r.state, r.msg, r.errored]), [
      ["errored", "system start: rank failed to start: storage format required", true],
    ]);
  } finally {
    await f.close();
  }
});

Deno.test("a NotifyReady that is not the engine's own start-up changes nothing", async () => {
  const f = await startFixture({ engines: 2, launch: fakeEngineLaunch() });
  try {
    const [i0, i1] = f.harness.instances;
    assert(await i0.waitFor((i) => i.isReady(), WAIT), f.logs.join("\n"));
    assert(await i1.waitFor((i) => i.isReady(), WAIT), f.logs.join("\n"));
    const serverSock = `${f.socketDir}/daos_server.sock`;
    const own0 = `${f.socketDir}/daos_engine_${i0.info().pid}.sock`;
    const own1 = `${f.socketDir}/daos_engine_${i1.info().pid}.sock`;
    const notify = (instanceIdx: number, drpcListenerSock: string, uri: string) =>
      callDrpc(
        serverSock,
        DrpcModule.SRV,
        SrvMethod.NOTIFY_READY,
        toBinary(
          NotifyReadyReqSchema,
          create(NotifyReadyReqSchema, {
            instanceIdx,
            drpcListenerSock,
            uri,
            nctxs: 1,
            incarnation: 0xffffffffffffffffn,
          }),
        ),
        { timeoutMs: 5000 },
      );
    // A local process names a socket that is not the engine's: daos_server's own, the other
    // engine's, a path that merely ends in daos_engine_<pid>.sock; then repeats the engine's
    // own start-up with another URI.
    await notify(0, serverSock, "ofi+tcp://127.0.0.9:4");
    await notify(1, own0, "ofi+tcp://127.0.0.9:1");
    const elsewhere = await Deno.makeTempDir({ dir: f.dir });
    const foreign = Deno.listen({
      transport: "unix",
      path: `${elsewhere}/daos_engine_${i0.info().pid}.sock`,
    });
    try {
      await notify(0, `${elsewhere}/daos_engine_${i0.info().pid}.sock`, "ofi+tcp://127.0.0.9:2");
    } finally {
      foreign.close();
    }
    await notify(1, own1, "ofi+tcp://127.0.0.9:3");
    await new Promise((r) => setTimeout(r, 300)); // NotifyReady is processed after its reply
    assertEquals(f.joins.length, 2, f.logs.join("\n"));
    assert(i0.isReady() && i1.isReady(), f.logs.join("\n"));
    assertEquals(f.logs.filter((l) => /NotifyReady names dRPC socket/.test(l)).length, 3);
    assert(f.logs.includes(
      `ERROR instance 1: NotifyReady repeated after start-up of pid ${i1.info().pid}; ignored`,
    ));
    // Stopping engine 0 removes its own socket only: daos_server.sock stays.
    i0.stop("SIGTERM");
    assert(await i0.waitFor((i) => !i.isStarted(), WAIT), f.logs.join("\n"));
    assertEquals((await Deno.lstat(serverSock)).isSocket, true);
  } finally {
    await f.close();
  }
});
