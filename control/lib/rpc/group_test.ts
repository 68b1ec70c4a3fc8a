import { deepEqual, equal } from "node:assert/strict";
import { connectionFailure } from "./conn_errors.ts";
import { fnv1a64, groupPayloads } from "./group.ts";
import { formatDuration } from "./host_error.ts";

Deno.test("groupPayloads: equal fingerprints share a host set, sorted by ranged string", () => {
  const items = [
    { addr: "host2:1", payload: { v: 1, free: 10 } },
    { addr: "host1:1", payload: { v: 2, free: 11 } },
    { addr: "host3:1", payload: { v: 2, free: 12 } },
    { addr: "host10:1", payload: { v: 1, free: 13 } },
  ];
  const groups = groupPayloads(items, (p) => String(p.v)); // "free" is volatile
  deepEqual(groups.map((g) => g.hosts.toString()), ["host[1,3]:1", "host[2,10]:1"]);
  deepEqual(groups.map((g) => g.payload.v), [2, 1]);
  equal(groups[0].key, fnv1a64("2").toString());
});

Deno.test("connectionFailure: errno codes map to DAOS client faults", () => {
  const err = (code: string, msg: string) => Object.assign(new Error(msg), { code });
  equal(connectionFailure(err("ECONNREFUSED", "connect ECONNREFUSED"), "a:1")?.code, 506);
  equal(
    connectionFailure(err("ENOTFOUND", "getaddrinfo ENOTFOUND x"), "x:1")?.description,
    "the server address (x:1) could not be resolved",
  );
  equal(connectionFailure(err("EHOSTUNREACH", "connect EHOSTUNREACH"), "a:1")?.code, 505);
  equal(connectionFailure(err("ETIMEDOUT", "connect ETIMEDOUT"), "a:1")?.code, 508);
  equal(connectionFailure(err("ECONNRESET", "read ECONNRESET"), "a:1")?.code, 507);
  equal(connectionFailure(new Error("some server error"), "a:1"), undefined);
});

Deno.test("formatDuration: Go-style durations", () => {
  deepEqual([500, 1500, 60_000, 300_000, 3_723_000].map(formatDuration), [
    "500ms",
    "1.5s",
    "1m0s",
    "5m0s",
    "1h2m3s",
  ]);
});
