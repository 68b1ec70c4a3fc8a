/**
 * `fanout-<N>-<warm|cold>`: one StorageScan (a real scan response, captured once from this
 * host) fanned out to N = 16, 64, 256, 1024 control servers on distinct loopback addresses
 * 127.0.x.y, hosted by one helper process. Warm reuses one HTTP/2 session per host across
 * runs; cold opens fresh connections every run. Floor: one StorageScan round trip to one
 * server over a warm session, in the same run.
 *
 * The helper is this file run as `deno run -A fanout.ts serve N`.
 */
import { create } from "@bufbuild/protobuf";
import { type CallOptions, createClient, type Transport } from "@connectrpc/connect";
import { CtlSvc } from "../../../proto/gen/ts/ctl/ctl_pb.ts";
import { StorageScanReqSchema } from "../../../proto/gen/ts/ctl/storage_pb.ts";
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

if (import.meta.main && Deno.args[0] === "serve") {
  await serve(Number(Deno.args[1]));
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
          helper = new Deno.Command(Deno.execPath(), {
            args: ["run", "-A", new URL(import.meta.url).pathname, "serve", String(n)],
            stdout: "piped",
            stdin: "null",
          }).spawn();
          const reader = helper.stdout.pipeThrough(new TextDecoderStream()).getReader();
          let text = "";
          // Bounded: the helper prints one line, or exits.
          while (!text.includes("\n")) {
            const { value, done } = await reader.read();
            if (done) throw new Error("fanout helper exited before listing its servers");
            text += value;
          }
          reader.releaseLock();
          targets = JSON.parse(text.slice(0, text.indexOf("\n")));
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
          if (helper) {
            helper.kill("SIGKILL");
            await helper.status;
            await helper.stdout.cancel().catch(() => {});
          }
        },
      });
    }
  }
}
