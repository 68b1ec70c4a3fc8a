import { deepEqual as assertEquals, throws } from "node:assert/strict";
import { hostAddress, labNsName, parseLabNsName, parseNetnsList } from "./names.ts";

Deno.test("labNsName round-trips through parseLabNsName", () => {
  const n = labNsName(4242, "1abc", "h3");
  assertEquals(n, "dnt4242-1abc-h3");
  assertEquals(parseLabNsName(n), { name: n, ownerPid: 4242, tag: "1abc", role: "h3" });
  assertEquals(parseLabNsName(labNsName(7, "x", "sw"))?.role, "sw");
});

Deno.test("parseLabNsName ignores namespaces that are not ours", () => {
  for (
    const n of ["dnt-1-h0", "dntx-h0", "dnt12-ab-eth0", "cni-1234", "dnt12-AB-h0", "xdnt1-a-sw"]
  ) {
    assertEquals(parseLabNsName(n), null, n);
  }
});

Deno.test("labNsName rejects bad tags and roles", () => {
  throws(() => labNsName(1, "A-b", "sw"), /invalid lab tag "A-b"/);
  throws(() => labNsName(1, "ab", "switch"), /invalid lab role "switch"/);
});

Deno.test("parseNetnsList reads plain and id-annotated lines", () => {
  assertEquals(parseNetnsList("dnt1-a-h1 (id: 2)\ndnt1-a-sw\n\n"), ["dnt1-a-h1", "dnt1-a-sw"]);
  assertEquals(parseNetnsList(""), []);
});

Deno.test("hostAddress numbers hosts from .1 and validates input", () => {
  assertEquals([0, 1, 252].map((i) => hostAddress("10.231.7", i)), [
    "10.231.7.1",
    "10.231.7.2",
    "10.231.7.253",
  ]);
  throws(() => hostAddress("10.231", 0), /invalid lab subnet "10.231"/);
  throws(() => hostAddress("10.256.1", 0), /invalid lab subnet/);
  throws(() => hostAddress("10.1.1", 253), /invalid host index 253/);
});
