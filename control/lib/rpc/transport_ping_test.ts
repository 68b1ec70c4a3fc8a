/**
 * A session the pool has given up on may still emit "error" (node:http2 emits destroy(err)'s
 * error on a later tick, after connect-node's session manager removed its listeners): a PING or
 * dial timeout then became an uncaught exception ("Uncaught ConnectError: PING timed out"),
 * which would end a long-running daos_server. This test provokes such late errors: without
 * the pool's guard it sees stray "connect ETIMEDOUT" errors of abandoned sessions.
 */
import { deepEqual as assertEquals } from "node:assert/strict";
import * as net from "node:net";
import { createClient } from "@connectrpc/connect";
import { CtlSvc } from "../../../proto/gen/ts/ctl/ctl_pb.ts";
import { listenControl, TransportPool } from "./transport.ts";

/** A TCP relay to `target` that can stop passing the server's bytes (PING acks included). */
async function freezableRelay(target: string) {
  const port = Number(target.slice(target.lastIndexOf(":") + 1));
  const socks = new Set<net.Socket>();
  let frozen = false;
  const server = net.createServer((c) => {
    const up = net.connect(port, "127.0.0.1");
    for (const s of [c, up]) {
      socks.add(s);
      s.on("error", () => {});
      s.on("close", () => socks.delete(s));
    }
    c.on("data", (d) => up.write(d));
    up.on("data", (d) => {
      if (!frozen) c.write(d);
    });
    c.on("close", () => up.destroy());
    up.on("close", () => c.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    freeze: () => frozen = true,
    close: async () => {
      for (const s of socks) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Runs `fn` and returns the uncaught errors raised meanwhile (and within `settleMs` after). */
async function uncaughtDuring(fn: () => Promise<void>, settleMs: number): Promise<string[]> {
  const seen: string[] = [];
  const onError = (e: ErrorEvent) => {
    seen.push(String(e.error));
    e.preventDefault();
  };
  globalThis.addEventListener("error", onError);
  try {
    await fn();
    await new Promise((r) => setTimeout(r, settleMs));
  } finally {
    globalThis.removeEventListener("error", onError);
  }
  return seen;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What ended a call to the frozen relay: its PING went unanswered, the replacement session's
 * dial timed out, the session was cut (pool.close), or the call's own deadline passed. Anything
 * else (a success included) is returned as is, to fail the test.
 */
function failureKind(e: unknown): string {
  const text = String(e);
  if (/\[unavailable\] PING timed out/.test(text)) return "ping";
  if (/\[unavailable\] connect ETIMEDOUT \S+: no answer within 50 ms/.test(text)) return "dial";
  if (/\[unavailable\] connection closed by the server/.test(text)) return "closed";
  if (/\[deadline_exceeded\]/.test(text)) return "deadline";
  return text;
}

Deno.test("TransportPool: PINGs timing out on a silent server raise no uncaught error", async () => {
  const l = await listenControl({
    host: "127.0.0.1",
    port: 0,
    security: { allowInsecure: true },
    routes: (r) =>
      r.service(CtlSvc, {
        storageScan: async () => {
          await sleep(5);
          return {};
        },
      }),
  });
  try {
    const kinds = new Set<string>();
    const uncaught = await uncaughtDuring(async () => {
      // Several rounds: which late error shows up depends on timing.
      for (let round = 0; round < 8; round++) {
        const relay = await freezableRelay(l.address);
        const pool = new TransportPool({
          security: { allowInsecure: true },
          pingIntervalMs: 10,
          connectTimeoutMs: 50,
        });
        try {
          const client = createClient(CtlSvc, pool.get(relay.address));
          // A working session first; its 50 ms dial may miss on a loaded machine: try again.
          for (let i = 0;; i++) {
            const r = await client.storageScan({}).then(() => "ok", failureKind);
            if (r === "ok") break;
            if (i >= 20 || r !== "dial") throw new Error(`no working session: ${r}`);
          }
          relay.freeze(); // PINGs (of open calls, of reused idle sessions) go unanswered
          // Calls keep coming while sessions fail, are replaced and time out (bounded).
          const calls: Promise<string>[] = [];
          for (let i = 0; i < 30; i++) {
            calls.push(
              client.storageScan({}, { timeoutMs: 200 }).then(() => "answered", failureKind),
            );
            await sleep(round % 5);
          }
          if (round % 2) pool.close();
          for (const k of await Promise.all(calls)) kinds.add(k);
        } finally {
          pool.close();
          await relay.close();
        }
      }
    }, 150);
    assertEquals(uncaught, []);
    // Every call failed in one of the expected ways (none was answered through the frozen
    // relay), and PING timeouts, the errors this test is about, did happen.
    assertEquals([...kinds].filter((k) => !["ping", "dial", "closed", "deadline"].includes(k)), []);
    assertEquals(kinds.has("ping"), true, `no PING timeout among ${[...kinds]}`);
  } finally {
    await l.close();
  }
});
