import { deepEqual as assertEquals } from "node:assert/strict";
import { groupRanks, MAX_RANK, NilRank, parseRankSet, RankSet } from "./rankset.ts";
import { prng } from "../../tests/util/prng.ts";

/** The error message `fn` throws (fails when it does not throw). */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof Error) return e.message;
    throw new Error(`expected an Error, got ${String(e)}`);
  }
  throw new Error("expected an error");
}

/** [input, String(), RangedString(), count] */
type Case = [string, string, string, number];

function check([input, str, ranged, count]: Case): void {
  const set = parseRankSet(input);
  assertEquals(set.toString(), str, `String() of ${input}`);
  assertEquals(set.toRangedString(), ranged, `RangedString() of ${input}`);
  assertEquals(set.count, count, `count of ${input}`);
  assertEquals(set.ranks().length, count, `ranks() of ${input}`);
}

Deno.test("spec §7.3 examples", () => {
  check(["1,2,3,5,6,8,10,10,1", "1-3,5-6,8,10", "[1-3,5-6,8,10]", 7]);
  check(["[0-3,5]", "0-3,5", "[0-3,5]", 5]);
  assertEquals(
    errorOf(() => parseRankSet("1, 5")),
    'creating numeric set from "[1, 5]": unexpected whitespace character(s)',
  );
  assertEquals(
    errorOf(() => parseRankSet("0,2,four,,4-8")),
    'creating numeric set from "[0,2,four,,4-8]": unexpected alphabetic character(s)',
  );
});

Deno.test("brackets and empty sets (§7.1)", () => {
  const cases: Case[] = [
    ["", "", "", 0],
    ["[]", "", "", 0],
    ["0-3,5", "0-3,5", "[0-3,5]", 5],
    ["[1]", "1", "1", 1],
    ["3", "3", "3", 1],
    ["[2,4]", "2,4", "[2,4]", 2],
    ["0-10", "0-10", "[0-10]", 11],
    ["2,3,10-19,0-9", "0-19", "[0-19]", 20],
    ["5-5", "5", "5", 1],
    ["0", "0", "0", 1],
  ];
  cases.forEach(check);
  assertEquals(parseRankSet("0-10").ranks(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

Deno.test("unbalanced brackets are refused, naming the input as typed (issue 15 item 12)", () => {
  const refused: Array<[string, string]> = [
    ["[0-5", 'unbalanced brackets (no closing "]"; write "0-5" or "[0-5]")'],
    ["0-5]", 'unbalanced brackets (no opening "["; write "0-5" or "[0-5]")'],
    ["[1", 'unbalanced brackets (no closing "]"; write "1" or "[1]")'],
    ["[", 'unbalanced brackets (no closing "]")'],
    ["]", 'unbalanced brackets (no opening "[")'],
  ];
  for (const [input, cause] of refused) {
    assertEquals(
      errorOf(() => parseRankSet(input)),
      `creating numeric set from "${input}": ${cause}`,
    );
  }
  const whole = 'brackets may only enclose the whole list (write "1-3,5" or "[1-3,5]")';
  for (
    const input of ["]]", "[[]", "[]]", "][", "[[0-5]]", "[0-5]]", "[[0-5", "]0-5[", "0-5[", "1[2"]
  ) {
    assertEquals(
      errorOf(() => parseRankSet(input)),
      `creating numeric set from "${input}": ${whole}`,
    );
  }
});

Deno.test("range errors use §6.2 texts, wrapped", () => {
  const wrap = (input: string, cause: string) =>
    assertEquals(
      errorOf(() => parseRankSet(input)),
      `creating numeric set from "[${input.replace(/^\[|\]$/g, "")}]": ${cause}`,
    );
  wrap("3-0", 'invalid range "3-0" (0 < 3)');
  wrap("1,,2", 'invalid range "" ("" is not uint)');
  wrap("1,", 'invalid range "" ("" is not uint)');
  wrap("0--1", 'invalid range: "0--1"');
  wrap(
    "0-16385",
    'invalid range "0-16385" (16386 ranks; one range may hold at most 16385 ranks, ' +
      'split it as "0-16384,16385-...")',
  );
  wrap(
    "7-100006",
    'invalid range "7-100006" (100000 ranks; one range may hold at most 16385 ranks, ' +
      'split it as "0-16384,16385-...")',
  );
  check(["0-16384,16385-32769", "0-32769", "[0-32769]", 32770]);
  wrap("+1", 'invalid range "+1" ("+1" is not uint)');
  wrap("1.5", 'invalid range "1.5" ("1.5" is not uint)');
  assertEquals(
    errorOf(() => parseRankSet("\t1")),
    'creating numeric set from "[\\t1]": unexpected whitespace character(s)',
  );
  wrap("1,é", "unexpected alphabetic character(s)");
  check(["0-16384", "0-16384", "[0-16384]", 16385]);
});

Deno.test("fixed quirks 5 and 6: plain integers, bounded, brackets only around the list", () => {
  check(["007", "7", "7", 1]);
  check(["1,01", "1", "1", 1]);
  check(["[007-009]", "7-9", "[7-9]", 3]);
  check([String(MAX_RANK), "4294967294", "4294967294", 1]);
  check(["4294967290-4294967294", "4294967290-4294967294", "[4294967290-4294967294]", 5]);
  assertEquals(
    errorOf(() => parseRankSet("4294967295")),
    'creating numeric set from "[4294967295]": rank 4294967295 out of range [0, 4294967294]',
  );
  assertEquals(
    errorOf(() => parseRankSet("4294967296")),
    'creating numeric set from "[4294967296]": rank 4294967296 out of range [0, 4294967294]',
  );
  assertEquals(
    errorOf(() => parseRankSet("1-99999999999999999999")),
    'creating numeric set from "[1-99999999999999999999]": ' +
      "rank 99999999999999999999 out of range [0, 4294967294]",
  );
  assertEquals(
    errorOf(() => parseRankSet("[1-2],3")),
    'creating numeric set from "[1-2],3": brackets may only enclose the whole list ' +
      '(write "1-3,5" or "[1-3,5]")',
  );
  assertEquals(
    errorOf(() => parseRankSet("1,[3-4]")).startsWith('creating numeric set from "1,[3-4]": '),
    true,
  );
  assertEquals(errorOf(() => parseRankSet("[[1-2]]")).includes("brackets may only"), true);
});

Deno.test("NilRank and rank validation", () => {
  assertEquals(NilRank, 4294967295);
  assertEquals(MAX_RANK, 4294967294);
  const set = new RankSet();
  assertEquals(errorOf(() => set.add(NilRank)), "rank 4294967295 out of range [0, 4294967294]");
  assertEquals(errorOf(() => set.add(-1)), "rank -1 out of range [0, 4294967294]");
  assertEquals(errorOf(() => set.add(1.5)), "rank 1.5 out of range [0, 4294967294]");
  assertEquals(errorOf(() => RankSet.fromRanks([1, NaN])).includes("rank NaN out of range"), true);
  assertEquals(errorOf(() => set.addRange(5, 4)), "invalid rank range 5-4 (4 < 5)");
  assertEquals(set.count, 0, "failed adds leave the set unchanged");
});

Deno.test("add, addRange, delete, merge, contains, fromRanks", () => {
  const set = parseRankSet("2,3,10-19,0-9");
  set.add(30);
  set.add(32);
  assertEquals(set.toString(), "0-19,30,32");
  assertEquals(set.count, 22);
  set.add(31);
  assertEquals(set.toString(), "0-19,30-32");
  set.add(31);
  assertEquals(set.count, 23);
  set.delete(10);
  set.delete(0);
  set.delete(32);
  set.delete(100);
  assertEquals(set.toString(), "1-9,11-19,30-31");
  set.addRange(5, 35);
  assertEquals(set.toString(), "1-35");
  for (const [r, want] of [[0, false], [1, true], [35, true], [36, false]] as const) {
    assertEquals(set.contains(r), want, `contains(${r})`);
  }
  const other = RankSet.fromRanks([50, 36, 0, 36]);
  assertEquals(other.toString(), "0,36,50");
  const copy = set.clone();
  set.merge(other);
  assertEquals(set.toString(), "0-36,50");
  assertEquals(copy.toString(), "1-35", "clone is independent");
  assertEquals(set.equals(parseRankSet("[0-36,50]")), true);
  assertEquals(set.equals(copy), false);
  assertEquals(new RankSet().empty, true);
  assertEquals(set.empty, false);
});

Deno.test("JSON forms (§7.2)", () => {
  assertEquals(JSON.stringify(parseRankSet("[0-3]")), "[0,1,2,3]");
  assertEquals(JSON.stringify(new RankSet()), "[]");
  assertEquals(JSON.stringify({ ranks: null }), '{"ranks":null}');
  assertEquals(RankSet.fromJSON([0, 1, 2, 3, 5]).toString(), "0-3,5");
  assertEquals(RankSet.fromJSON("[0-3,5]").toString(), "0-3,5");
  assertEquals(RankSet.fromJSON("0-3,5").toString(), "0-3,5");
  assertEquals(RankSet.fromJSON("[]").count, 0);
  assertEquals(RankSet.fromJSON([]).count, 0);
  assertEquals(errorOf(() => RankSet.fromJSON("3-0")).includes('invalid range "3-0"'), true);
  assertEquals(errorOf(() => RankSet.fromJSON({})).startsWith("invalid rank set {}"), true);
  assertEquals(errorOf(() => RankSet.fromJSON(["1"])).startsWith('invalid rank set ["1"]'), true);
});

Deno.test("rank groups ordered by size then key (§7.4)", () => {
  // members 1 Stopped, 3/5/4/8 Joined, 2 Excluded
  const members = groupRanks([
    [1, "Stopped"],
    [3, "Joined"],
    [5, "Joined"],
    [4, "Joined"],
    [8, "Joined"],
    [2, "Excluded"],
  ]);
  assertEquals(
    members.map((g) => `${g.ranks}: ${g.key}`),
    ["3-5,8: Joined", "2: Excluded", "1: Stopped"],
  );
  assertEquals(members[0].ranks.toRangedString(), "[3-5,8]");
  // results (ping), with the TAB already turned into a space by the caller
  const results = groupRanks([
    [2, "ping\tOK"],
    [3, "ping\tOK"],
    [1, "ping\tOK"],
    [4, "ping\tfailure 2"],
    [5, "ping\tfailure 2"],
    [7, "ping\tfailure 1"],
    [6, "ping\tfailure 1"],
  ]);
  assertEquals(
    results.map((g) => `${g.ranks} ${g.key.replace("\t", " ")}`),
    ["1-3 ping OK", "6-7 ping failure 1", "4-5 ping failure 2"],
  );
  assertEquals(groupRanks([]), []);
  assertEquals(errorOf(() => groupRanks([[4, "a"], [4, "b"]])), "duplicate entry for rank 4");
  assertEquals(
    errorOf(() => groupRanks([[4, "a"], [4, "a"]], (r) => `member with rank ${r} already exists`)),
    "member with rank 4 already exists",
  );
});

// ---- property tests -------------------------------------------------------------------

/** Random rank-list text and the ranks it denotes. */
function randomRanks(rand: () => number): { text: string; ranks: Set<number> } {
  const ranks = new Set<number>();
  const parts: string[] = [];
  const base = rand() < 0.2 ? MAX_RANK - 200 : 0;
  const n = Math.floor(rand() * 8);
  for (let i = 0; i < n; i++) {
    const lo = base + Math.floor(rand() * 200);
    const hi = Math.min(MAX_RANK, lo + (rand() < 0.5 ? 0 : Math.floor(rand() * 20)));
    const zeros = "0".repeat(Math.floor(rand() * 2));
    parts.push(lo === hi ? zeros + lo : `${zeros}${lo}-${hi}`);
    for (let r = lo; r <= hi; r++) ranks.add(r);
  }
  const text = parts.join(",");
  return { text: rand() < 0.5 ? `[${text}]` : text, ranks };
}

const ROUNDS = 300;

Deno.test("property: ranks() is exactly the denoted set, sorted; count matches", () => {
  const rand = prng(11);
  for (let i = 0; i < ROUNDS; i++) {
    const { text, ranks } = randomRanks(rand);
    const set = parseRankSet(text);
    assertEquals(set.ranks(), [...ranks].sort((a, b) => a - b), text);
    assertEquals(set.count, ranks.size, text);
    for (const r of ranks) assertEquals(set.contains(r), true, `${r} in ${text}`);
  }
});

Deno.test("property: parse(print(x)) = x for both printed forms", () => {
  const rand = prng(12);
  for (let i = 0; i < ROUNDS; i++) {
    const set = parseRankSet(randomRanks(rand).text);
    assertEquals(parseRankSet(set.toString()).ranks(), set.ranks());
    assertEquals(parseRankSet(set.toRangedString()).ranks(), set.ranks());
    assertEquals(RankSet.fromJSON(JSON.parse(JSON.stringify(set))).toString(), set.toString());
  }
});

Deno.test("property: merge and add are order-independent; expand then refold is identity", () => {
  const rand = prng(13);
  for (let i = 0; i < ROUNDS; i++) {
    const a = parseRankSet(randomRanks(rand).text);
    const b = parseRankSet(randomRanks(rand).text);
    const ab = a.clone();
    ab.merge(b);
    const ba = b.clone();
    ba.merge(a);
    assertEquals(ab.toString(), ba.toString());
    const shuffled = [...a.ranks(), ...b.ranks()].sort(() => rand() - 0.5);
    const added = new RankSet();
    for (const r of shuffled) added.add(r);
    assertEquals(added.toString(), ab.toString());
    assertEquals(RankSet.fromRanks(ab.ranks()).toString(), ab.toString());
  }
});

Deno.test("property: delete removes exactly one rank", () => {
  const rand = prng(14);
  for (let i = 0; i < ROUNDS; i++) {
    const { text, ranks } = randomRanks(rand);
    const set = parseRankSet(text);
    const victim = [...ranks][Math.floor(rand() * ranks.size)];
    if (victim === undefined) continue;
    set.delete(victim);
    ranks.delete(victim);
    assertEquals(set.ranks(), [...ranks].sort((a, b) => a - b));
  }
});

/**
 * The grammar of §7.1 (with brackets only as one pair around the whole list), written
 * independently of the parser as a regular expression: the oracle for the fuzz test below.
 */
const RANK_GRAMMAR = /^(?:|\[\]|\[?[0-9]+(?:-[0-9]+)?(?:,[0-9]+(?:-[0-9]+)?)*\]?)$/;

function grammatical(text: string): boolean {
  if (!RANK_GRAMMAR.test(text)) return false;
  return text.startsWith("[") === text.endsWith("]");
}

/** Do the numbers of a grammatical text respect the value and span limits? */
function inLimits(text: string): boolean {
  const body = text.replace(/^\[|\]$/g, "");
  if (body === "") return true;
  return body.split(",").every((r) => {
    const [lo, hi = lo] = r.split("-").map(Number);
    return lo <= hi && hi <= MAX_RANK && hi - lo <= 16384;
  });
}

Deno.test("property: random texts are accepted exactly when the grammar allows them", () => {
  const rand = prng(15);
  const alphabet = ["0", "1", "7", "16385", "4294967295", "-", "-", ",", ",", "[", "]", " ", "a"];
  for (let i = 0; i < 20000; i++) {
    let text = "";
    const n = Math.floor(rand() * 8);
    for (let j = 0; j < n; j++) text += alphabet[Math.floor(rand() * alphabet.length)];
    let message: string | undefined;
    try {
      parseRankSet(text);
    } catch (e) {
      message = (e as Error).message;
    }
    const want = grammatical(text) && inLimits(text);
    assertEquals(message === undefined, want, `${JSON.stringify(text)}: ${message ?? "accepted"}`);
    if (message !== undefined) {
      // The error names the input (as typed, or with the one added pair of brackets).
      const named = message.startsWith(`creating numeric set from ${JSON.stringify(text)}: `) ||
        message.startsWith(`creating numeric set from ${JSON.stringify(`[${text}]`)}: `);
      assertEquals(named, true, message);
    }
  }
});

Deno.test("property: one bracket added to or dropped from a valid list is refused", () => {
  const rand = prng(16);
  for (let i = 0; i < ROUNDS; i++) {
    const body = randomRanks(rand).text.replace(/^\[|\]$/g, "");
    if (body === "") continue;
    const at = Math.floor(rand() * (body.length + 1));
    const bracket = rand() < 0.5 ? "[" : "]";
    const mangled = [
      body.slice(0, at) + bracket + body.slice(at), // one stray bracket anywhere
      `[${body}`,
      `${body}]`,
      `[[${body}]`,
      `[${body}]]`,
    ];
    for (const text of mangled) {
      const message = errorOf(() => parseRankSet(text));
      assertEquals(
        message.startsWith(`creating numeric set from ${JSON.stringify(text)}: `),
        true,
        message,
      );
    }
  }
});

Deno.test("fromRanges sorts and merges any order; minus is the set difference", () => {
  assertEquals(RankSet.fromRanges([[9, 9], [0, 3], [2, 5], [7, 7]]).toString(), "0-5,7,9");
  const a = parseRankSet("0-10,20-30,40");
  assertEquals(a.minus(parseRankSet("")).toString(), "0-10,20-30,40");
  assertEquals(a.minus(parseRankSet("0-40")).toString(), "");
  assertEquals(a.minus(parseRankSet("3,5-6,10-20,25,39-41")).toString(), "0-2,4,7-9,21-24,26-30");
  const r = prng(7);
  for (let i = 0; i < 200; i++) {
    const x = RankSet.fromRanks(Array.from({ length: 20 }, () => Math.floor(r() * 60)));
    const y = RankSet.fromRanks(Array.from({ length: 20 }, () => Math.floor(r() * 60)));
    assertEquals(x.minus(y).ranks(), x.ranks().filter((v) => !y.contains(v)));
  }
});
