import { deepEqual, throws } from "node:assert/strict";
import { parseFabricUri } from "./fabric_ping.ts";

Deno.test("parseFabricUri accepts provider://IPv4:port", () => {
  deepEqual(parseFabricUri("ofi+tcp://127.0.0.1:31416"), { host: "127.0.0.1", port: 31416 });
  deepEqual(parseFabricUri("ofi+tcp;ofi_rxm://10.0.0.2:1"), { host: "10.0.0.2", port: 1 });
});

Deno.test("parseFabricUri rejects malformed URIs with the URI in the message", () => {
  for (const bad of ["127.0.0.1:1", "ofi+tcp://host:1", "ofi+tcp://1.2.3.4", "x://1.2.3.4:70000"]) {
    throws(() => parseFabricUri(bad), (e: Error) => e.message.includes(`"${bad}"`));
  }
});
