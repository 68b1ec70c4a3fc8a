import { deepEqual, equal, ok } from "node:assert/strict";
import * as net from "node:net";
import { create } from "@bufbuild/protobuf";
import { type CallOptions, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { CtlSvc } from "../../../proto/gen/ts/ctl/ctl_pb.ts";
import { NetworkScanRespSchema } from "../../../proto/gen/ts/ctl/network_pb.ts";
import { Fault } from "../fault.ts";
import { fanOut } from "./fanout.ts";
import { hostError } from "./host_error.ts";
import { type ControlListener, listenControl, TransportPool } from "./transport.ts";
import { silentListener } from "./silent_listener_test_util.ts";

const insecure = { allowInsecure: true };
const scan = (t: Transport, o: CallOptions) => createClient(CtlSvc, t).networkScan({}, o);

/** A CtlSvc whose NetworkScan reports `numacount` = the server's index; hooks for tests. */
async function startServers(
  n: number,
  onCall: (i: number, signal: AbortSignal) => Promise<void> = () => Promise.resolve(),
): Promise<ControlListener[]> {
  const out: ControlListener[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      await listenControl({
        host: "127.0.0.1",
        port: 0,
        security: insecure,
        routes: (r) =>
          r.service(CtlSvc, {
            networkScan: async (_req, ctx) => {
              await onCall(i, ctx.signal);
              return create(NetworkScanRespSchema, { numacount: i });
            },
          }),
      }),
    );
  }
  return out;
}

Deno.test("fanOut: one result per target in order, refused host as fault 506", async () => {
  const servers = await startServers(3);
  const pool = new TransportPool({ security: insecure });
  try {
    // A port that was just free: connection refused.
    const dead = await listenControl({
      host: "127.0.0.1",
      port: 0,
      security: insecure,
      routes: () => {},
    });
    const deadAddr = dead.address;
    await dead.close();
    const targets = [...servers.map((s) => s.address), deadAddr];
    const res = await fanOut(pool, targets, scan, {
      deadline: Date.now() + 10_000,
      name: "NetworkScan",
    });
    deepEqual(res.map((r) => r.addr), targets);
    deepEqual(res.slice(0, 3).map((r) => r.response?.numacount), [0, 1, 2]);
    const err = res[3].error;
    ok(err instanceof Fault);
    equal(err.code, 506);
    equal(err.description, `the server at ${deadAddr} refused the connection`);
  } finally {
    pool.close();
    for (const s of servers) await s.close();
  }
});

Deno.test("fanOut: concurrency is bounded", async () => {
  let inFlight = 0;
  let peak = 0;
  const servers = await startServers(8, async () => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, 20));
    inFlight--;
  });
  const pool = new TransportPool({ security: insecure });
  try {
    const res = await fanOut(pool, servers.map((s) => s.address), scan, {
      deadline: Date.now() + 10_000,
      name: "NetworkScan",
      concurrency: 3,
    });
    ok(res.every((r) => r.response !== undefined));
    ok(peak <= 3, `peak ${peak} exceeds 3`);
    ok(peak >= 2, `calls ran concurrently (peak ${peak})`);
  } finally {
    pool.close();
    for (const s of servers) await s.close();
  }
});

Deno.test("fanOut: a host past the caller's deadline is an RPC-timeout fault, others answer", async () => {
  const servers = await startServers(
    2,
    (i, signal) =>
      i === 1
        ? new Promise((resolve) =>
          signal.addEventListener("abort", () => resolve(), { once: true })
        )
        : Promise.resolve(),
  );
  const pool = new TransportPool({ security: insecure });
  try {
    const res = await fanOut(pool, servers.map((s) => s.address), scan, {
      deadline: Date.now() + 300,
      name: "NetworkScan",
    });
    equal(res[0].response?.numacount, 0);
    const err = res[1].error;
    ok(err instanceof Fault, String(err));
    equal(err.code, 510);
    ok(err.description.startsWith("the NetworkScan request timed out after"), err.description);
  } finally {
    pool.close();
    for (const s of servers) await s.close();
  }
});

Deno.test("TransportPool: one HTTP/2 session per host, reused across calls", async () => {
  const server = await listenControl({
    host: "127.0.0.1",
    port: 0,
    security: insecure,
    routes: (r) => r.service(CtlSvc, { networkScan: () => create(NetworkScanRespSchema, {}) }),
  });
  const pool = new TransportPool({ security: insecure });
  try {
    const t = pool.get(server.address);
    equal(pool.get(server.address), t, "same transport for the same host");
    for (let i = 0; i < 5; i++) await scan(t, {});
    equal(server.sessionCount(), 1);
  } finally {
    pool.close();
    await server.close();
  }
});

Deno.test("fanOut: rejects a bad concurrency", async () => {
  const pool = new TransportPool({ security: insecure });
  let msg = "";
  try {
    await fanOut(pool, ["127.0.0.1:1"], scan, {
      deadline: Date.now() + 1000,
      name: "x",
      concurrency: 0,
    });
  } catch (e) {
    msg = String(e);
  }
  ok(msg.includes("invalid fan-out concurrency 0"), msg);
});

Deno.test("fanOut: a host that accepts but never answers is a connect timeout (508)", async () => {
  const servers = await startServers(1);
  const silent = await silentListener();
  const pool = new TransportPool({ security: insecure, connectTimeoutMs: 300 });
  try {
    const res = await fanOut(pool, [servers[0].address, silent.address], scan, {
      deadline: Date.now() + 60_000,
      name: "NetworkScan",
    });
    equal(res[0].response?.numacount, 0);
    const err = res[1].error;
    ok(err instanceof Fault, String(err));
    equal(err.code, 508);
    equal(err.description, `the connection to the server at ${silent.address} timed out`);
    ok(await silent.waitClosed(1, 10_000), "the client gave the connection up");
  } finally {
    pool.close();
    await silent.close();
    for (const s of servers) await s.close();
  }
});

Deno.test("TransportPool: rejects a connect timeout or ping interval that is not a positive number", () => {
  for (const bad of [0, -1, Number.NaN, Infinity]) {
    let msg = "";
    try {
      new TransportPool({ security: insecure, connectTimeoutMs: bad });
    } catch (e) {
      msg = String(e);
    }
    ok(msg.includes(`invalid connect timeout ${bad} ms`), msg);
    msg = "";
    try {
      new TransportPool({ security: insecure, pingIntervalMs: bad });
    } catch (e) {
      msg = String(e);
    }
    ok(msg.includes(`invalid ping interval ${bad} ms`), msg);
  }
});

Deno.test("fanOut: a server that dies mid-call is 507, not a timeout", async () => {
  // The server's connections pass through a proxy that cuts them once the call arrived, as
  // the kernel does when the server process dies.
  const clients = new Set<net.Socket>();
  const cut = () => {
    for (const c of clients) c.destroy();
  };
  const backend = await listenControl({
    host: "127.0.0.1",
    port: 0,
    security: insecure,
    routes: (r) =>
      r.service(CtlSvc, {
        networkScan: (_req, ctx) =>
          new Promise((_resolve, reject) => {
            ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
            cut();
          }),
      }),
  });
  const [host, port] = backend.address.split(":");
  const proxy = net.createServer((c) => {
    clients.add(c);
    const up = net.connect({ host, port: Number(port) });
    c.on("error", () => {});
    up.on("error", () => {});
    c.on("close", () => (clients.delete(c), up.destroy()));
    up.on("close", () => c.destroy());
    c.pipe(up).pipe(c);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const addr = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  const pool = new TransportPool({ security: insecure });
  try {
    const [r] = await fanOut(pool, [addr], scan, {
      deadline: Date.now() + 60_000,
      name: "NetworkScan",
      signal: AbortSignal.timeout(20_000), // guard against a regression hanging
    });
    ok(r.error instanceof Fault, String(r.error));
    equal(r.error.code, 507);
    equal(
      r.error.description,
      `the server at ${addr} closed the connection without accepting a request`,
    );
  } finally {
    pool.close();
    cut();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    await backend.close();
  }
});

Deno.test("TransportPool: a server that goes silent mid-call is found by PING (508)", async () => {
  // A proxy that stops forwarding in both directions once the call arrived and the client got
  // the server's first bytes, keeping the connections open: a host that vanished (or a
  // stopped process) under an open call.
  let called = false;
  let down = 0;
  let frozen = false;
  const sockets = new Set<net.Socket>();
  const backend = await listenControl({
    host: "127.0.0.1",
    port: 0,
    security: insecure,
    routes: (r) =>
      r.service(CtlSvc, {
        networkScan: (_req, ctx) =>
          new Promise((_resolve, reject) => {
            called = true;
            frozen = down > 0;
            ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
          }),
      }),
  });
  const [host, port] = backend.address.split(":");
  const proxy = net.createServer((c) => {
    const up = net.connect({ host, port: Number(port) });
    for (const s of [c, up]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => sockets.delete(s));
    }
    c.on("data", (d) => frozen || up.write(d));
    up.on("data", (d) => {
      if (frozen) return;
      c.write(d);
      down++;
      frozen = called;
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const addr = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  const pool = new TransportPool({
    security: insecure,
    pingIntervalMs: 200,
    connectTimeoutMs: 300,
  });
  try {
    // The guard only keeps a regression from hanging the suite.
    const err = await scan(pool.get(addr), { timeoutMs: 20_000 }).then(() => undefined, (e) => e);
    ok(frozen, "the connection froze under the call");
    equal(ConnectError.from(err).rawMessage, "PING timed out");
    const f = hostError(err, addr, "NetworkScan", 20_000);
    ok(f instanceof Fault, String(f));
    equal(f.description, `the connection to the server at ${addr} timed out`);
  } finally {
    pool.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    await backend.close();
  }
});

Deno.test("TransportPool: a live server's long call outlasts many PINGs", async () => {
  const [server] = await startServers(1, () => new Promise((r) => setTimeout(r, 800)));
  const pool = new TransportPool({ security: insecure, pingIntervalMs: 50, connectTimeoutMs: 200 });
  try {
    const [r] = await fanOut(pool, [server.address], scan, {
      deadline: Date.now() + 20_000,
      name: "NetworkScan",
    });
    equal(r.error, undefined);
    equal(r.response?.numacount, 0);
  } finally {
    pool.close();
    await server.close();
  }
});
