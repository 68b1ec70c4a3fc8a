/**
 * Runs bin/daos_engine as a real process against a temp socket dir with a fake
 * daos_server.sock written here: NotifyReady arrives (after retries) with the right fields,
 * real dRPC calls are answered, malformed input gets the matching status and the engine keeps
 * serving, and SIGTERM ends it with exit 0, threads joined and its socket removed.
 */
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  toBinary,
} from "@bufbuild/protobuf";
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { boundedOutput, boundedStatus } from "../cluster/bounded.ts";
import { FakeServer, mgmtCall, until } from "./engine_fixture.ts";
import { callDrpc } from "../../control/drpc/client.ts";
import {
  encodeHeader,
  readMessage,
  StreamReader,
  writeMessage,
} from "../../control/drpc/framing.ts";
import { DrpcModule, MgmtMethod } from "../../control/drpc/ids.ts";
import { pingFabric } from "../../engine-ffi/fabric_ping.ts";
import {
  BioHealthReqSchema,
  BioHealthRespSchema,
  DevManageRespSchema,
  DevReplaceReqSchema,
  NvmeDevState,
  SetFaultyReqSchema,
  SmdDevReqSchema,
  SmdDevRespSchema,
} from "../../proto/gen/ts/ctl/smd_pb.ts";
import {
  type Response as DrpcResponse,
  ResponseSchema,
  Status,
} from "../../proto/gen/ts/drpc/drpc_pb.ts";
import {
  DaosRespSchema,
  GroupUpdateReqSchema,
  GroupUpdateRespSchema,
  PingRankReqSchema,
  PrepShutdownReqSchema,
  SetLogMasksReqSchema,
  SetLogMasksRespSchema,
  SetRankReqSchema,
} from "../../proto/gen/ts/mgmt/srv_pb.ts";

const top = new URL("../../", import.meta.url).pathname;
const opts = { timeoutMs: 5000 };
const DER_INVAL = -1003;
const DER_NONEXIST = -1005;
const DER_UNREACH = -1006;
const DER_SHUTDOWN = -2017;

/** Sends raw bytes as one framed message and returns the decoded Response. */
async function rawCall(path: string, msg: Uint8Array): Promise<DrpcResponse> {
  const conn = await Deno.connect({ transport: "unix", path });
  try {
    await writeMessage(conn, msg);
    const raw = await readMessage(new StreamReader(conn));
    ok(raw !== null, "engine closed the connection instead of answering");
    return fromBinary(ResponseSchema, raw);
  } finally {
    conn.close();
  }
}

const mgmt = mgmtCall;

function daosStatus(r: DrpcResponse): number {
  equal(r.status, Status.SUCCESS);
  return fromBinary(DaosRespSchema, r.body).status;
}

interface Running {
  child: Deno.ChildProcess;
  stderr: Promise<string>;
}

function startEngine(args: string[], env: Record<string, string>): Running {
  const child = new Deno.Command(`${top}bin/daos_engine`, {
    args,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  return { child, stderr };
}

async function stopEngine(
  r: Running,
  signal: Deno.Signal = "SIGTERM",
): Promise<Deno.CommandStatus> {
  try {
    r.child.kill(signal);
  } catch { /* already exited */ }
  const status = await boundedStatus(r.child, `daos_engine after ${signal}`);
  await r.stderr;
  return status;
}

Deno.test("daos_engine: NotifyReady, dRPC calls, malformed input, SIGTERM", async () => {
  const dir = await Deno.makeTempDir({ prefix: "engine_it_" });
  const scm = `${dir}/scm`;
  const bdev = `${dir}/bdev0`;
  const conf = `${dir}/daos_nvme.conf`;
  const log = `${dir}/engine.log`;
  let server: FakeServer | undefined;
  let running: Running | undefined;
  try {
    await Deno.mkdir(scm);
    await Deno.writeFile(bdev, new Uint8Array(0));
    await Deno.truncate(bdev, 16 << 20);
    await Deno.writeTextFile(
      conf,
      JSON.stringify(
        {
          daos_data: { config: [] },
          subsystems: [{
            subsystem: "bdev",
            config: [
              {
                params: { bdev_io_pool_size: 65536, bdev_io_cache_size: 256 },
                method: "bdev_set_options",
              },
              {
                params: { block_size: 4096, name: "AIO_h_1_0_0", filename: bdev },
                method: "bdev_aio_create",
              },
              { params: { enable: false, period_us: 0 }, method: "bdev_nvme_set_hotplug" },
            ],
          }],
        },
        null,
        2,
      ),
    );
    const env = { DAOS_FABRIC_ADDR: "127.0.0.1", D_LOG_FILE: log, D_LOG_MASK: "INFO" };
    const args = ["-t", "2", "-x", "1", "-s", scm, "-n", conf, "-d", dir, "-I", "1", "-g", "sys"];
    const before = BigInt(Date.now()) * 1_000_000n;
    running = startEngine(args, env);
    const sock = `${dir}/daos_engine_${running.child.pid}.sock`;
    // the server socket appears only after the engine is up: NotifyReady must retry
    await until(
      "the engine socket",
      () => Deno.stat(sock).then((s) => s.isSocket === true, () => false),
    );
    server = new FakeServer(`${dir}/daos_server.sock`);
    await until("NotifyReady", () => server!.notifications.length === 1);
    const nr = server.notifications[0];
    match(nr.uri, /^ofi\+tcp:\/\/127\.0\.0\.1:\d+$/);
    equal(nr.nctxs, 4); // 2 targets + 1 helper + system
    equal(nr.drpcListenerSock, sock);
    equal(nr.instanceIdx, 1);
    equal(nr.ntgts, 2);
    ok(nr.incarnation >= before, "incarnation is clock-based");
    equal(nr.checkMode, false);

    // the URI is real: it answers the fabric ping
    const pong = await pingFabric(nr.uri);
    equal(pong.instance, 1);
    equal(pong.rank, 0xFFFFFFFF);
    equal(pong.incarnation, nr.incarnation);

    equal(
      daosStatus(
        await mgmt(sock, MgmtMethod.SET_RANK, SetRankReqSchema, { rank: 1, mapVersion: 2 }),
      ),
      0,
    );
    equal((await pingFabric(nr.uri)).rank, 1);
    equal(
      daosStatus(await mgmt(sock, MgmtMethod.SET_RANK, SetRankReqSchema, { rank: 9 })),
      DER_INVAL,
    );
    equal(daosStatus(await mgmt(sock, MgmtMethod.PING_RANK, PingRankReqSchema, { rank: 1 })), 0);
    equal(
      daosStatus(await mgmt(sock, MgmtMethod.PING_RANK, PingRankReqSchema, { rank: 5 })),
      DER_NONEXIST,
    );
    equal(
      daosStatus(await callDrpc(sock, DrpcModule.MGMT, MgmtMethod.SET_UP, new Uint8Array(0), opts)),
      0,
    );

    // group map: rank 2 at a closed port is unreachable, ourselves are fine
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadUri = `ofi+tcp://127.0.0.1:${(closed.addr as Deno.NetAddr).port}`;
    closed.close();
    const gu = await mgmt(sock, MgmtMethod.GROUP_UPDATE, GroupUpdateReqSchema, {
      mapVersion: 3,
      engines: [{ rank: 1, uri: nr.uri, incarnation: nr.incarnation }, {
        rank: 2,
        uri: deadUri,
        incarnation: 1n,
      }],
    });
    equal(fromBinary(GroupUpdateRespSchema, gu.body).status, 0);
    equal(
      daosStatus(await mgmt(sock, MgmtMethod.PING_RANK, PingRankReqSchema, { rank: 2 })),
      DER_UNREACH,
    );
    const badGu = await mgmt(sock, MgmtMethod.GROUP_UPDATE, GroupUpdateReqSchema, {
      mapVersion: 4,
      engines: [{ rank: 1, uri: "" }],
    });
    equal(fromBinary(GroupUpdateRespSchema, badGu.body).status, DER_INVAL);

    // a map big enough to need several 128 KiB chunks arrives whole
    const big = Array.from({ length: 12000 }, (_, i) => ({
      rank: i + 1,
      uri: i === 0 ? nr.uri : deadUri,
      incarnation: BigInt(i),
    }));
    const bigReq = toBinary(
      GroupUpdateReqSchema,
      create(GroupUpdateReqSchema, { mapVersion: 5, engines: big }),
    );
    ok(bigReq.length > 2 * 131048, `GroupUpdate is ${bigReq.length} bytes`);
    const bigResp = await callDrpc(sock, DrpcModule.MGMT, MgmtMethod.GROUP_UPDATE, bigReq, opts);
    equal(fromBinary(GroupUpdateRespSchema, bigResp.body).status, 0);
    equal(
      daosStatus(await mgmt(sock, MgmtMethod.PING_RANK, PingRankReqSchema, { rank: 12000 })),
      DER_UNREACH,
    );

    const smd = fromBinary(
      SmdDevRespSchema,
      (await mgmt(sock, MgmtMethod.SMD_LIST_DEVS, SmdDevReqSchema, {})).body,
    );
    equal(smd.status, 0);
    equal(smd.devices.length, 1);
    const dev = smd.devices[0];
    equal(dev.bdevPath, bdev);
    equal(dev.bdevClass, "file");
    equal(dev.totalBytes, BigInt(16 << 20));
    equal(dev.rank, 1);
    deepEqual(dev.tgtIds, [0, 1]);
    equal(dev.ctrlr?.devState, NvmeDevState.NORMAL);
    const health = fromBinary(
      BioHealthRespSchema,
      (await mgmt(sock, MgmtMethod.BIO_HEALTH_QUERY, BioHealthReqSchema, { devUuid: dev.uuid }))
        .body,
    );
    equal(health.status, 0);
    equal(health.devUuid, dev.uuid);
    equal(health.totalBytes, BigInt(16 << 20));
    const noDev = fromBinary(
      BioHealthRespSchema,
      (await mgmt(sock, MgmtMethod.BIO_HEALTH_QUERY, BioHealthReqSchema, { devUuid: "nope" })).body,
    );
    equal(noDev.status, DER_NONEXIST);

    const masks = async (m: string) =>
      fromBinary(
        SetLogMasksRespSchema,
        (await mgmt(sock, MgmtMethod.SET_LOG_MASKS, SetLogMasksReqSchema, { masks: m })).body,
      ).status;
    equal(await masks("DEBUG"), 0);
    equal(await masks("LOUD"), DER_INVAL);
    // Device state rules (DevSetFaulty 220, DevReplace 221): NORMAL → EVICTED once; replace
    // only an EVICTED device, by itself (this engine has no NEW device to swap in).
    const devOp = async <D extends DescMessage>(m: number, s: D, init: MessageInitShape<D>) => {
      const r = fromBinary(DevManageRespSchema, (await mgmt(sock, m, s, init)).body);
      return [r.status, r.device?.ctrlr?.devState];
    };
    const faulty = () => devOp(MgmtMethod.DEV_SET_FAULTY, SetFaultyReqSchema, { uuid: dev.uuid });
    const replace = (n: string) =>
      devOp(MgmtMethod.DEV_REPLACE, DevReplaceReqSchema, { oldDevUuid: dev.uuid, newDevUuid: n });
    deepEqual(await replace(dev.uuid), [DER_INVAL, NvmeDevState.NORMAL]);
    deepEqual(await faulty(), [0, NvmeDevState.EVICTED]);
    deepEqual(await faulty(), [DER_INVAL, NvmeDevState.EVICTED]);
    deepEqual(
      await devOp(MgmtMethod.DEV_SET_FAULTY, SetFaultyReqSchema, { uuid: "nope" }),
      [DER_NONEXIST, undefined],
    );
    deepEqual((await replace("nope"))[0], DER_NONEXIST);
    deepEqual(await replace(dev.uuid), [0, NvmeDevState.NORMAL]);
    // PrepShutdown: the targets take no new work, so pinging ourselves fails; SetUp clears it
    const pingSelf = async () =>
      daosStatus(await mgmt(sock, MgmtMethod.PING_RANK, PingRankReqSchema, { rank: 1 }));
    const prepShutdown = async () =>
      daosStatus(await mgmt(sock, MgmtMethod.PREP_SHUTDOWN, PrepShutdownReqSchema, { rank: 1 }));
    equal(await prepShutdown(), 0);
    equal(await pingSelf(), DER_SHUTDOWN);
    equal(
      daosStatus(await mgmt(sock, MgmtMethod.PING_RANK, PingRankReqSchema, { rank: 20000 })),
      DER_NONEXIST,
      "other ranks are still looked up in the group map",
    );
    equal(
      daosStatus(await callDrpc(sock, DrpcModule.MGMT, MgmtMethod.SET_UP, new Uint8Array(0), opts)),
      0,
    );
    equal(await pingSelf(), 0);

    // dispatch errors
    equal((await callDrpc(sock, 9, 1, new Uint8Array(0), opts)).status, Status.UNKNOWN_MODULE);
    equal(
      (await callDrpc(sock, DrpcModule.SRV, 301, new Uint8Array(0), opts)).status,
      Status.UNKNOWN_MODULE,
    );
    equal(
      (await callDrpc(sock, DrpcModule.MGMT, 299, new Uint8Array(0), opts)).status,
      Status.UNKNOWN_METHOD,
    );
    const badCall = await rawCall(sock, new Uint8Array([0x08, 0xff, 0xff]));
    equal(badCall.status, Status.FAILED_UNMARSHAL_CALL);
    equal(badCall.sequence, -1n);
    const badPayload = await callDrpc(
      sock,
      DrpcModule.MGMT,
      MgmtMethod.SET_RANK,
      new Uint8Array([0x08, 0xff]),
      {
        ...opts,
        sequence: 77n,
      },
    );
    equal(badPayload.status, Status.FAILED_UNMARSHAL_PAYLOAD);
    equal(badPayload.sequence, 77n);

    // a broken frame (total_chunks 0): the engine drops that connection only
    const conn = await Deno.connect({ transport: "unix", path: sock });
    try {
      await conn.write(encodeHeader({ totalSize: 3, chunkSize: 3, chunkIndex: 0, totalChunks: 0 }));
      equal(await conn.read(new Uint8Array(16)), null);
    } finally {
      conn.close();
    }
    // still serving
    equal(daosStatus(await mgmt(sock, MgmtMethod.PING_RANK, PingRankReqSchema, { rank: 1 })), 0);

    // as daos_server stops a rank: PrepShutdown, then SIGTERM
    equal(await prepShutdown(), 0);
    equal(await pingSelf(), DER_SHUTDOWN);
    const status = await stopEngine(running);
    running = undefined;
    equal(status.code, 0);
    equal(await Deno.stat(sock).catch(() => null), null);
    const text = await Deno.readTextFile(log);
    match(text, /engine 1 stopped: all threads joined/);

    // a restart reports a larger incarnation
    running = startEngine(args, env);
    await until("second NotifyReady", () => server!.notifications.length === 2);
    ok(server.notifications[1].incarnation > nr.incarnation);
    // the restarted engine starts without the PrepShutdown of its predecessor
    const sock2 = server.notifications[1].drpcListenerSock;
    equal(
      daosStatus(await mgmt(sock2, MgmtMethod.SET_RANK, SetRankReqSchema, { rank: 1 })),
      0,
    );
    equal(
      daosStatus(await mgmt(sock2, MgmtMethod.PING_RANK, PingRankReqSchema, { rank: 1 })),
      0,
    );
    equal((await stopEngine(running, "SIGINT")).code, 0);
    running = undefined;
    deepEqual(new Set(server.calls.map((c) => `${c.module}/${c.method}`)), new Set(["3/301"]));
  } finally {
    if (running) await stopEngine(running);
    await server?.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("daos_engine: bad arguments exit 1 with a clear message", async () => {
  const out = await boundedOutput(`${top}bin/daos_engine`, {
    args: ["-t", "0", "-s", "/tmp", "-d", "/tmp"],
  });
  equal(out.code, 1);
  match(new TextDecoder().decode(out.stderr), /invalid value '0' for -t/);
});

Deno.test("daos_engine: NotifyReady rejected by daos_server → the engine stops, exit 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "engine_rej_" });
  const server = new FakeServer(`${dir}/daos_server.sock`, true);
  let running: Running | undefined;
  try {
    running = startEngine(["-t", "1", "-s", dir, "-d", dir], { DAOS_FABRIC_ADDR: "127.0.0.1" });
    const status = await boundedStatus(running.child, "daos_engine rejected by daos_server");
    const stderr = await running.stderr;
    running = undefined;
    equal(status.code, 1);
    match(stderr, /NotifyReady rejected by daos_server/);
    equal(server.notifications.length, 1);
    deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("daos_engine_")),
      [],
    );
  } finally {
    if (running) await stopEngine(running);
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two daos_engines: PingRank crosses the fabric; a stale map, a stopped rank fail", async () => {
  const dir = await Deno.makeTempDir({ prefix: "engine_fab_" });
  const DER_TIMEDOUT = -1011;
  let server: FakeServer | undefined;
  const engines: Running[] = [];
  try {
    server = new FakeServer(`${dir}/daos_server.sock`);
    for (const i of [0, 1]) {
      await Deno.mkdir(`${dir}/scm${i}`);
      const env = { DAOS_FABRIC_ADDR: "127.0.0.1", D_LOG_FILE: `${dir}/engine${i}.log` };
      const args = ["-t", "1", "-s", `${dir}/scm${i}`, "-d", dir, "-I", `${i}`, "-g", "sys"];
      engines.push(startEngine(args, env));
    }
    await until("both NotifyReady", () => server!.notifications.length === 2);
    const nr = [0, 1].map((i) => server!.notifications.find((n) => n.instanceIdx === i)!);
    const sock = nr.map((n) => n.drpcListenerSock);
    for (const i of [0, 1]) {
      equal(daosStatus(await mgmt(sock[i], MgmtMethod.SET_RANK, SetRankReqSchema, { rank: i })), 0);
    }
    const map = (version: number, inc1: bigint) =>
      create(GroupUpdateReqSchema, {
        mapVersion: version,
        engines: [
          { rank: 0, uri: nr[0].uri, incarnation: nr[0].incarnation },
          { rank: 1, uri: nr[1].uri, incarnation: inc1 },
        ],
      });
    const update = async (i: number, version: number, inc1: bigint) => {
      const body = toBinary(GroupUpdateReqSchema, map(version, inc1));
      const r = await callDrpc(sock[i], DrpcModule.MGMT, MgmtMethod.GROUP_UPDATE, body, opts);
      equal(fromBinary(GroupUpdateRespSchema, r.body).status, 0);
    };
    const ping = async (from: number, rank: number) =>
      daosStatus(await mgmt(sock[from], MgmtMethod.PING_RANK, PingRankReqSchema, { rank }));
    await update(0, 3, nr[1].incarnation);
    await update(1, 3, nr[1].incarnation);

    // each engine reaches the other through a ping RPC on libfabric (the first contact sets
    // up the connection: on a loaded machine it may take more than one 2 s ping)
    for (const [from, to] of [[0, 1], [1, 0]]) {
      let st = await ping(from, to);
      for (let i = 0; i < 4 && st !== 0; i++) st = await ping(from, to);
      equal(st, 0, `PingRank ${from}->${to}`);
    }
    equal(await ping(0, 1), 0);
    equal(await ping(1, 0), 0);
    equal(await ping(0, 7), DER_NONEXIST);

    // a map naming another incarnation of rank 1 is stale: the answer does not count
    await update(0, 4, nr[1].incarnation + 1n);
    equal(await ping(0, 1), DER_UNREACH);
    await update(0, 5, nr[1].incarnation);
    equal(await ping(0, 1), 0);

    // a stopped engine does not answer: the ping ends at its bound (2 s), then works again
    engines[1].child.kill("SIGSTOP");
    // kill() returns before the kernel has stopped every thread: a ping sent at once may still
    // be answered. Wait (bounded) until /proc shows the process stopped.
    await until("engine 1 stopped", async () => {
      const stat = await Deno.readTextFile(`/proc/${engines[1].child.pid}/stat`);
      return stat.slice(stat.lastIndexOf(")") + 2).startsWith("T");
    });
    const t0 = Date.now();
    try {
      equal(await ping(0, 1), DER_TIMEDOUT);
      const took = Date.now() - t0;
      ok(took >= 1900 && took < 4500, `PingRank of a stopped rank took ${took} ms`);
    } finally {
      engines[1].child.kill("SIGCONT");
    }
    equal(await ping(0, 1), 0);

    for (const r of engines.splice(0)) deepEqual((await stopEngine(r)).code, 0);
  } finally {
    for (const r of engines) await stopEngine(r, "SIGKILL");
    await server?.close();
    await Deno.remove(dir, { recursive: true });
  }
});
