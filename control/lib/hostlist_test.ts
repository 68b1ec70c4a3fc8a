import { deepEqual as assertEquals } from "node:assert/strict";
import {
  compareBytes,
  goQuote,
  HostSet,
  hostsWithPort,
  parseHostList,
  parseHostSet,
  stripPorts,
} from "./hostlist.ts";
import { prng } from "../../tests/util/prng.ts";

/** [input, ranged form, count] */
type SetCase = [string, string, number];

function checkSet([input, ranged, count]: SetCase): void {
  const set = parseHostSet(input);
  assertEquals(set.toString(), ranged, `ranged form of ${input}`);
  assertEquals(set.count, count, `count of ${input}`);
  assertEquals(set.expand().length, count, `expanded length of ${input}`);
}

/** Assert that `fn` throws an Error whose message contains `text`. */
function throwsWith(fn: () => unknown, text: string): void {
  let message: string | undefined;
  try {
    fn();
  } catch (e) {
    if (!(e instanceof Error)) throw new Error(`expected an Error, got ${String(e)}`);
    message = e.message;
  }
  if (message === undefined) throw new Error(`expected an error containing ${text}`);
  if (!message.includes(text)) throw new Error(`error "${message}" does not contain "${text}"`);
}

function checkError(input: string, message: string): void {
  let got: string | undefined;
  try {
    parseHostSet(input);
  } catch (e) {
    got = (e as Error).message;
  }
  assertEquals(got, message, `error text for ${input}`);
}

Deno.test("spec §6.6 examples", () => {
  const cases: SetCase[] = [
    ["node[1-128],node2,node64", "node[1-128]", 128],
    ["node1 node2 node3", "node[1-3]", 3],
    ["10.5.1.[2-32]:10001,10.5.1.42:10001,10.5.1.1:10001", "10.5.1.[1-32,42]:10001", 33],
    ["huey,dewey,louie", "dewey,huey,louie", 3],
  ];
  cases.forEach(checkSet);
  checkError("node[5-4]", 'invalid range "5-4" (4 < 5)');
});

Deno.test("tokenising: separators, brackets, empty input (§6.1)", () => {
  const cases: SetCase[] = [
    ["", "", 0],
    ["  ,\t, ", "", 0],
    ["host[1-2],,host[3-4]", "host[1-4]", 4],
    ["host[1-2], host[3-4]", "host[1-4]", 4],
    [",host1\thost2 , host3,", "host[1-3]", 3],
    ["host[1, 3]", "host[1,3]", 2],
    ["a b\tc,d", "a,b,c,d", 4],
  ];
  cases.forEach(checkSet);
});

Deno.test("bracket grammar and widths (§6.2)", () => {
  const cases: SetCase[] = [
    ["node[001-9]", "node[001-009]", 9],
    ["node[02-4]", "node[02-04]", 3],
    ["node[009-11]", "node[009-011]", 3],
    ["%[1-2]", "%[1-2]", 2],
    ["node[1-16385]", "node[1-16385]", 16385],
    ["node[3,1,2]", "node[1-3]", 3],
    ["node[5]", "node5", 1],
    ["node[1-3]-ib", "node[1-3]-ib", 3],
    ["rack[1-2]node3", "rack[1-2]node3", 2],
    ["node[0]", "node0", 1],
    ["node[00-01]", "node[00-01]", 2],
    ["x[0000000000000000000001-2]", "x[0000000000000000000001-0000000000000000000002]", 2],
  ];
  cases.forEach(checkSet);
  assertEquals(parseHostSet("node[009-11]").expand(), ["node009", "node010", "node011"]);
  assertEquals(parseHostSet("node[02-4]").expand(), ["node02", "node03", "node04"]);
});

Deno.test("bracket errors carry the spec's texts (§6.2)", () => {
  checkError("[0-1,3-5]", 'invalid range: "[0-1,3-5]"');
  checkError("host[1-2", 'invalid range "host[1-2"');
  checkError("host]1-2[", 'invalid range "host]1-2["');
  checkError("host[a-b]", 'invalid range "a-b" ("a" is not uint)');
  checkError("host[1-b]", 'invalid range "1-b" ("b" is not uint)');
  checkError("host[]", 'invalid range "" ("" is not uint)');
  checkError("host[1,]", 'invalid range "" ("" is not uint)');
  checkError("host[,1]", 'invalid range "" ("" is not uint)');
  checkError("host[0--1]", 'invalid range: "0--1"');
  checkError("host[5-4]", 'invalid range "5-4" (4 < 5)');
  checkError("host[1-10000000000]", 'invalid range "1-10000000000" (> 16384 hosts)');
  checkError("host[0-16385]", 'invalid range "0-16385" (> 16384 hosts)');
  checkError("host[+1]", 'invalid range "+1" ("+1" is not uint)');
  checkError("host[1.5]", 'invalid range "1.5" ("1.5" is not uint)');
  // A nested bracket names the whole token, not the fragment "[1-2" (issue 15 item 12).
  checkError("host[[1-2]]", 'invalid range "host[[1-2]]" (nested "[")');
  checkError("host[1,[2]", 'invalid range "host[1,[2]" (nested "[")');
  // The error of the first bad token wins; nothing is half-parsed.
  checkError("ok1,bad[2-1],worse[", 'invalid range "2-1" (1 < 2)');
});

Deno.test("plain host names split per §6.3", () => {
  // A numbered host folds with its neighbours; an opaque one stays as written.
  const cases: SetCase[] = [
    ["node1-3,node1-4", "node1-[3-4]", 2],
    ["d-server-0001ab,d-server-0002ab", "d-server-[0001-0002]ab", 2],
    ["host-01.domain-x.com,host-02.domain-x.com", "host-[01-02].domain-x.com", 2],
    ["foo-bar", "foo-bar", 1],
    ["node3,node4", "node[3-4]", 2],
    ["foo1.example.com,foo2.example.com", "foo[1-2].example.com", 2],
    ["rack1node2,rack2node2", "rack[1-2]node2", 2],
    ["localhost:10001", "localhost:10001", 1],
    ["10.5.1.42:10001,10.5.1.43:10001", "10.5.1.[42-43]:10001", 2],
    ["10.5.1.42,10.5.1.41", "10.5.1.[41-42]", 2],
    ["Node1,node1", "Node1,node1", 2],
    ["foo:bar", "foo:bar", 1],
  ];
  cases.forEach(checkSet);
  for (
    const bad of ["123", "::1", ":42", "::", "-", "node5:-10001", "10.0.0.1.foo", "10.0.0.1:abc"]
  ) {
    checkError(bad, `invalid hostname ${goQuote(bad)}`);
  }
});

Deno.test("fixed quirks of §11 (3, 4, 8) and strictness", () => {
  // Quirk 3: an unnumbered name never merges with a numbered one.
  checkSet(["d,d1", "d,d1", 2]);
  checkSet(["node,node1", "node,node1", 2]);
  checkSet(["node1,node,node2", "node,node[1-2]", 3]);
  assertEquals(parseHostSet("d,d1").expand(), ["d", "d1"]);
  // Quirk 4: width comes from the trimmed text.
  checkSet(["node[1 - 3]", "node[1-3]", 3]);
  checkSet(["node[ 01 -03 ]", "node[01-03]", 3]);
  // Quirk 8: IPv4 hosts only take `:port`; `_` is fine before a hyphen.
  checkError("10.0.0.1x5", 'invalid hostname "10.0.0.1x5"');
  checkError("10.0.0.1:", 'invalid hostname "10.0.0.1:"');
  checkSet(["a_b-1,a_b-2", "a_b-[1-2]", 2]);
  checkSet(["a_b1", "a_b1", 1]);
  // A second bracket group would put brackets and commas into host names.
  checkError(
    "host[1-2][3-4]",
    'invalid range "host[1-2][3-4]" (only one [...] group per host name is supported)',
  );
  checkError("host]", 'invalid hostname "host]" (unmatched "]")');
  checkError(
    "node99999999999999999",
    'invalid hostname "node99999999999999999" ' +
      "(host number larger than 9007199254740991)",
  );
  checkError(
    "node[99999999999999999]",
    'invalid range "99999999999999999" ("99999999999999999" is larger than 9007199254740991)',
  );
});

Deno.test("zero-padding compatibility when folding (§6.4)", () => {
  const cases: SetCase[] = [
    ["node[001-9],node[010-20]", "node[001-020]", 20],
    ["node[001-9],node[10-20]", "node[10-20,001-009]", 20],
    ["node[10-20],node[001-9]", "node[10-20,001-009]", 20],
    ["host9,host10", "host[9-10]", 2],
    ["host1,host01", "host[1,01]", 2],
    ["host01,host1", "host[1,01]", 2],
    ["node[098-099],node100", "node[098-100]", 3],
    ["node100,node[098-099]", "node[098-100]", 3],
    ["node[01-99],node[100-120]", "node[01-120]", 120],
    ["node[001-100]", "node[001-100]", 100],
    // 100 printed with width 3 is "100", the same host as plain node100.
    ["node[001-100],node100", "node[001-100]", 100],
    ["node[9-12],node[10-20]", "node[9-20]", 12],
    ["node[1-3],node[02-04],node[003-5]", "node[1-3,02-04,003-005]", 9],
    ["node[5],node[001-009],node200", "node[5,001-009,200]", 11],
    ["node0,node00,node000", "node[0,00,000]", 3],
  ];
  cases.forEach(checkSet);
});

Deno.test("sorting across prefixes and suffixes is byte-wise (§6.4)", () => {
  const cases: SetCase[] = [
    ["b1,a2,a1,B1", "B1,a[1-2],b1", 4],
    ["node1:10002,node1:10001,node2:10001", "node[1-2]:10001,node1:10002", 3],
    ["host10,host2,hostA", "host[2,10],hostA", 3],
    ["zeta,d1,dewey", "d1,dewey,zeta", 3],
  ];
  cases.forEach(checkSet);
  assertEquals(compareBytes("host10", "host2") < 0, true);
  assertEquals(compareBytes("host[1,3]", "host[2,4]") < 0, true);
  assertEquals(compareBytes("host1", "host[2-3]") < 0, true);
  // Code point order, not UTF-16 order: U+FF61 sorts before U+1F600.
  assertEquals(compareBytes("\uff61", "\u{1f600}") < 0, true);
  assertEquals(compareBytes("a", "ab") < 0, true);
  assertEquals(compareBytes("same", "same"), 0);
});

Deno.test("a host is identified by its name, whatever its bracket form", () => {
  checkSet(["node1-ib,node[1-2]-ib", "node[1-2]-ib", 2]);
  checkSet(["node[01-16]-ib0,node03-ib0", "node[01-16]-ib0", 16]);
  const set = parseHostSet("node[1-2]-ib,foo[01-03],10.0.0.[1-2]:10001,%[5-6],plain");
  for (const h of ["node1-ib", "node2-ib", "foo02", "10.0.0.2:10001", "%6", "plain"]) {
    assertEquals(set.contains(h), true, h);
  }
  for (const h of ["node3-ib", "foo2", "foo002", "10.0.0.2", "%7", "plai", "node-ib", ""]) {
    assertEquals(set.contains(h), false, h);
  }
});

Deno.test("HostSet add, merge, fromHosts, clone, equals, JSON", () => {
  const set = parseHostSet("node[1-3]");
  set.add("node[3-5],node9");
  assertEquals(set.toString(), "node[1-5,9]");
  assertEquals(set.count, 6);
  set.add("node2");
  assertEquals(set.count, 6);
  const copy = set.clone();
  copy.add("other");
  assertEquals(set.count, 6);
  assertEquals(copy.count, 7);
  set.merge(parseHostSet("node[6-8],a"));
  assertEquals(set.toString(), "a,node[1-9]");
  assertEquals(JSON.stringify({ hosts: set }), '{"hosts":"a,node[1-9]"}');
  throwsWith(() => set.add("bad["), 'invalid range "bad["');
  assertEquals(set.toString(), "a,node[1-9]", "a failed add changes nothing");

  const fromHosts = HostSet.fromHosts(["h3:10001", "h1:10001", "h2:10001", "h1:10001"]);
  assertEquals(fromHosts.toString(), "h[1-3]:10001");
  assertEquals(fromHosts.equals(parseHostSet("h[1-3]:10001")), true);
  assertEquals(fromHosts.equals(parseHostSet("h[1-4]:10001")), false);
  assertEquals(HostSet.fromHosts([]).count, 0);
  throwsWith(() => HostSet.fromHosts(["a,b"]), 'invalid host "a,b": expected one host');
  throwsWith(() => HostSet.fromHosts(["a[1-2]"]), "expected one host name");
  throwsWith(() => HostSet.fromHosts([""]), 'invalid host ""');
  throwsWith(() => HostSet.fromHosts([":1"]), 'invalid hostname ":1"');
  assertEquals(new HostSet().toString(), "");
});

Deno.test("HostList keeps order and duplicates", () => {
  const list = parseHostList("node3,node1,node2,node1,foo,node[7-8]");
  assertEquals(list.count, 7);
  assertEquals(list.expand(), ["node3", "node1", "node2", "node1", "foo", "node7", "node8"]);
  assertEquals(list.toString(), "node[3,1-2,1],foo,node[7-8]");
  assertEquals(parseHostList(list.toString()).expand(), list.expand());
  const fromList = list.toSet();
  list.push("node9");
  assertEquals(fromList.toString(), "foo,node[1-3,7-8]", "the set does not follow the list");
  assertEquals(list.toString(), "node[3,1-2,1],foo,node[7-9]");
  // Quirk 3 also in lists; padded and unpadded numbers do not run together.
  assertEquals(parseHostList("d,d1").toString(), "d,d1");
  assertEquals(parseHostList("n9,n010").toString(), "n[9,010]");
  assertEquals(parseHostList("n098,n099,n100").toString(), "n[098-100]");
  assertEquals(parseHostList("").count, 0);
  throwsWith(() => parseHostList("a,b[2-1]"), 'invalid range "2-1" (1 < 2)');
});

Deno.test("stripPorts for display (§4.3)", () => {
  assertEquals(stripPorts("host[1-2]:10001"), "host[1-2]");
  assertEquals(stripPorts("10.0.0.[1,3]:10001"), "10.0.0.[1,3]");
  assertEquals(stripPorts("10.5.1.[1-32,42]:10001"), "10.5.1.[1-32,42]");
  assertEquals(stripPorts("a:1,b[1-2]:2,c"), "a,b[1-2],c");
  assertEquals(stripPorts("wolf-[71-72]"), "wolf-[71-72]");
  assertEquals(stripPorts(""), "");
});

Deno.test("dial targets per §2.3", () => {
  assertEquals(hostsWithPort(["foo"], 10001), ["foo:10001"]);
  assertEquals(hostsWithPort(["foo,bar:4242,baz"], 10001), [
    "bar:4242",
    "baz:10001",
    "foo:10001",
  ]);
  assertEquals(hostsWithPort(["foo-[1-4]", "bar[2-4]", "baz[8-9]:4242"], 10001), [
    "bar2:10001",
    "bar3:10001",
    "bar4:10001",
    "baz8:4242",
    "baz9:4242",
    "foo-1:10001",
    "foo-2:10001",
    "foo-3:10001",
    "foo-4:10001",
  ]);
  assertEquals(hostsWithPort(["10.0.0.[1-2]"], 10001), ["10.0.0.1:10001", "10.0.0.2:10001"]);
  throwsWith(() => hostsWithPort([":42"], 10001), 'invalid hostname ":42"');
  throwsWith(() => hostsWithPort(["::"], 10001), 'invalid hostname "::"');
  throwsWith(
    () => hostsWithPort(["foo:bar"], 10001),
    'invalid host "foo:bar": strconv.Atoi: parsing "bar": invalid syntax',
  );
  throwsWith(
    () => hostsWithPort(["foo::10"], 10001),
    'invalid host "foo::10": host should conform to hostname[:port]',
  );
  throwsWith(
    () => hostsWithPort(["foo:70000"], 10001),
    'invalid host "foo:70000": port 70000 out of range [1, 65535]',
  );
  assertEquals(hostsWithPort([], 10001), []);
});

Deno.test("goQuote escapes like Go's %q", () => {
  assertEquals(goQuote('a"b\\c'), '"a\\"b\\\\c"');
  assertEquals(goQuote("a\tb\n"), '"a\\tb\\n"');
  assertEquals(goQuote("\x01"), '"\\x01"');
});

// ---- property tests -------------------------------------------------------------------

// Prefixes/suffixes whose plain names split back the same way (so re-folding is exact).
const PREFIXES = ["node", "n", "rack-", "a_b-", "10.0.0.", "wolf-", "Host"];
const SUFFIXES = ["", ":10001", ".ib0", ":42"];
const OPAQUE = ["localhost", "foo-bar", "node", "n", "wolf-x:10001", "Host"];

/** Random host-list text plus the set of host names it denotes. */
function randomList(rand: () => number): { text: string; names: Set<string> } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const tokens: string[] = [];
  const names = new Set<string>();
  const n = 1 + Math.floor(rand() * 8);
  for (let i = 0; i < n; i++) {
    if (rand() < 0.15) {
      const name = pick(OPAQUE);
      tokens.push(name);
      names.add(name);
      continue;
    }
    const prefix = pick(PREFIXES);
    const suffix = prefix === "10.0.0." ? pick(["", ":10001"]) : pick(SUFFIXES);
    const max = prefix === "10.0.0." ? 255 : 1200;
    const lo = Math.floor(rand() * max);
    const hi = Math.min(max, lo + Math.floor(rand() * (rand() < 0.5 ? 3 : 150)));
    // An IPv4 octet has at most 3 digits when written plainly.
    const maxWidth = prefix === "10.0.0." ? 3 : 4;
    const width = rand() < 0.6 ? String(lo).length : 1 + Math.floor(rand() * maxWidth);
    const padN = (v: number) => String(v).padStart(width, "0");
    if (lo === hi && rand() < 0.5) tokens.push(prefix + padN(lo) + suffix);
    else tokens.push(`${prefix}[${padN(lo)}-${padN(hi)}]${suffix}`);
    for (let v = lo; v <= hi; v++) names.add(prefix + padN(v) + suffix);
  }
  const sep = () => pick([",", " ", ", ", "\t"]);
  return { text: tokens.map((t) => t + sep()).join(""), names };
}

const ROUNDS = 300;

Deno.test("property: the set holds exactly the distinct names, count = expand().length", () => {
  const rand = prng(1);
  for (let i = 0; i < ROUNDS; i++) {
    const { text, names } = randomList(rand);
    const set = parseHostSet(text);
    const expanded = set.expand();
    assertEquals(set.count, expanded.length, text);
    assertEquals(new Set(expanded).size, expanded.length, `no duplicates: ${text}`);
    assertEquals([...names].sort(), [...expanded].sort(), text);
    for (const name of names) assertEquals(set.contains(name), true, `${name} in ${text}`);
  }
});

Deno.test("property: parse(print(x)) = x", () => {
  const rand = prng(2);
  for (let i = 0; i < ROUNDS; i++) {
    const set = parseHostSet(randomList(rand).text);
    const again = parseHostSet(set.toString());
    assertEquals(again.toString(), set.toString());
    assertEquals(again.expand(), set.expand());
    assertEquals(again.count, set.count);
  }
});

Deno.test("property: expanding then re-folding is the identity", () => {
  const rand = prng(3);
  for (let i = 0; i < ROUNDS; i++) {
    const set = parseHostSet(randomList(rand).text);
    const refolded = HostSet.fromHosts(set.expand());
    assertEquals(refolded.toString(), set.toString());
    assertEquals(parseHostSet(set.expand().join(",")).toString(), set.toString());
  }
});

Deno.test("property: merging is order-independent", () => {
  const rand = prng(4);
  for (let i = 0; i < ROUNDS / 3; i++) {
    const parts = Array.from({ length: 4 }, () => randomList(rand).text);
    const forward = new HostSet();
    for (const p of parts) forward.merge(parseHostSet(p));
    const backward = new HostSet();
    for (const p of [...parts].reverse()) backward.add(p);
    const shuffled = parseHostSet(
      parts.flatMap((p) => parseHostList(p).expand()).sort(() => rand() - 0.5).join(","),
    );
    assertEquals(backward.toString(), forward.toString());
    assertEquals(shuffled.toString(), forward.toString());
    assertEquals(shuffled.count, forward.count);
  }
});

Deno.test("property: a list expands in input order with duplicates", () => {
  const rand = prng(5);
  for (let i = 0; i < ROUNDS; i++) {
    const { text } = randomList(rand);
    const list = parseHostList(text);
    const expanded = list.expand();
    assertEquals(list.count, expanded.length);
    assertEquals(parseHostList(list.toString()).expand(), expanded);
    assertEquals(list.toSet().toString(), parseHostSet(text).toString());
  }
});

Deno.test("property: one stray bracket in a valid list is refused, naming its token", () => {
  const rand = prng(6);
  for (let i = 0; i < ROUNDS; i++) {
    const { text } = randomList(rand);
    const at = Math.floor(rand() * (text.length + 1));
    const mangled = text.slice(0, at) + (rand() < 0.5 ? "[" : "]") + text.slice(at);
    let message: string | undefined;
    try {
      parseHostSet(mangled);
    } catch (e) {
      message = (e as Error).message;
    }
    if (message === undefined) throw new Error(`${JSON.stringify(mangled)} was accepted`);
    // The quoted text in the error is a piece of the input that holds a bracket.
    const quoted = /^invalid (?:range|hostname):? "((?:[^"\\]|\\.)*)"/.exec(message)?.[1];
    // goQuote escapes only TAB, quote and backslash here, which JSON reads the same way.
    const piece = quoted === undefined ? undefined : JSON.parse(`"${quoted}"`) as string;
    assertEquals(piece !== undefined && mangled.includes(piece), true, message);
  }
});
