/**
 * `fanout-<N>-<warm|cold>`: one StorageScan (a real scan response, captured once from this
 * host) fanned out to N = 16, 64, 256, 1024 control servers on distinct loopback addresses
 * 127.0.x.y, hosted by one helper process. Warm reuses one HTTP/2 session per host across
 * runs; cold opens fresh connections every run. Floor: one StorageScan round trip to one
 * server over a warm session, in the same run.
 *
 * The helper is this file run as `deno run -A fanout.ts serve N` (real control listeners,
 * listenControl) or `serve-light N` (minimal h2c stand-ins, see serveLight).
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { type CallOptions, createClient, type Transport } from "@connectrpc/connect";
import { CtlSvc } from "../../../proto/gen/ts/ctl/ctl_pb.ts";
import {
  StorageScanReqSchema,
  StorageScanRespSchema,
} from "../../../proto/gen/ts/ctl/storage_pb.ts";
import { hostStorageSource, storageScan } from "../../../control/ctl/storage_scan.ts";
import { fanOut } from "../../../control/lib/rpc/fanout.ts";
import { listenControl, TransportPool } from "../../../control/lib/rpc/transport.ts";

const SIZES = [16, 64, 256, 1024];
const insecure = { allowInsecure: true };
const req = create(StorageScanReqSchema, { scm: {}, nvme: { Basic: true } });
const call = (t: Transport, o: CallOptions) => createClient(CtlSvc, t).storageScan(req, o);

/** Loopback address number i (0-based): 127.0.1.1 … 127.0.1.250, 127.0.2.1, … */
function loopback(i: number): string {
  return `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

/** Helper process: N servers answering a storage-scan-sized response; prints their addresses. */
async function serve(n: number): Promise<void> {
  const resp = await storageScan(req, hostStorageSource([]));
  const addrs: string[] = [];
  for (let i = 0; i < n; i++) {
    const l = await listenControl({
      host: loopback(i),
      port: 0,
      security: insecure,
      routes: (r) => r.service(CtlSvc, { storageScan: () => resp }),
    });
    addrs.push(l.address);
  }
  console.log(JSON.stringify(addrs));
  // Runs until the bench kills it.
  await new Promise(() => {});
}

/** The Connect path of CtlSvc.StorageScan (what a client POSTs to). */
export const STORAGE_SCAN_PATH = `/${CtlSvc.typeName}/${CtlSvc.method.storageScan.name}`;

/**
 * Helper process, light variant: N stand-in servers that answer the Connect unary
 * StorageScan (h2c, binary) with the same response bytes a real server sends, through
 * Deno.serve (Rust HTTP/2) instead of node:http2 + connect-node. They exist so that the
 * fan-out benches measure the client: all N servers share this machine's cores with it, and a
 * real control listener costs ~0.3 ms CPU per call (measured: 310 ms per 1024-host fan-out,
 * as much as the client), which real hosts each pay on their own CPU. Anything else than a
 * well-formed StorageScan call gets an HTTP error, so a client that sent garbage fails.
 */
async function serveLight(n: number): Promise<void> {
  const body = toBinary(StorageScanRespSchema, await storageScan(req, hostStorageSource([])));
  const addrs: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = Deno.serve(
      { hostname: loopback(i), port: 0, onListen: () => {} },
      async (r) => {
        const bad = r.method !== "POST" || new URL(r.url).pathname !== STORAGE_SCAN_PATH ||
          r.headers.get("content-type") !== "application/proto";
        await r.arrayBuffer();
        if (bad) return new Response("not a binary Connect StorageScan call", { status: 404 });
        return new Response(body, { headers: { "content-type": "application/proto" } });
      },
    );
    addrs.push(`${s.addr.hostname}:${s.addr.port}`);
  }
  console.log(JSON.stringify(addrs));
  await new Promise(() => {});
}

/** A running helper process and the addresses of its servers. */
export interface FanoutHelper {
  proc: Deno.ChildProcess;
  targets: string[];
}

/** Starts the helper (`serve` or `serve-light`) with n servers; resolves once they listen. */
export async function startHelper(mode: "serve" | "serve-light", n: number): Promise<FanoutHelper> {
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, mode, String(n)],
    stdout: "piped",
    stdin: "null",
  }).spawn();
  try {
    const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    // Bounded: the helper prints one line, or exits.
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`fanout helper (${mode} ${n}) exited before listing its servers`);
      text += value;
    }
    reader.releaseLock();
    return { proc, targets: JSON.parse(text.slice(0, text.indexOf("\n"))) };
  } catch (e) {
    await stopHelper(proc);
    throw e;
  }
}

/** Kills a helper started by startHelper and waits for it. */
export async function stopHelper(proc: Deno.ChildProcess | undefined): Promise<void> {
  if (!proc) return;
  try {
    proc.kill("SIGKILL");
  } catch {
    // Already gone.
  }
  await proc.status;
  await proc.stdout.cancel().catch(() => {});
}

/** CPU time (user + system, ms) the process `pid` has used so far, from /proc. */
export function processCpuMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // Fields after the command name, which may itself hold spaces: utime is the 14th field.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(f[11]) + Number(f[12]);
  return ticks * 10; // USER_HZ is 100 on Linux
}

if (import.meta.main && Deno.args[0] === "serve") {
  await serve(Number(Deno.args[1]));
} else if (import.meta.main && Deno.args[0] === "serve-light") {
  await serveLight(Number(Deno.args[1]));
} else {
  const { registerScenario } = await import("../scenario.ts");
  for (const n of SIZES) {
    for (const mode of ["warm", "cold"] as const) {
      let helper: Deno.ChildProcess | undefined;
      let targets: string[] = [];
      let warm: TransportPool | undefined;
      let floorPool: TransportPool | undefined;
      registerScenario({
        name: `fanout-${n}-${mode}`,
        description: `StorageScan fanned out to ${n} servers, ${mode} sessions; ` +
          "floor: one round trip to one server (warm)",
        setup: async () => {
          ({ proc: helper, targets } = await startHelper("serve", n));
          warm = new TransportPool({ security: insecure });
          floorPool = new TransportPool({ security: insecure });
        },
        run: async () => {
          const pool = mode === "warm" ? warm! : new TransportPool({ security: insecure });
          try {
            const res = await fanOut(pool, targets, call, {
              deadline: Date.now() + 30_000,
              name: "StorageScan",
            });
            const failed = res.find((r) => r.error);
            if (failed) throw new Error(`fanout bench: ${failed.addr}: ${failed.error!.message}`);
          } finally {
            if (mode === "cold") pool.close();
          }
        },
        floor: () => call(floorPool!.get(targets[0]), { timeoutMs: 30_000 }),
        teardown: async () => {
          warm?.close();
          floorPool?.close();
          await stopHelper(helper);
        },
      });
    }
  }
}
