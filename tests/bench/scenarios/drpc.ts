/**
 * `drpc`: a PingRank round trip to a real bin/daos_engine (new connection per call, as the
 * control plane does) vs. a raw Unix-socket ping-pong of the same byte sizes with a server in
 * another process. `drpc-start`: engine process start → NotifyReady → SIGTERM → exit vs. a bare
 * Deno process start → exit; teardown prints the start-to-NotifyReady p50/p99 it observed.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { callDrpc } from "../../../control/drpc/client.ts";
import { readMessage, StreamReader, writeMessage } from "../../../control/drpc/framing.ts";
import { DrpcModule, MgmtMethod } from "../../../control/drpc/ids.ts";
import { CallSchema, ResponseSchema, Status } from "../../../proto/gen/ts/drpc/drpc_pb.ts";
import { PingRankReqSchema, SetRankReqSchema } from "../../../proto/gen/ts/mgmt/srv_pb.ts";
import { registerScenario } from "../scenario.ts";

const top = new URL("../../../", import.meta.url).pathname;
const HEADER = 24;
const opts = { timeoutMs: 5000 };
const pingBody = toBinary(PingRankReqSchema, create(PingRankReqSchema, { rank: 1 }));
// Framed sizes of the PingRank Call and its Response, for the raw ping-pong.
const reqLen = HEADER + toBinary(
  CallSchema,
  create(CallSchema, { module: 2, method: 225, sequence: 1n, body: pingBody }),
).length;
const respLen = HEADER + toBinary(ResponseSchema, create(ResponseSchema, { sequence: 1n })).length;

// The ping-pong server: per connection, read reqLen bytes, answer respLen bytes, close.
const pongServer = `
const [path, reqLen, respLen] = [Deno.args[0], Number(Deno.args[1]), Number(Deno.args[2])];
const l = Deno.listen({ transport: "unix", path });
console.log("ready");
for await (const c of l) {
  (async () => {
    const buf = new Uint8Array(reqLen);
    let got = 0;
    while (got < reqLen) { const n = await c.read(buf.subarray(got)); if (n === null) break; got += n; }
    if (got === reqLen) await c.write(new Uint8Array(respLen));
    c.close();
  })();
}`;

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<void> {
  const reader = stream.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  if (!value || !new TextDecoder().decode(value).startsWith("ready")) {
    throw new Error("bench helper did not start");
  }
}

interface Setup {
  dir: string;
  engine: Deno.ChildProcess;
  pong: Deno.ChildProcess;
  server: Deno.Listener;
  sock: string;
  pongPath: string;
}

/** A daos_server.sock stand-in that acknowledges every NotifyReady; calls onNotify each time. */
function fakeServer(path: string, onNotify: () => void): Deno.Listener {
  const l = Deno.listen({ transport: "unix", path });
  (async () => {
    for await (const c of l) {
      try {
        const raw = await readMessage(new StreamReader(c));
        if (raw === null) continue;
        onNotify();
        await writeMessage(c, toBinary(ResponseSchema, create(ResponseSchema, {})));
      } catch {
        /* the engine went away mid-call */
      } finally {
        c.close();
      }
    }
  })().catch(() => undefined);
  return l;
}

function spawnEngine(dir: string): Deno.ChildProcess {
  return new Deno.Command(`${top}bin/daos_engine`, {
    args: ["-t", "2", "-x", "0", "-s", dir, "-d", dir, "-I", "0"],
    env: { DAOS_FABRIC_ADDR: "127.0.0.1" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`bench: timed out waiting for ${what}`);
}

let s: Setup | null = null;

registerScenario({
  name: "drpc",
  description: `PingRank round trip to daos_engine vs raw Unix ping-pong (${reqLen}/${respLen} B)`,
  setup: async () => {
    const dir = await Deno.makeTempDir({ prefix: "bench_drpc_" });
    let notified = 0;
    const server = fakeServer(`${dir}/daos_server.sock`, () => notified++);
    const engine = spawnEngine(dir);
    const pongPath = `${dir}/pong.sock`;
    const pong = new Deno.Command(Deno.execPath(), {
      args: ["eval", pongServer, pongPath, String(reqLen), String(respLen)],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    s = { dir, engine, pong, server, sock: `${dir}/daos_engine_${engine.pid}.sock`, pongPath };
    await firstLine(pong.stdout);
    await waitFor("NotifyReady", () => notified > 0);
    const r = await callDrpc(
      s.sock,
      DrpcModule.MGMT,
      MgmtMethod.SET_RANK,
      toBinary(SetRankReqSchema, create(SetRankReqSchema, { rank: 1 })),
      opts,
    );
    if (r.status !== Status.SUCCESS) throw new Error("bench: SetRank failed");
  },
  run: async () => {
    const r = await callDrpc(s!.sock, DrpcModule.MGMT, MgmtMethod.PING_RANK, pingBody, opts);
    if (r.status !== Status.SUCCESS || r.body.length !== 0) throw new Error("PingRank failed");
  },
  floor: async () => {
    const c = await Deno.connect({ transport: "unix", path: s!.pongPath });
    try {
      await c.write(new Uint8Array(reqLen));
      const buf = new Uint8Array(respLen);
      let got = 0;
      while (got < respLen) {
        const n = await c.read(buf.subarray(got));
        if (n === null) throw new Error("ping-pong server closed early");
        got += n;
      }
    } finally {
      c.close();
    }
  },
  teardown: async () => {
    if (s === null) return;
    for (const p of [s.engine, s.pong]) {
      try {
        p.kill("SIGTERM");
      } catch { /* exited */ }
      await p.status;
    }
    await s.pong.stdout.cancel().catch(() => undefined);
    s.server.close();
    await Deno.remove(s.dir, { recursive: true });
    s = null;
  },
});

let startDir = "";
let startServer: Deno.Listener | null = null;
let notifies = 0;
const startToReady: number[] = [];

registerScenario({
  name: "drpc-start",
  description: "daos_engine start → NotifyReady → SIGTERM → exit vs bare deno start → exit",
  setup: async () => {
    startDir = await Deno.makeTempDir({ prefix: "bench_start_" });
    startServer = fakeServer(`${startDir}/daos_server.sock`, () => notifies++);
    startToReady.length = 0;
  },
  run: async () => {
    const before = notifies;
    const t0 = performance.now();
    const child = spawnEngine(startDir);
    let ready: Error | null = null;
    try {
      await waitFor("NotifyReady", () => notifies > before);
      startToReady.push(performance.now() - t0);
    } catch (e) {
      ready = e as Error;
    }
    child.kill("SIGTERM");
    const st = await child.status;
    if (ready !== null) throw ready;
    if (st.code !== 0) throw new Error(`daos_engine exited with ${st.code}`);
  },
  floor: async () => {
    const st = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "0"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    if (st.code !== 0) throw new Error("deno eval failed");
  },
  teardown: async () => {
    startServer?.close();
    startServer = null;
    if (startDir !== "") await Deno.remove(startDir, { recursive: true }).catch(() => {});
    const v = [...startToReady].sort((a, b) => a - b);
    if (v.length > 0) {
      const q = (p: number) => v[Math.min(v.length - 1, Math.floor(p * v.length))].toFixed(1);
      console.log(
        `drpc-start: start-to-NotifyReady p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, n=${v.length}`,
      );
    }
  },
});
