import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import * as http2 from "node:http2";
import { CtlSvc } from "../../../proto/gen/ts/ctl/ctl_pb.ts";
import { listenControl } from "./transport.ts";

// Receiving GOAWAY crashes Deno's node:http2 client now and then (nghttp2 assertion or
// SIGSEGV), so a closing listener must cut its connections without sending one.
Deno.test("listenControl close(): open client sessions are cut without a GOAWAY", async () => {
  const l = await listenControl({
    host: "127.0.0.1",
    port: 0,
    security: { allowInsecure: true },
    routes: (r) => r.service(CtlSvc, {}),
  });
  const client = http2.connect(`http://${l.address}`);
  const seen: string[] = [];
  client.on("goaway", () => seen.push("goaway"));
  client.on("error", () => {}); // a reset connection is expected
  const closed = new Promise<void>((r) => client.on("close", () => r()));
  try {
    // One finished call, so the session is established and idle.
    const status = await new Promise<number>((resolve, reject) => {
      const req = client.request({
        ":method": "POST",
        ":path": "/ctl.CtlSvc/StorageScan",
        "content-type": "application/proto",
      });
      req.on("response", (h) => resolve(Number(h[":status"])));
      req.on("error", reject);
      req.resume();
      req.end();
    });
    assert(status > 0);
    await l.close();
    await closed;
    assertEquals(seen, []);
  } finally {
    client.destroy();
    await l.close();
  }
});
