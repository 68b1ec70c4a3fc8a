/**
 * One StorageScan fanned out to N servers on distinct loopback addresses (the light stand-ins
 * of fanout.ts, `serve-light`: they answer with a real scan response's bytes and cost the
 * shared cores as little as a server can), run = dmg's path: `Invoker.fanOut` over a warm
 * TransportPool. Two floors, same run:
 *
 * - `fanout-<N>-vs-bare`: the same N calls from a bare Connect client (one plain connect-node
 *   HTTP/2 transport per host, warm, no interceptors, no concurrency limit, no per-host error
 *   handling). Target (issue 14): at 1024 hosts run ≤ 1.5x this floor and ≤ 150 ms.
 * - `fanout-<N>-vs-http2`: the same N calls with no RPC library at all: one warm node:http2
 *   session per host, the Connect unary wire format written by hand (POST, binary body), the
 *   response decoded with fromBinary. What the transport under Connect costs in Deno.
 *
 * At teardown each prints the CPU time per call of this process and of the helper (all
 * servers), for run and floor: on a 2-core machine the wall time is bounded by the busier one.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import * as http2 from "node:http2";
import process from "node:process";
import { CtlSvc } from "../../../proto/gen/ts/ctl/ctl_pb.ts";
import {
  StorageScanReqSchema,
  StorageScanRespSchema,
} from "../../../proto/gen/ts/ctl/storage_pb.ts";
import { TransportPool } from "../../../control/lib/rpc/transport.ts";
import { registerScenario } from "../scenario.ts";
import {
  type FanoutHelper,
  processCpuMs,
  startHelper,
  stopHelper,
  STORAGE_SCAN_PATH,
} from "./fanout.ts";

const req = create(StorageScanReqSchema, { scm: {}, nvme: { Basic: true } });
const reqBytes = toBinary(StorageScanReqSchema, req);

/** CPU spent (ms) in this process and in the helper over the calls of one side. */
class CpuTally {
  client = 0;
  helper = 0;
  calls = 0;

  /** Runs `fn` and adds its CPU time (this process and the helper's) to the tally. */
  async measure(helperPid: number, fn: () => Promise<void>): Promise<void> {
    const c0 = process.cpuUsage();
    const h0 = processCpuMs(helperPid);
    await fn();
    const c = process.cpuUsage(c0);
    this.client += (c.user + c.system) / 1000;
    this.helper += processCpuMs(helperPid) - h0;
    this.calls++;
  }

  text(): string {
    if (this.calls === 0) return "no calls";
    const per = (v: number) => `${(v / this.calls).toFixed(0)} ms`;
    return `client ${per(this.client)}, servers ${per(this.helper)} CPU per fan-out`;
  }
}

/** One Connect unary StorageScan over a raw node:http2 session, decoded. */
function rawStorageScan(session: http2.ClientHttp2Session): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ":method": "POST",
      ":path": STORAGE_SCAN_PATH,
      "content-type": "application/proto",
      "connect-protocol-version": "1",
      "connect-timeout-ms": "30000",
    });
    const chunks: Uint8Array[] = [];
    let status = 0;
    stream.on("response", (h) => status = Number(h[":status"]));
    stream.on("data", (c: Uint8Array) => chunks.push(c));
    stream.on("error", reject);
    stream.on("end", () => {
      if (status !== 200) return reject(new Error(`raw http2 StorageScan: HTTP ${status}`));
      const body = chunks.length === 1 ? chunks[0] : concat(chunks);
      try {
        fromBinary(StorageScanRespSchema, body);
        resolve();
      } catch (e) {
        reject(e);
      }
    });
    stream.end(reqBytes);
  });
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

for (const n of [256, 1024]) {
  for (const kind of ["bare", "http2"] as const) {
    let helper: FanoutHelper | undefined;
    let pool: TransportPool | undefined;
    let bare: { transport: Transport; session: Http2SessionManager }[] = [];
    let raw: http2.ClientHttp2Session[] = [];
    let runCpu = new CpuTally();
    let floorCpu = new CpuTally();
    const floors = {
      bare: async () => {
        const res = await Promise.all(
          bare.map((b) =>
            createClient(CtlSvc, b.transport).storageScan(req, { timeoutMs: 30_000 })
          ),
        );
        if (res.length !== n) throw new Error(`bare client: ${res.length} of ${n} answers`);
      },
      http2: async () => {
        await Promise.all(raw.map(rawStorageScan));
      },
    };
    registerScenario({
      name: `fanout-${n}-vs-${kind}`,
      description: `StorageScan to ${n} light servers through Invoker.fanOut over a warm ` +
        (kind === "bare"
          ? "TransportPool; floor: the same calls from a bare Connect client (warm, Promise.all)"
          : "TransportPool; floor: the same calls over raw node:http2 sessions (warm, Promise.all)"),
      setup: async () => {
        runCpu = new CpuTally();
        floorCpu = new CpuTally();
        helper = await startHelper("serve-light", n);
        pool = new TransportPool({ security: { allowInsecure: true } });
        if (kind === "bare") {
          bare = helper.targets.map((addr) => {
            const session = new Http2SessionManager(`http://${addr}`);
            const transport = createConnectTransport({
              httpVersion: "2",
              baseUrl: `http://${addr}`,
              useBinaryFormat: true,
              sessionManager: session,
            });
            return { transport, session };
          });
        } else {
          raw = helper.targets.map((addr) => {
            const s = http2.connect(`http://${addr}`);
            // A failed session fails its calls (floor errors end the scenario); nothing else.
            s.on("error", () => {});
            return s;
          });
        }
      },
      run: () =>
        runCpu.measure(helper!.proc.pid, async () => {
          const res = await pool!.fanOut(helper!.targets, CtlSvc.method.storageScan, req, {
            deadline: Date.now() + 30_000,
            name: "StorageScan",
          });
          const failed = res.find((r) => r.error);
          if (failed) throw new Error(`fanout bench: ${failed.addr}: ${failed.error!.message}`);
        }),
      floor: () => floorCpu.measure(helper!.proc.pid, floors[kind]),
      teardown: async () => {
        console.error(
          `fanout-${n}-vs-${kind}: run: ${runCpu.text()}; floor: ${floorCpu.text()}`,
        );
        pool?.close();
        for (const b of bare) b.session.abort();
        bare = [];
        for (const s of raw) s.destroy();
        raw = [];
        await stopHelper(helper?.proc);
        helper = undefined;
      },
    });
  }
}
