/**
 * A host list of a few KiB can name millions of hosts (`n[0-16384,16385-32769,...]`): each
 * range is within MAX_RANGE, the total is not. Expanding it (dmg dialing every host, the MS
 * matching a `--rank-hosts` filter from any client) must be refused, not run for minutes.
 */
import assert from "node:assert/strict";
import { hostsWithPort, MAX_RANGE, parseHostList, parseHostSet } from "./hostlist.ts";
import { selectInvalid, selectMembers } from "../mgmt/system_ops.ts";

/** hostlist.ts's MAX_EXPANDED_HOSTS (a literal: the test must run on code without it). */
const MAX_EXPANDED_HOSTS = 65536;

/** `n[...]` of `k` consecutive full ranges: (MAX_RANGE + 1) * k hosts in a short string. */
function ranges(k: number, prefix = "n"): string {
  const w = MAX_RANGE + 1;
  return `${prefix}[${Array.from({ length: k }, (_, i) => `${i * w}-${i * w + MAX_RANGE}`)}]`;
}

const TOO_MANY =
  /host list "n\[0-4915499\]" names 4915500 hosts, more than the 65536 accepted; name fewer hosts$/;

Deno.test("host lists expanding past MAX_EXPANDED_HOSTS are refused with the count and the limit", () => {
  const big = ranges(300); // 4.9 M hosts in 4.6 KiB
  assert.ok(big.length < 5000);
  assert.throws(() => parseHostSet(big).expand(), TOO_MANY);
  assert.throws(() => parseHostList(big).expand(), TOO_MANY);
  assert.throws(() => hostsWithPort([big], 10001), TOO_MANY);
  // Spread over several entries (dmg -l a,b,c or hostlist lines): the total counts.
  const parts = Array.from({ length: 5 }, (_, i) => ranges(1, `h${i}x`));
  assert.throws(() => hostsWithPort(parts, 10001), /names 81925 hosts, more than the 65536/);
  // The limit itself is accepted.
  const w = MAX_EXPANDED_HOSTS / 4;
  const exact = `n[${[0, 1, 2, 3].map((i) => `${i * w}-${i * w + w - 1}`)}]`;
  assert.equal(hostsWithPort([exact], 10001).length, MAX_EXPANDED_HOSTS);
  // A long hostile string is quoted shortened.
  const long = `n[${Array.from({ length: 300 }, (_, i) => `${i * 20000}-${i * 20000 + 16384}`)}]`;
  assert.throws(() => parseHostSet(long).expand(), (e: Error) => e.message.length < 200);
});

Deno.test("MS host filters (--rank-hosts from any client) do not expand millions of hosts", () => {
  // The MS's own bound (16384 hosts, counted before expansion) names the request field.
  const msBound = /host list names 4915500 hosts, more than 16384 hosts \(request field hosts\)/;
  assert.throws(() => selectMembers([], "", ranges(300)), msBound);
  assert.throws(() => selectInvalid([], "", ranges(300)), msBound);
});
