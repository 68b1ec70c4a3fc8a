import { deepEqual, match, ok, rejects, throws } from "node:assert/strict";
import { parseFabricUri, pingFabric } from "./fabric_ping.ts";

Deno.test("parseFabricUri accepts provider://IPv4:port", () => {
  deepEqual(parseFabricUri("ofi+tcp://127.0.0.1:31416"), { host: "127.0.0.1", port: 31416 });
  deepEqual(parseFabricUri("ofi+tcp;ofi_rxm://10.0.0.2:1"), { host: "10.0.0.2", port: 1 });
});

Deno.test("parseFabricUri rejects malformed URIs with the URI in the message", () => {
  for (const bad of ["127.0.0.1:1", "ofi+tcp://host:1", "ofi+tcp://1.2.3.4", "x://1.2.3.4:70000"]) {
    throws(() => parseFabricUri(bad), (e: Error) => e.message.includes(`"${bad}"`));
  }
});

Deno.test("pingFabric of a closed port rejects at its bound, naming the URI and the status", async () => {
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const uri = `ofi+tcp://127.0.0.1:${(closed.addr as Deno.NetAddr).port}`;
  closed.close();
  const t0 = Date.now();
  await rejects(pingFabric(uri, 300), (e: Error) => {
    match(
      e.message,
      new RegExp(`fabric ping to ${uri.replaceAll("+", "\\+")} failed: DER_UNREACH`),
    );
    return true;
  });
  const took = Date.now() - t0;
  ok(took >= 250 && took < 5000, `took ${took} ms`);
});
