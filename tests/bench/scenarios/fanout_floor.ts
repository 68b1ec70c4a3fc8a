/**
 * `fanout-<N>-vs-bare`: one StorageScan (a storage-scan-sized response) fanned out by
 * control/lib/rpc/fanout.ts over a warm TransportPool (the path dmg takes) to N servers on
 * distinct loopback addresses (the helper of fanout.ts), against the floor that means
 * something: the same N calls made by a bare Connect client (one plain connect-node HTTP/2
 * transport per host, warm, no interceptors, no concurrency limit, no per-host error
 * handling), in the same run. Target (issue 14): at 1024 hosts, run ≤ 1.5x floor and ≤ 150 ms.
 */
import { create } from "@bufbuild/protobuf";
import { createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { CtlSvc } from "../../../proto/gen/ts/ctl/ctl_pb.ts";
import { StorageScanReqSchema } from "../../../proto/gen/ts/ctl/storage_pb.ts";
import { fanOut } from "../../../control/lib/rpc/fanout.ts";
import { TransportPool } from "../../../control/lib/rpc/transport.ts";
import { registerScenario } from "../scenario.ts";

const req = create(StorageScanReqSchema, { scm: {}, nvme: { Basic: true } });
const helperPath = new URL("./fanout.ts", import.meta.url).pathname;

for (const n of [256, 1024]) {
  let helper: Deno.ChildProcess | undefined;
  let targets: string[] = [];
  let pool: TransportPool | undefined;
  let bare: { transport: Transport; session: Http2SessionManager }[] = [];
  const bareCall = (t: Transport) =>
    createClient(CtlSvc, t).storageScan(req, { timeoutMs: 30_000 });
  registerScenario({
    name: `fanout-${n}-vs-bare`,
    description: `StorageScan to ${n} servers through fanOut over a warm TransportPool; ` +
      "floor: the same calls from a bare Connect client (warm, Promise.all)",
    setup: async () => {
      helper = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", helperPath, "serve", String(n)],
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
      pool = new TransportPool({ security: { allowInsecure: true } });
      bare = targets.map((addr) => {
        const session = new Http2SessionManager(`http://${addr}`);
        const transport = createConnectTransport({
          httpVersion: "2",
          baseUrl: `http://${addr}`,
          useBinaryFormat: true,
          sessionManager: session,
        });
        return { transport, session };
      });
    },
    run: async () => {
      const res = await fanOut(
        pool!,
        targets,
        (t, o) => createClient(CtlSvc, t).storageScan(req, o),
        { deadline: Date.now() + 30_000, name: "StorageScan" },
      );
      const failed = res.find((r) => r.error);
      if (failed) throw new Error(`fanout bench: ${failed.addr}: ${failed.error!.message}`);
    },
    floor: async () => {
      const res = await Promise.all(bare.map((b) => bareCall(b.transport)));
      if (res.length !== n) throw new Error(`bare client: ${res.length} of ${n} answers`);
    },
    teardown: async () => {
      pool?.close();
      for (const b of bare) b.session.abort();
      bare = [];
      if (helper) {
        helper.kill("SIGKILL");
        await helper.status;
        await helper.stdout.cancel().catch(() => {});
      }
    },
  });
}
