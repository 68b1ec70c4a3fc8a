import { deepEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { CallSchema, ResponseSchema, Status } from "../../proto/gen/ts/drpc/drpc_pb.ts";
import { type NotifyReadyReq, NotifyReadyReqSchema } from "../../proto/gen/ts/srv/srv_pb.ts";
import {
  ClusterEventReqSchema,
  ClusterEventRespSchema,
  RASEventSchema,
} from "../../proto/gen/ts/shared/event_pb.ts";
import { hasFaultCode } from "../lib/fault.ts";
import { callDrpc, DrpcTimeoutError, SerialDrpcClient } from "./client.ts";
import { encodeHeader, encodeMessage, readMessage, StreamReader, writeMessage } from "./framing.ts";
import { DrpcModule, SrvMethod } from "./ids.ts";
import { DrpcServer, SERVER_SOCKET_NAME } from "./server.ts";
import { registerServerModules, SERVER_MAX_MESSAGE_SIZE, serverDrpcOptions } from "./srv_module.ts";
import { prng } from "../../tests/util/prng.ts";

const opts = { timeoutMs: 5000 };

interface Fixture {
  dir: string;
  server: DrpcServer;
  notified: NotifyReadyReq[];
  errors: string[];
}

/** Runs fn with a started server in a fresh temp dir; removes everything afterwards. */
async function withServer(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "drpc-test-" });
  const notified: NotifyReadyReq[] = [];
  const errors: string[] = [];
  // daos_server.sock as engine_plane.ts makes it.
  const server = new DrpcServer(serverDrpcOptions(dir, { error: (m) => errors.push(m) }));
  registerServerModules(server, {
    instanceCount: () => 2,
    onNotifyReady: (req) => {
      notified.push(req);
    },
    onClusterEvent: (req) => req.event?.id === 7 ? 0 : -1003,
  });
  try {
    await server.start();
    await fn({ dir, server, notified, errors });
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Polls cond every 10 ms, at most 200 times. */
async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function notifyBody(idx: number, sock: string): Uint8Array {
  return toBinary(
    NotifyReadyReqSchema,
    create(NotifyReadyReqSchema, {
      uri: "ofi+tcp://127.0.0.1:31416",
      nctxs: 4,
      drpcListenerSock: sock,
      instanceIdx: idx,
      incarnation: 42n,
    }),
  );
}

Deno.test("server socket is created with mode 0600 and removed on close", async () => {
  let path = "";
  await withServer(async ({ server }) => {
    path = server.socketPath;
    const st = await Deno.stat(path);
    assert(st.isSocket);
    assertEquals(st.mode! & 0o777, 0o600);
  });
  await rejects(() => Deno.stat(path), Deno.errors.NotFound);
});

Deno.test("NotifyReady from a valid instance with a real socket succeeds, processed async", async () => {
  await withServer(async ({ dir, server, notified }) => {
    const engSock = `${dir}/daos_engine_1.sock`;
    const l = Deno.listen({ transport: "unix", path: engSock });
    try {
      const resp = await callDrpc(
        server.socketPath,
        DrpcModule.SRV,
        SrvMethod.NOTIFY_READY,
        notifyBody(1, engSock),
        { ...opts, sequence: 9n },
      );
      assertEquals(resp.status, Status.SUCCESS);
      assertEquals(resp.sequence, 9n);
      assertEquals(resp.body.length, 0);
      await waitFor(() => notified.length === 1, "NotifyReady callback");
      assertEquals(notified[0].instanceIdx, 1);
      assertEquals(notified[0].incarnation, 42n);
      assertEquals(notified[0].drpcListenerSock, engSock);
    } finally {
      l.close();
    }
  });
});

Deno.test("NotifyReady with a bad instance index or a non-socket path fails", async () => {
  await withServer(async ({ dir, server, notified, errors }) => {
    const engSock = `${dir}/daos_engine_1.sock`;
    const l = Deno.listen({ transport: "unix", path: engSock });
    try {
      const call = (body: Uint8Array) =>
        callDrpc(server.socketPath, DrpcModule.SRV, SrvMethod.NOTIFY_READY, body, opts);
      assertEquals((await call(notifyBody(2, engSock))).status, Status.FAILURE);
      assert(errors.some((e) => e.includes("only 2 engine(s) configured")), errors.join("\n"));
      await Deno.writeTextFile(`${dir}/plain`, "x");
      assertEquals((await call(notifyBody(0, `${dir}/plain`))).status, Status.FAILURE);
      assert(errors.some((e) => e.includes("is not a socket")));
      assertEquals((await call(notifyBody(0, `${dir}/missing.sock`))).status, Status.FAILURE);
      // Fields the engine would join with, checked before the NotifyReady is taken.
      type Fields = { uri?: string; secondaryUris?: string[]; drpcListenerSock?: string };
      const bad = (f: Fields) =>
        toBinary(
          NotifyReadyReqSchema,
          create(NotifyReadyReqSchema, {
            uri: "ofi+tcp://127.0.0.1:31416",
            nctxs: 4,
            drpcListenerSock: engSock,
            instanceIdx: 1,
            incarnation: 0xffffffffffffffffn,
            ...f,
          }),
        );
      const cases: Array<[Fields, string]> = [
        [{ uri: `ofi+tcp://${"h".repeat(10_000)}:1` }, "longer than 127 characters"],
        [{ uri: "ofi+tcp://127.0.0.1" }, "no port"],
        [{ secondaryUris: ["x"] }, "no provider scheme"],
        [{ drpcListenerSock: `${dir}/${"s".repeat(200)}` }, "drpcListenerSock"],
      ];
      for (const [f, text] of cases) {
        assertEquals((await call(bad(f))).status, Status.FAILURE);
        assert(
          errors.some((e) => e.includes("NotifyReady from instance 1") && e.includes(text)),
          errors.join("\n"),
        );
      }
      // A huge incarnation is the engine's business: accepted.
      assertEquals((await call(bad({}))).status, Status.SUCCESS);
      await waitFor(() => notified.length === 1, "NotifyReady processed");
      notified.length = 0;
      assertEquals(
        (await call(new Uint8Array([0xff, 0xff]))).status,
        Status.FAILED_UNMARSHAL_PAYLOAD,
      );
      assertEquals(notified.length, 0);
    } finally {
      l.close();
    }
  });
});

Deno.test("unknown module, unknown method and mgmt module are answered per the dispatch rules", async () => {
  await withServer(async ({ server }) => {
    const r1 = await callDrpc(server.socketPath, 9, 1, new Uint8Array(0), {
      ...opts,
      sequence: 5n,
    });
    assertEquals([r1.status, r1.sequence], [Status.UNKNOWN_MODULE, 5n]);
    const r2 = await callDrpc(server.socketPath, DrpcModule.SRV, 399, new Uint8Array(0), opts);
    assertEquals(r2.status, Status.UNKNOWN_METHOD);
    const r3 = await callDrpc(server.socketPath, DrpcModule.MGMT, 202, new Uint8Array(0), opts);
    assertEquals(r3.status, Status.UNKNOWN_METHOD);
  });
});

Deno.test("undecodable call gets FAILED_UNMARSHAL_CALL with sequence -1", async () => {
  await withServer(async ({ server }) => {
    const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
    try {
      // Field 1 with wire type 7 does not exist: not a valid protobuf.
      await writeMessage(conn, new Uint8Array([0x0f, 0x01, 0x02]));
      const raw = await readMessage(new StreamReader(conn));
      const resp = fromBinary(ResponseSchema, raw!);
      assertEquals([resp.status, resp.sequence], [Status.FAILED_UNMARSHAL_CALL, -1n]);
    } finally {
      conn.close();
    }
  });
});

Deno.test("ClusterEvent returns the handler status and echoes the sequence", async () => {
  await withServer(async ({ server }) => {
    const ev = (id: number) =>
      toBinary(
        ClusterEventReqSchema,
        create(ClusterEventReqSchema, {
          sequence: 77n,
          event: create(RASEventSchema, { id, msg: "engine self-terminated" }),
        }),
      );
    for (const [id, want] of [[7, 0], [8, -1003]]) {
      const resp = await callDrpc(
        server.socketPath,
        DrpcModule.SRV,
        SrvMethod.CLUSTER_EVENT,
        ev(id),
        opts,
      );
      assertEquals(resp.status, Status.SUCCESS);
      const body = fromBinary(ClusterEventRespSchema, resp.body);
      assertEquals([body.sequence, body.status], [77n, want]);
    }
  });
});

Deno.test("a many-chunk call and response (> 128 KiB) round-trip", async () => {
  await withServer(async ({ server }) => {
    server.registerModule(0, { 1: (body) => body.slice().reverse() });
    const big = new Uint8Array(400_000);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const resp = await callDrpc(server.socketPath, 0, 1, big, opts);
    assertEquals(resp.status, Status.SUCCESS);
    assertEquals(resp.body, big.slice().reverse());
  });
});

Deno.test("a malformed frame drops that connection; the server keeps serving", async () => {
  await withServer(async ({ server, errors }) => {
    const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
    try {
      await conn.write(encodeHeader({ totalSize: 5, chunkSize: 5, chunkIndex: 0, totalChunks: 0 }));
      const buf = new Uint8Array(16);
      assertEquals(await conn.read(buf), null); // closed by the server
    } finally {
      conn.close();
    }
    assert(errors.some((e) => e.includes("total_chunks == 0")));
    const resp = await callDrpc(server.socketPath, 9, 1, new Uint8Array(0), opts);
    assertEquals(resp.status, Status.UNKNOWN_MODULE);
  });
});

Deno.test("connections stalled in a partial call are dropped (bounded, logged); calls go on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "drpc-test-" });
  const errors: string[] = [];
  const server = new DrpcServer({
    socketPath: `${dir}/${SERVER_SOCKET_NAME}`,
    log: { error: (m) => errors.push(m) },
    messageTimeoutMs: 300,
    maxConns: 64,
  });
  const conns: Deno.UnixConn[] = [];
  try {
    await server.start();
    // Property: any strict prefix of a valid framed call (seeded, so a failure reproduces)
    // stalls only its own connection, and only up to the bound.
    const call = toBinary(
      CallSchema,
      create(CallSchema, { module: 9, method: 1, sequence: 1n, body: new Uint8Array(3000) }),
    );
    const framed = encodeMessage(call).reduce((a, b) => new Uint8Array([...a, ...b]));
    const next = prng(15);
    const rand = (n: number) => Math.floor(next() * n);
    for (let i = 0; i < 70; i++) {
      const c = await Deno.connect({ transport: "unix", path: server.socketPath });
      conns.push(c);
      const prefix = framed.subarray(0, 1 + rand(framed.length - 1));
      await c.write(prefix).catch(() => {}); // a refused one: EPIPE
    }
    // Every one is closed by the server: refused past maxConns, or dropped at the bound.
    const closed = await Promise.all(conns.map(async (c) => {
      const read = c.read(new Uint8Array(16)).catch(() => null);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const r = await Promise.race([
        read,
        new Promise<"open">((res) => timer = setTimeout(() => res("open"), 10_000)),
      ]);
      clearTimeout(timer);
      return r === null;
    }));
    assertEquals(closed.filter((x) => !x).length, 0, "connections the server kept open");
    assert(
      errors.some((e) =>
        /dropping connection #\d+ \(open \d+ ms\): no whole call within 300 ms/.test(e)
      ),
      errors.join("\n"),
    );
    assert(errors.some((e) => /64 connections open, refusing connection #\d+/.test(e)));
    const resp = await callDrpc(server.socketPath, 9, 1, new Uint8Array(0), opts);
    assertEquals(resp.status, Status.UNKNOWN_MODULE);
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("daos_server.sock drops a call announcing more than an up-call needs, before buffering it", async () => {
  await withServer(async ({ server, errors }) => {
    assertEquals(SERVER_MAX_MESSAGE_SIZE, 1024 * 1024);
    const conn = await Deno.connect({ transport: "unix", path: server.socketPath });
    try {
      const total = 32 * 1024 * 1024;
      await conn.write(
        encodeHeader({ totalSize: total, chunkSize: 0, chunkIndex: 0, totalChunks: 257 }),
      );
      // Closed by the server; the bound only keeps a regression (the server waiting for 32 MiB
      // that never come) from hanging the suite.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const got = await Promise.race([
        conn.read(new Uint8Array(16)),
        new Promise<string>((r) => timer = setTimeout(() => r("still open after 20 s"), 20_000)),
      ]);
      clearTimeout(timer);
      assertEquals(got, null);
    } finally {
      conn.close();
    }
    assert(
      errors.some((e) => e.includes("dRPC message too large: 33554432 bytes (max 1048576)")),
      errors.join("\n"),
    );
    // Up-calls of real size still work.
    const resp = await callDrpc(server.socketPath, 9, 1, new Uint8Array(200_000), opts);
    assertEquals(resp.status, Status.UNKNOWN_MODULE);
  });
});

Deno.test("stale socket file is replaced; a live one is fault 6; a plain file is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "drpc-test-" });
  const path = `${dir}/${SERVER_SOCKET_NAME}`;
  const servers: DrpcServer[] = [];
  try {
    // A stale socket: a process bound it and died without unlinking it (SIGKILL).
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `await Deno.listen({ transport: "unix", path: ${JSON.stringify(path)} }).accept();`,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await waitFor(() => {
        try {
          return Deno.lstatSync(path).isSocket === true;
        } catch {
          return false;
        }
      }, "child to bind");
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* already exited */ }
      await child.status;
    }
    assert((await Deno.lstat(path)).isSocket);
    const a = new DrpcServer({ socketPath: path });
    servers.push(a);
    await a.start();
    const b = new DrpcServer({ socketPath: path });
    await rejects(() => b.start(), (e) => hasFaultCode(e, 6) && /already in use/.test(e.message));
    await a.close();
    await Deno.writeTextFile(path, "not a socket");
    const c = new DrpcServer({ socketPath: path });
    await rejects(() => c.start(), /is not a socket; remove it/);
  } finally {
    for (const s of servers) await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("client: nothing listening is fault 611; a slow server times out", async () => {
  await withServer(async ({ dir, server }) => {
    await rejects(
      () => callDrpc(`${dir}/nobody.sock`, 2, 202, new Uint8Array(0), opts),
      (e) => hasFaultCode(e, 611),
    );
    let release = () => {};
    const held = new Promise<void>((r) => release = r);
    server.registerModule(0, {
      1: async () => {
        await held;
        return new Uint8Array(0);
      },
    });
    try {
      await rejects(
        () => callDrpc(server.socketPath, 0, 1, new Uint8Array(0), { timeoutMs: 100 }),
        DrpcTimeoutError,
      );
    } finally {
      release();
    }
  });
});

Deno.test("SerialDrpcClient never has two calls to one engine in flight", async () => {
  await withServer(async ({ server }) => {
    let inFlight = 0, maxInFlight = 0, calls = 0;
    server.registerModule(0, {
      1: async () => {
        inFlight++;
        calls++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        return new Uint8Array([calls]);
      },
    });
    const client = new SerialDrpcClient(() => server.socketPath);
    const results = await Promise.all(
      [0, 1, 2, 3, 4].map(() => client.call(0, 1, new Uint8Array(0), opts)),
    );
    assertEquals(maxInFlight, 1);
    assertEquals(results.map((r) => r[0]), [1, 2, 3, 4, 5]);
    await rejects(
      () => client.call(0, 2, new Uint8Array(0), opts),
      /bad dRPC response status: UNKNOWN_METHOD/,
    );
    const none = new SerialDrpcClient(() => undefined);
    await rejects(() => none.call(0, 1, new Uint8Array(0), opts), /dRPC socket not ready/);
  });
});
