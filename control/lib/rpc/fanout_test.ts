import { deepEqual, equal, ok } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { type CallOptions, createClient, type Transport } from "@connectrpc/connect";
import { CtlSvc } from "../../../proto/gen/ts/ctl/ctl_pb.ts";
import { NetworkScanRespSchema } from "../../../proto/gen/ts/ctl/network_pb.ts";
import { Fault } from "../fault.ts";
import { fanOut } from "./fanout.ts";
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

Deno.test("TransportPool: rejects a connect timeout that is not a positive number", () => {
  for (const bad of [0, -1, Number.NaN, Infinity]) {
    let msg = "";
    try {
      new TransportPool({ security: insecure, connectTimeoutMs: bad });
    } catch (e) {
      msg = String(e);
    }
    ok(msg.includes(`invalid connect timeout ${bad} ms`), msg);
  }
});
