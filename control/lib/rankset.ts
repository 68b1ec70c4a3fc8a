/**
 * Rank sets (dmg.md §7): `--ranks` parsing, printing (`0-3,5` / `[0-3,5]`), JSON and the
 * grouping of ranks by key used in the `Rank` column of system tables (§7.4).
 *
 * Deliberate differences from Go's `ranklist` (dmg.md §11, fixed on purpose):
 * - ranks are plain integers: `007` is 7, `1,01` is {1} (quirk 5);
 * - ranks above 4294967294 (including NilRank) are rejected (quirk 5);
 * - brackets are allowed only around the whole list: `[1-2],3` and `1,[3-4]` are errors
 *   (quirk 6; Go silently dropped the `3`), and only as a pair: `[0-5` and `0-5]` are errors
 *   (Go trimmed them and read 0-5).
 */
import { compareBytes, goQuote, MAX_RANGE, parseRanges } from "./hostlist.ts";

/** The reserved "no rank" value (2^32 - 1). */
export const NilRank = 0xFFFFFFFF;

/** Largest valid rank. */
export const MAX_RANK = NilRank - 1;

function rankOutOfRange(value: string | number): string {
  return `rank ${value} out of range [0, ${MAX_RANK}]`;
}

/** Throw unless `rank` is an integer in [0, MAX_RANK]. */
export function checkRank(rank: number): void {
  if (!Number.isInteger(rank) || rank < 0 || rank > MAX_RANK) {
    throw new RangeError(rankOutOfRange(rank));
  }
}

/** A set of ranks kept as sorted, disjoint, non-touching intervals. */
export class RankSet {
  #ranges: Array<[number, number]> = [];

  /** A set holding `ranks` (any order, duplicates allowed); throws on an invalid rank. */
  static fromRanks(ranks: Iterable<number>): RankSet {
    const sorted = [...ranks];
    for (const r of sorted) checkRank(r);
    sorted.sort((a, b) => a - b);
    const set = new RankSet();
    for (const r of sorted) set.#append(r, r);
    return set;
  }

  /**
   * A set holding the ranges [lo, hi] (any order, overlaps allowed); throws on an invalid rank
   * or hi < lo. Sorting first keeps this O(n log n): inserting a long list that comes in
   * descending order one range at a time moves the whole array each time (n^2).
   */
  static fromRanges(ranges: Iterable<readonly [number, number]>): RankSet {
    const sorted: Array<[number, number]> = [];
    for (const [lo, hi] of ranges) {
      checkRank(lo);
      checkRank(hi);
      if (hi < lo) throw new RangeError(`invalid rank range ${lo}-${hi} (${hi} < ${lo})`);
      sorted.push([lo, hi]);
    }
    sorted.sort((a, b) => a[0] - b[0]);
    const set = new RankSet();
    for (const [lo, hi] of sorted) set.#append(lo, hi);
    return set;
  }

  /** Append an interval that starts at or after the current last one. */
  #append(lo: number, hi: number): void {
    const last = this.#ranges[this.#ranges.length - 1];
    if (last !== undefined && lo <= last[1] + 1) {
      if (hi > last[1]) last[1] = hi;
    } else {
      this.#ranges.push([lo, hi]);
    }
  }

  /** Index of the first interval whose hi >= rank. */
  #search(rank: number): number {
    let lo = 0;
    let hi = this.#ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#ranges[mid][1] < rank) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Number of ranks. */
  get count(): number {
    let n = 0;
    for (const [lo, hi] of this.#ranges) n += hi - lo + 1;
    return n;
  }

  /** Is the set empty? */
  get empty(): boolean {
    return this.#ranges.length === 0;
  }

  /** Add one rank; throws on an invalid rank. */
  add(rank: number): void {
    checkRank(rank);
    this.#insert(rank, rank);
  }

  /** Add ranks lo..hi; throws on an invalid rank or hi < lo. */
  addRange(lo: number, hi: number): void {
    checkRank(lo);
    checkRank(hi);
    if (hi < lo) throw new RangeError(`invalid rank range ${lo}-${hi} (${hi} < ${lo})`);
    this.#insert(lo, hi);
  }

  #insert(lo: number, hi: number): void {
    // Merge [lo, hi] with every interval it overlaps or touches.
    const i = this.#search(lo - 1);
    let j = i;
    while (j < this.#ranges.length && this.#ranges[j][0] <= hi + 1) {
      lo = Math.min(lo, this.#ranges[j][0]);
      hi = Math.max(hi, this.#ranges[j][1]);
      j++;
    }
    this.#ranges.splice(i, j - i, [lo, hi]);
  }

  /** Remove one rank if present. */
  delete(rank: number): void {
    const i = this.#search(rank);
    const r = this.#ranges[i];
    if (r === undefined || r[0] > rank) return;
    const parts: Array<[number, number]> = [];
    if (r[0] < rank) parts.push([r[0], rank - 1]);
    if (rank < r[1]) parts.push([rank + 1, r[1]]);
    this.#ranges.splice(i, 1, ...parts);
  }

  /** The ranks of this set that are not in `other`, in one linear pass over both. */
  minus(other: RankSet): RankSet {
    const out = new RankSet();
    const b = other.#ranges;
    let j = 0;
    for (const [lo0, hi] of this.#ranges) {
      let lo = lo0;
      while (j < b.length && b[j][1] < lo) j++;
      let k = j;
      while (lo <= hi && k < b.length && b[k][0] <= hi) {
        if (b[k][0] > lo) out.#ranges.push([lo, b[k][0] - 1]);
        lo = Math.max(lo, b[k][1] + 1);
        k++;
      }
      if (lo <= hi) out.#ranges.push([lo, hi]);
    }
    return out;
  }

  /** Add every rank of `other`. */
  merge(other: RankSet): void {
    for (const [lo, hi] of other.#ranges) this.#insert(lo, hi);
  }

  /** Is `rank` in the set? */
  contains(rank: number): boolean {
    const r = this.#ranges[this.#search(rank)];
    return r !== undefined && r[0] <= rank;
  }

  /** The ranks in ascending order. */
  ranks(): number[] {
    const out: number[] = [];
    for (const [lo, hi] of this.#ranges) for (let r = lo; r <= hi; r++) out.push(r);
    return out;
  }

  /** `0-3,5`: ranged form without brackets ("" when empty); used in messages and RPCs. */
  toString(): string {
    return this.#ranges.map(([lo, hi]) => lo === hi ? String(lo) : `${lo}-${hi}`).join(",");
  }

  /** `[0-3,5]`, or a bare `3` for one rank, "" when empty; used in table cells. */
  toRangedString(): string {
    return this.count > 1 ? `[${this}]` : this.toString();
  }

  /** JSON form: ascending array of ranks. */
  toJSON(): number[] {
    return this.ranks();
  }

  /** Same ranks? */
  equals(other: RankSet): boolean {
    return this.toString() === other.toString();
  }

  /** A copy that can be changed independently. */
  clone(): RankSet {
    const set = new RankSet();
    set.#ranges = this.#ranges.map(([lo, hi]) => [lo, hi]);
    return set;
  }

  /**
   * Decode the JSON forms DAOS accepts (§7.2): an integer array, or a ranged string such as
   * `"[0-3,5]"` / `"0-3,5"`.
   */
  static fromJSON(value: unknown): RankSet {
    if (typeof value === "string") return parseRankSet(value);
    if (Array.isArray(value) && value.every((v) => typeof v === "number")) {
      return RankSet.fromRanks(value);
    }
    throw new Error(
      `invalid rank set ${JSON.stringify(value)}: expected an array of ranks or a string ` +
        `such as "0-3,5"`,
    );
  }
}

/** A rank range's span error: ranks, not hosts, and the real per-range limit. */
function rankSpan(text: string, count: number): string {
  return `invalid range ${goQuote(text)} (${count} ranks; one range may hold at most ` +
    `${MAX_RANGE + 1} ranks, split it as "0-${MAX_RANGE},${MAX_RANGE + 1}-...")`;
}

/**
 * Parse a rank set (§7.1): `0-3,5`, `[0-3,5]`, `""` and `[]` (empty). Errors read
 * `creating numeric set from "[<input>]": <cause>`.
 *
 * Unlike Go (which trims any run of brackets and adds one pair), brackets must come as one
 * pair around the whole list: `[0-5` or `0-5]` is refused, since a lost bracket usually means
 * a mangled paste, and guessing the set would act on ranks nobody named.
 */
export function parseRankSet(text: string): RankSet {
  if (text === "" || text === "[]") return new RankSet();
  const opens = text.startsWith("[");
  const closes = text.endsWith("]");
  const bare = text.slice(opens ? 1 : 0, closes ? -1 : undefined);
  // Bracket errors quote the input as given: the added pair would hide the mistake.
  const bracketFault = (cause: string): never => {
    throw new Error(`creating numeric set from ${goQuote(text)}: ${cause}`);
  };
  if (bare.includes("[") || bare.includes("]")) {
    bracketFault('brackets may only enclose the whole list (write "1-3,5" or "[1-3,5]")');
  }
  if (opens !== closes) {
    const fix = bare === "" ? "" : `; write ${goQuote(bare)} or ${goQuote(`[${bare}]`)}`;
    bracketFault(`unbalanced brackets (${opens ? 'no closing "]"' : 'no opening "["'}${fix})`);
  }
  const fixed = opens ? text : `[${text}]`;
  const fail = (cause: string): never => {
    throw new Error(`creating numeric set from ${goQuote(fixed)}: ${cause}`);
  };
  if (/\s/u.test(fixed)) fail("unexpected whitespace character(s)");
  if (/\p{L}/u.test(fixed)) fail("unexpected alphabetic character(s)");
  let ranges;
  try {
    ranges = parseRanges(bare, MAX_RANK, rankOutOfRange, rankSpan);
  } catch (e) {
    return fail((e as Error).message);
  }
  return RankSet.fromRanges(ranges.map((r) => [r.lo, r.hi] as const));
}

/** One row group of a rank table: the ranks sharing `key`. */
export interface RankGroup {
  key: string;
  ranks: RankSet;
}

/**
 * Group ranks by key (§7.4), ordered by number of ranks descending, then key ascending
 * (byte-wise). A rank seen twice throws `duplicate(rank)`'s message.
 */
export function groupRanks(
  entries: Iterable<readonly [rank: number, key: string]>,
  duplicate: (rank: number) => string = (rank) => `duplicate entry for rank ${rank}`,
): RankGroup[] {
  const seen = new RankSet();
  const byKey = new Map<string, RankSet>();
  for (const [rank, key] of entries) {
    if (seen.contains(rank)) throw new Error(duplicate(rank));
    seen.add(rank);
    let set = byKey.get(key);
    if (set === undefined) byKey.set(key, set = new RankSet());
    set.add(rank);
  }
  const groups = [...byKey].map(([key, ranks]) => ({ key, ranks, n: ranks.count }));
  groups.sort((a, b) => b.n - a.n || compareBytes(a.key, b.key));
  return groups.map(({ key, ranks }) => ({ key, ranks }));
}
