/**
 * In-process tests of the FFI binding: the engine library runs inside the test process,
 * serves dRPC on its socket and stops with every thread joined before the library closes.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { NilRank } from "../control/lib/rankset.ts";
import { equal, match, ok, throws } from "node:assert/strict";
import { callDrpc } from "../control/drpc/client.ts";
import { DrpcModule, MgmtMethod } from "../control/drpc/ids.ts";
import { Status } from "../proto/gen/ts/drpc/drpc_pb.ts";
import {
  DaosRespSchema,
  PingRankReqSchema,
  PrepShutdownReqSchema,
  SetRankReqSchema,
} from "../proto/gen/ts/mgmt/srv_pb.ts";
import { Engine, EngineError, EngineState, openEngineLibrary } from "./ffi.ts";
import { pingFabric } from "./fabric_ping.ts";

const opts = { timeoutMs: 5000 };

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "engine_ffi_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("Engine.create reports bad arguments with the flag and the fix", () => {
  const lib = openEngineLibrary();
  try {
    throws(() => Engine.create(lib, ["-s", "/tmp", "-d", "/tmp"]), (e: Error) => {
      ok(e instanceof EngineError);
      match(e.message, /missing engine argument -t <targets>/);
      return true;
    });
    throws(() => Engine.create(lib, ["-t", "two", "-s", "/tmp", "-d", "/tmp"]), /'two' for -t/);
    throws(
      () => Engine.create(lib, ["-t", "1", "-s", "/nonexistent-scm", "-d", "/tmp"]),
      /SCM mount \/nonexistent-scm \(-s\)/,
    );
    throws(
      () => Engine.create(lib, ["-t", "1", "-s", "/tmp", "-d", "/tmp", "-m", "vos"]),
      /unknown engine module 'vos'/,
    );
  } finally {
    lib.close();
  }
});

Deno.test("engine in-process: serves dRPC, pings, stops with all threads joined", async () => {
  await withTempDir(async (dir) => {
    const scm = `${dir}/scm`;
    await Deno.mkdir(scm);
    Deno.env.set("DAOS_FABRIC_ADDR", "127.0.0.1");
    const lib = openEngineLibrary();
    let engine: Engine | undefined;
    try {
      engine = Engine.create(lib, ["-t", "3", "-x", "1", "-s", scm, "-d", dir, "-I", "2"]);
      equal(engine.state, EngineState.Created);
      equal(engine.rank, NilRank);
      // one engine per process: a second create is refused while the first exists
      throws(() => Engine.create(lib, ["-t", "1", "-s", scm, "-d", dir]), /one engine per/);
      engine.start();
      equal(engine.state, EngineState.Started);
      equal(engine.socketPath, `${dir}/daos_engine_${Deno.pid}.sock`);
      ok((await Deno.stat(engine.socketPath)).isSocket);
      match(engine.uri, /^ofi\+tcp:\/\/127\.0\.0\.1:\d+$/);
      // 3 targets + 1 helper + system xstream + the NotifyReady thread (no server: retrying)
      equal(engine.threadCount, 6);

      const setRank = await callDrpc(
        engine.socketPath,
        DrpcModule.MGMT,
        MgmtMethod.SET_RANK,
        toBinary(SetRankReqSchema, create(SetRankReqSchema, { rank: 7, mapVersion: 3 })),
        opts,
      );
      equal(setRank.status, Status.SUCCESS);
      equal(fromBinary(DaosRespSchema, setRank.body).status, 0);
      equal(engine.rank, 7);

      const ping = await callDrpc(
        engine.socketPath,
        DrpcModule.MGMT,
        MgmtMethod.PING_RANK,
        toBinary(PingRankReqSchema, create(PingRankReqSchema, { rank: 7 })),
        opts,
      );
      equal(fromBinary(DaosRespSchema, ping.body).status, 0);

      // PrepShutdown: reported by the getter, the targets refuse work (-DER_SHUTDOWN)
      const mgmt = async (method: number, body: Uint8Array) =>
        fromBinary(
          DaosRespSchema,
          (await callDrpc(engine!.socketPath, DrpcModule.MGMT, method, body, opts)).body,
        ).status;
      const pingSelf = toBinary(PingRankReqSchema, create(PingRankReqSchema, { rank: 7 }));
      equal(engine.prepShutdown, false);
      const prep = toBinary(PrepShutdownReqSchema, create(PrepShutdownReqSchema, { rank: 7 }));
      equal(await mgmt(MgmtMethod.PREP_SHUTDOWN, prep), 0);
      equal(engine.prepShutdown, true);
      equal(await mgmt(MgmtMethod.PING_RANK, pingSelf), -2017);
      equal(await mgmt(MgmtMethod.SET_UP, new Uint8Array(0)), 0);
      equal(engine.prepShutdown, false);
      equal(await mgmt(MgmtMethod.PING_RANK, pingSelf), 0);

      const pong = await pingFabric(engine.uri);
      equal(pong.rank, 7);
      equal(pong.instance, 2);
      equal(pong.incarnation, engine.incarnation);

      engine.requestStop();
      equal(await engine.wait(5000), true);
      engine.stop();
      equal(engine.state, EngineState.Stopped);
      equal(engine.threadCount, 0);
      equal(engine.socketPath, "");
      equal(await Deno.stat(`${dir}/daos_engine_${Deno.pid}.sock`).catch(() => null), null);
    } finally {
      engine?.destroy();
      lib.close();
      Deno.env.delete("DAOS_FABRIC_ADDR");
    }
  });
});

Deno.test("engine.wait times out while running", async () => {
  await withTempDir(async (dir) => {
    const lib = openEngineLibrary();
    let engine: Engine | undefined;
    try {
      engine = Engine.create(lib, ["-t", "1", "-s", dir, "-d", dir]);
      equal(await engine.wait(10), false);
      engine.requestStop();
      equal(await engine.wait(-1), true);
    } finally {
      engine?.destroy();
      lib.close();
    }
  });
});
