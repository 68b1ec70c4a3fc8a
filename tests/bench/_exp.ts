import { create, toBinary, fromBinary } from "@bufbuild/protobuf";
import { createNodeHttpClient, Http2SessionManager } from "@connectrpc/connect-node";
import process from "node:process";
import { StorageScanReqSchema, StorageScanRespSchema } from "../../proto/gen/ts/ctl/storage_pb.ts";
import { startHelper, stopHelper, processCpuMs, STORAGE_SCAN_PATH } from "./scenarios/fanout.ts";
const n = 1024;
const h = await startHelper("serve-light", n);
const reqBytes = toBinary(StorageScanReqSchema, create(StorageScanReqSchema, { scm: {}, nvme: { Basic: true } }));
const sms = h.targets.map((a) => new Http2SessionManager(`http://${a}`));
const mode = Deno.args[0];
async function e1(i: number) {
  const sm = sms[i];
  const client = createNodeHttpClient({ httpVersion: "2", sessionProvider: () => sm });
  const hdr = new Headers({ "content-type": "application/proto", "connect-protocol-version": "1" });
  const r = await client({ url: `http://${h.targets[i]}${STORAGE_SCAN_PATH}`, method: "POST", header: hdr, body: (async function* () { yield reqBytes; })() });
  const chunks: Uint8Array[] = [];
  for await (const c of r.body) chunks.push(c);
  fromBinary(StorageScanRespSchema, chunks[0]);
}
async function e2(i: number) {
  const st = await sms[i].request("POST", STORAGE_SCAN_PATH, { "content-type": "application/proto", "connect-protocol-version": "1" }, {});
  await new Promise<void>((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    st.on("data", (c: Uint8Array) => { chunks.push(c); sms[i].notifyResponseByteRead(st); });
    st.on("error", reject);
    st.on("end", () => { fromBinary(StorageScanRespSchema, chunks[0]); resolve(); });
    st.end(reqBytes);
  });
}
const f = mode === "e1" ? e1 : e2;
const once = () => Promise.all(h.targets.map((_, i) => f(i)));
await once(); await once();
const c0 = process.cpuUsage(); const h0 = processCpuMs(h.proc.pid); const t0 = performance.now();
for (let i = 0; i < 10; i++) await once();
const c = process.cpuUsage(c0);
console.log(`${mode}: wall ${((performance.now() - t0) / 10).toFixed(0)} ms client ${((c.user + c.system) / 10000).toFixed(0)} ms helper ${((processCpuMs(h.proc.pid) - h0) / 10).toFixed(0)} ms`);
for (const s of sms) s.abort();
await stopHelper(h.proc);
