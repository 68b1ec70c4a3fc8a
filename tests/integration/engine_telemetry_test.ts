/**
 * Runs bin/daos_engine as a real process and reads its telemetry tree in /dev/shm through the
 * FFI reader, as daos_server does: started_at and rank appear, dRPC call counts and latency
 * grow with the calls made, servicing_at follows SetUp; the tree is gone after SIGTERM; after
 * a SIGKILL the left tree reads as stale and the next start of that instance replaces it;
 * with DAOS_TM_DISABLE=1 the engine serves dRPC without any tree.
 */
import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import { equal, ok, throws } from "node:assert/strict";
import { boundedStatus } from "../cluster/bounded.ts";
import { FakeServer, mgmtCall, until as untilEvery } from "./engine_fixture.ts";
import { callDrpc } from "../../control/drpc/client.ts";
import { DrpcModule, MgmtMethod } from "../../control/drpc/ids.ts";
import { Status } from "../../proto/gen/ts/drpc/drpc_pb.ts";
import { PingRankReqSchema, SetRankReqSchema } from "../../proto/gen/ts/mgmt/srv_pb.ts";
import {
  closeTelemetryReader,
  type EngineMetric,
  type EngineMetrics,
  readEngineMetrics,
  removeStaleEngineTree,
  TelemetryError,
} from "../../engine-ffi/telemetry.ts";

const top = new URL("../../", import.meta.url).pathname;
const opts = { timeoutMs: 5000 };

/** Polls cond every 20 ms for up to 15 s (an engine process takes a while to start). */
function until(what: string, cond: () => Promise<boolean> | boolean): Promise<void> {
  return untilEvery(what, cond, { tries: 750, intervalMs: 20 });
}

/** Calls an mgmt method and checks that the engine answered it. */
async function mgmt<Desc extends DescMessage>(
  sock: string,
  method: number,
  schema: Desc,
  init: MessageInitShape<Desc>,
): Promise<void> {
  equal((await mgmtCall(sock, method, schema, init)).status, Status.SUCCESS);
}

interface Running {
  child: Deno.ChildProcess;
  sock: string;
}

function startEngine(dir: string, system: string, env: Record<string, string> = {}): Running {
  const child = new Deno.Command(`${top}bin/daos_engine`, {
    args: ["-t", "2", "-x", "0", "-s", `${dir}/scm`, "-d", dir, "-I", "0", "-g", system],
    env: { DAOS_FABRIC_ADDR: "127.0.0.1", D_LOG_FILE: `${dir}/engine.log`, ...env },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  return { child, sock: `${dir}/daos_engine_${child.pid}.sock` };
}

async function stop(r: Running, signal: Deno.Signal): Promise<Deno.CommandStatus> {
  try {
    r.child.kill(signal);
  } catch { /* already exited */ }
  return await boundedStatus(r.child, `daos_engine after ${signal}`);
}

/** Asserts that fn throws a TelemetryError of `kind` whose message includes `text`. */
function throwsKind(fn: () => unknown, kind: TelemetryError["kind"], text = ""): void {
  throws(fn, (e: Error) => {
    ok(e instanceof TelemetryError && e.kind === kind, e.message);
    ok(e.message.includes(text), e.message);
    return true;
  });
}

/** Kills the engine if still running, closes the reader and the fake server, removes files. */
async function cleanUp(
  running: Running | undefined,
  server: FakeServer,
  file: string,
  dir: string,
): Promise<void> {
  if (running) await stop(running, "SIGKILL");
  closeTelemetryReader();
  await server.close();
  await Deno.remove(file).catch(() => undefined);
  await Deno.remove(dir, { recursive: true });
}

/** The tree once it belongs to pid (a tree of an earlier engine may still be there). */
async function treeOf(system: string, pid: number): Promise<EngineMetrics> {
  let m: EngineMetrics | undefined;
  await until(`the telemetry tree of engine ${pid}`, () => {
    try {
      m = readEngineMetrics(system, 0);
      return m.pid === pid;
    } catch (e) {
      if (e instanceof TelemetryError && (e.kind === "not_running" || e.kind === "stale")) {
        return false;
      }
      throw e;
    }
  });
  return m!;
}

function find(m: EngineMetrics, path: string): EngineMetric | undefined {
  return m.metrics.find((x) => x.path === path);
}

function value(m: EngineMetrics, path: string): number {
  const x = find(m, path);
  ok(x !== undefined && x.type !== "duration", `no value metric ${path}`);
  return x.value;
}

Deno.test("daos_engine telemetry: metrics move with dRPC calls, tree removed at exit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "engine_tm_" });
  // a system name of our own: trees live in the shared /dev/shm
  const system = `tmtest_${Deno.pid}_${Math.floor(Math.random() * 1e6)}`;
  const file = `/dev/shm/daos_tm_${system}_0`;
  const server = new FakeServer(`${dir}/daos_server.sock`);
  let running: Running | undefined;
  try {
    await Deno.mkdir(`${dir}/scm`);
    const before = Math.floor(Date.now() / 1000);
    running = startEngine(dir, system);
    const r = running;
    let m = await treeOf(system, r.child.pid);
    equal(m.system, system);
    equal(m.instance, 0);
    const started = value(m, "started_at");
    ok(started >= before && started <= Date.now() / 1000 + 1, `started_at ${started}`);
    equal(find(m, "rank"), undefined, "no rank before SetRank");
    equal(find(m, "servicing_at"), undefined, "not servicing before SetUp");
    equal((await Deno.stat(file)).mode! & 0o777, 0o640);

    await until("the dRPC socket", () => Deno.stat(r.sock).then(() => true, () => false));
    await mgmt(r.sock, MgmtMethod.SET_RANK, SetRankReqSchema, { rank: 3, mapVersion: 1 });
    m = readEngineMetrics(system, 0);
    equal(value(m, "rank"), 3);
    equal(value(m, "drpc/mgmt/set_rank/calls"), 1);

    for (let i = 0; i < 5; i++) {
      await mgmt(r.sock, MgmtMethod.PING_RANK, PingRankReqSchema, { rank: 3 });
    }
    const setUp = await callDrpc(
      r.sock,
      DrpcModule.MGMT,
      MgmtMethod.SET_UP,
      new Uint8Array(0),
      opts,
    );
    equal(setUp.status, Status.SUCCESS);
    m = readEngineMetrics(system, 0);
    equal(value(m, "drpc/mgmt/ping_rank/calls"), 5);
    const lat = find(m, "drpc/mgmt/ping_rank/latency");
    ok(lat?.type === "duration");
    equal(lat.count, 5);
    ok(lat.min > 0 && lat.min <= lat.max && lat.sum >= 5 * lat.min, JSON.stringify(lat));
    equal(value(m, "drpc/mgmt/set_up/calls"), 1);
    ok(value(m, "servicing_at") >= started);
    // the system xstream (2 targets + 0 helpers → xs_2) cycled for each call at least
    ok(value(m, "sched/xs_2/cycles") >= 7, `cycles ${value(m, "sched/xs_2/cycles")}`);
    await mgmt(r.sock, MgmtMethod.PING_RANK, PingRankReqSchema, { rank: 3 });
    equal(value(readEngineMetrics(system, 0), "drpc/mgmt/ping_rank/calls"), 6);

    equal((await stop(r, "SIGTERM")).code, 0);
    running = undefined;
    throwsKind(() => readEngineMetrics(system, 0), "not_running");
  } finally {
    await cleanUp(running, server, file, dir);
  }
});

Deno.test("daos_engine telemetry: a killed engine's tree is stale, the next start replaces it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "engine_tm_" });
  const system = `tmkill_${Deno.pid}_${Math.floor(Math.random() * 1e6)}`;
  const file = `/dev/shm/daos_tm_${system}_0`;
  const server = new FakeServer(`${dir}/daos_server.sock`);
  let running: Running | undefined;
  try {
    await Deno.mkdir(`${dir}/scm`);
    running = startEngine(dir, system);
    const first = running.child.pid;
    await treeOf(system, first);
    const st = await stop(running, "SIGKILL");
    running = undefined;
    equal(st.signal, "SIGKILL");
    ok((await Deno.stat(file)).isFile, "a killed engine leaves its tree");
    throwsKind(() => readEngineMetrics(system, 0), "stale", `pid ${first}`);

    running = startEngine(dir, system);
    const m = await treeOf(system, running.child.pid);
    ok(m.pid !== first);
    ok(find(m, "started_at") !== undefined);
    // a live engine's tree is not removed
    throwsKind(() => removeStaleEngineTree(system, 0), "busy");
    equal((await stop(running, "SIGTERM")).code, 0);
    running = undefined;
    await Deno.stat(file).then(
      () => Promise.reject(new Error(`${file} left after the engine stopped`)),
      (e) => ok(e instanceof Deno.errors.NotFound),
    );

    // what daos_server does when an engine died: remove the tree it left
    running = startEngine(dir, system);
    await treeOf(system, running.child.pid);
    equal((await stop(running, "SIGKILL")).signal, "SIGKILL");
    running = undefined;
    equal(removeStaleEngineTree(system, 0), true);
    equal(removeStaleEngineTree(system, 0), false);
    throwsKind(() => readEngineMetrics(system, 0), "not_running");
  } finally {
    await cleanUp(running, server, file, dir);
  }
});

Deno.test("daos_engine telemetry: DAOS_TM_DISABLE=1 runs the engine without a tree", async () => {
  const dir = await Deno.makeTempDir({ prefix: "engine_tm_" });
  const system = `tmoff_${Deno.pid}_${Math.floor(Math.random() * 1e6)}`;
  const file = `/dev/shm/daos_tm_${system}_0`;
  const server = new FakeServer(`${dir}/daos_server.sock`);
  let running: Running | undefined;
  try {
    await Deno.mkdir(`${dir}/scm`);
    running = startEngine(dir, system, { DAOS_TM_DISABLE: "1", D_LOG_MASK: "INFO" });
    const r = running;
    await until("the dRPC socket", () => Deno.stat(r.sock).then(() => true, () => false));
    await mgmt(r.sock, MgmtMethod.SET_RANK, SetRankReqSchema, { rank: 2, mapVersion: 1 });
    await mgmt(r.sock, MgmtMethod.PING_RANK, PingRankReqSchema, { rank: 2 });
    throwsKind(() => readEngineMetrics(system, 0), "not_running");
    await Deno.stat(file).then(
      () => Promise.reject(new Error(`${file} created although DAOS_TM_DISABLE=1`)),
      (e) => ok(e instanceof Deno.errors.NotFound),
    );
    ok(
      (await Deno.readTextFile(`${dir}/engine.log`)).includes(
        "without telemetry (DAOS_TM_DISABLE=1)",
      ),
    );
    equal((await stop(r, "SIGTERM")).code, 0);
    running = undefined;
  } finally {
    await cleanUp(running, server, file, dir);
  }
});
