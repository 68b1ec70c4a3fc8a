import { equal, match, ok as assert } from "node:assert/strict";
import {
  controlAddrProblem,
  fabricUriProblem,
  faultDomainProblem,
  quoteInput,
  rankProblem,
  uint64TextProblem,
} from "./member_fields.ts";

Deno.test("fabricUriProblem: boundaries of length, port and host", () => {
  const uri127 = `ofi+tcp://${"a".repeat(55)}.${"b".repeat(55)}:65535`;
  equal(uri127.length, 127);
  equal(fabricUriProblem(uri127), null);
  match(fabricUriProblem(uri127 + "5")!, /longer than 127 characters/);
  equal(fabricUriProblem("ofi+tcp;ofi_rxm://10.0.0.1:1"), null);
  equal(fabricUriProblem("ucx+dc_x://[fe80::1]:31416"), null);
  match(fabricUriProblem("ofi+tcp://10.0.0.1:0")!, /port out of range/);
  match(fabricUriProblem("ofi+tcp://10.0.0.1:65536")!, /port out of range/);
  match(fabricUriProblem("ofi+tcp://10.0.0.256:1")!, /invalid IPv4 address/);
  match(fabricUriProblem("ofi+tcp://:1")!, /no host/);
  match(fabricUriProblem("ofi+tcp://[::1]")!, /no port/);
});

Deno.test("controlAddrProblem, faultDomainProblem, rank and uint64 limits", () => {
  equal(controlAddrProblem("node_1.example:10001"), null);
  equal(controlAddrProblem("[::1]:1"), null);
  match(controlAddrProblem("::1:10001")!, /invalid host name/);
  match(controlAddrProblem("10.0.0.1")!, /no port/);
  equal(faultDomainProblem("/"), null);
  equal(faultDomainProblem("/rack=r1/node=n1"), null);
  match(faultDomainProblem("/a\u0000")!, /control character/);
  equal(rankProblem(4294967294), null);
  match(rankProblem(4294967295)!, /out of range \[0, 4294967294\]/);
  equal(uint64TextProblem("18446744073709551615", "x"), null);
  match(uint64TextProblem("18446744073709551616", "x")!, /not an unsigned 64-bit integer/);
  match(uint64TextProblem("01", "x")!, /not an unsigned 64-bit integer/);
  const q = quoteInput("y".repeat(10000));
  assert(q.length < 100 && q.endsWith("(10000 characters)"), q);
});
