/**
 * pdsh-style host lists and host sets (dmg.md §6, §2.3, §4.3): parsing, zero-padding widths,
 * folding into ranges, sorting, printing and port handling.
 *
 * Deliberate differences from the Go `hostlist` package (dmg.md §11, fixed on purpose):
 * - a plain name `d` never merges with numbered `d1` (quirk 3): `d,d1` stays `d,d1`;
 * - spaces inside brackets are trimmed before the width is taken (quirk 4): `[1 - 3]` = `[1-3]`;
 * - an IPv4 host may only be followed by `:port` (quirk 8): `10.0.0.1x5` is rejected;
 * - `_` is allowed before the last `-` of a name (quirk 8): `a_b-1` is accepted like `a_b1`;
 * - a second bracket group is rejected instead of kept literally (it would put `[`, `]` and `,`
 *   into host names): `host[1-2][3-4]` is an error;
 * - set identity is the printed name, so `node1-ib,node[1-2]-ib` has 2 hosts, not 3;
 * - host numbers above 2^53-1 are rejected (JS numbers), not wrapped.
 */

/** Largest `hi - lo` of one bracket range (so at most 16385 hosts per range). */
export const MAX_RANGE = 16384;

/**
 * Most hosts a list or set may expand to. The per-range cap alone does not bound a list:
 * `n[0-16384,16385-32769,...]` of a few KiB names millions of hosts, and expanding it (dmg
 * dialing them, the MS matching a `--rank-hosts` filter) would wedge the process.
 */
export const MAX_EXPANDED_HOSTS = 65536;

/** Largest host number we can represent exactly. */
export const MAX_HOST_NUMBER = Number.MAX_SAFE_INTEGER;

/** One `lo[-hi]` element of a bracket, as parsed. */
export interface NumericRange {
  lo: number;
  hi: number;
  /** Zero-padding width: number of characters of the (trimmed) `lo` text. */
  width: number;
}

/**
 * A run of hosts `prefix + pad(n, width) + suffix` for n in lo..hi, or (numeric = false) one
 * opaque host whose whole name is `prefix`.
 */
interface HostRange {
  readonly prefix: string;
  readonly suffix: string;
  lo: number;
  hi: number;
  width: number;
  readonly numeric: boolean;
}

const OUTER_SEPARATORS = new Set([",", " ", "\t"]);

/** Go's %q for the strings that occur in host lists. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + '"';
}

/** Byte-wise (UTF-8) string order, as Go's strings.Compare. */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 order differs from code point (= UTF-8 byte) order only around surrogates.
    if (x >= 0xd800) x = x <= 0xdfff ? x + 0x2000 : x - 0x800;
    if (y >= 0xd800) y = y <= 0xdfff ? y + 0x2000 : y - 0x800;
    return x - y;
  }
  return a.length - b.length;
}

function digits(n: number): number {
  return n < 10 ? 1 : String(n).length;
}

function pad(n: number, width: number): string {
  const s = String(n);
  return s.length >= width ? s : "0".repeat(width - s.length) + s;
}

/** Smallest number whose plain decimal form has `width` digits (10^(width-1)). */
function firstUnpadded(width: number): number {
  return Math.pow(10, width - 1);
}

/** Words the error for a range spanning more than MAX_RANGE + 1 numbers. */
export type DescribeSpan = (text: string, count: number) => string;

/** The host-list text of dmg.md §6.2 (kept as Go prints it). */
const hostSpan: DescribeSpan = (text) => `invalid range ${goQuote(text)} (> ${MAX_RANGE} hosts)`;

/**
 * Parse one bracket element `lo` or `lo-hi` (spaces around numbers tolerated). `max` bounds
 * both numbers; `describeMax` words the error when it is exceeded, `describeSpan` the one for
 * a range of more than MAX_RANGE + 1 numbers.
 */
export function parseRange(
  text: string,
  max: number = MAX_HOST_NUMBER,
  describeMax: (value: string) => string = (v) =>
    `invalid range ${goQuote(text)} (${goQuote(v)} is larger than ${max})`,
  describeSpan: DescribeSpan = hostSpan,
): NumericRange {
  const parts = text.split("-");
  if (parts.length > 2) throw new Error(`invalid range: ${goQuote(text)}`);
  const nums = parts.map((p) => {
    const t = p.trim();
    if (!/^[0-9]+$/.test(t)) {
      throw new Error(`invalid range ${goQuote(text)} (${goQuote(p)} is not uint)`);
    }
    const v = Number(t);
    if (v > max) throw new Error(describeMax(t.replace(/^0+(?=.)/, "")));
    return v;
  });
  const lo = nums[0];
  const hi = nums.length === 2 ? nums[1] : lo;
  if (hi < lo) throw new Error(`invalid range ${goQuote(text)} (${hi} < ${lo})`);
  if (hi - lo > MAX_RANGE) throw new Error(describeSpan(text, hi - lo + 1));
  return { lo, hi, width: parts[0].trim().length };
}

/** Parse the comma-separated content of a bracket. */
export function parseRanges(
  content: string,
  max?: number,
  describeMax?: (value: string) => string,
  describeSpan?: DescribeSpan,
): NumericRange[] {
  return content.split(",").map((r) => parseRange(r, max, describeMax, describeSpan));
}

/** Split a host list into tokens at separators outside brackets (§6.1). */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let depth = 0;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "[") depth++;
    else if (ch === "]") depth--;
    else if (depth <= 0 && OUTER_SEPARATORS.has(ch)) {
      if (start >= 0) tokens.push(text.slice(start, i));
      start = -1;
      continue;
    }
    if (start < 0) start = i;
  }
  if (start >= 0) tokens.push(text.slice(start));
  return tokens;
}

// Plain host name rules (§6.3). Rule 1 allows `_` in the run (quirk 8 fix).
const HYPHEN_NAME = /^([A-Za-z0-9_-]+-)([0-9]*)(.*)$/s;
const LETTER_NAME = /^([A-Za-z]+)([0-9]*)(.*)$/s;
// IPv4 may only be followed by `:port` (quirk 8 fix).
const IPV4_NAME = /^([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)([0-9]{1,3})((?::[0-9]+)?)$/;

/** Split a plain token into prefix / number / suffix (§6.3). */
function parseHostName(token: string): HostRange {
  if (token.includes("]")) {
    throw new Error(`invalid hostname ${goQuote(token)} (unmatched "]")`);
  }
  const m = (token.includes("-") ? HYPHEN_NAME : LETTER_NAME).exec(token) ??
    IPV4_NAME.exec(token);
  if (m === null) throw new Error(`invalid hostname ${goQuote(token)}`);
  const [, prefix, num, suffix] = m;
  if (num === "") return { prefix: token, suffix: "", lo: 0, hi: 0, width: 0, numeric: false };
  const n = Number(num);
  if (n > MAX_HOST_NUMBER) {
    throw new Error(
      `invalid hostname ${goQuote(token)} (host number larger than ${MAX_HOST_NUMBER})`,
    );
  }
  return { prefix, suffix, lo: n, hi: n, width: num.length, numeric: true };
}

/** Parse one token (bracketed or plain) into ranges, appended to `out`. */
function parseToken(token: string, out: HostRange[]): void {
  const open = token.indexOf("[");
  if (open < 0) {
    out.push(parseHostName(token));
    return;
  }
  const close = token.indexOf("]");
  if (close < 0 || close < open) throw new Error(`invalid range ${goQuote(token)}`);
  // Name the whole token, not the fragment `[1-2` that the range parser would see.
  if (token.lastIndexOf("[", close) !== open) {
    throw new Error(`invalid range ${goQuote(token)} (nested "[")`);
  }
  const ranges = parseRanges(token.slice(open + 1, close));
  const prefix = token.slice(0, open);
  if (prefix === "") throw new Error(`invalid range: ${goQuote(token)}`);
  const suffix = token.slice(close + 1);
  if (suffix.includes("[") || suffix.includes("]")) {
    throw new Error(
      `invalid range ${goQuote(token)} (only one [...] group per host name is supported)`,
    );
  }
  for (const r of ranges) {
    out.push({ prefix, suffix, lo: r.lo, hi: r.hi, width: r.width, numeric: true });
  }
}

function parseAll(text: string): HostRange[] {
  const out: HostRange[] = [];
  for (const token of tokenize(text)) parseToken(token, out);
  return out;
}

/** `s` cut to 80 characters with "..." (error messages quoting hostile input). */
function truncated(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function countOf(r: HostRange): number {
  return r.numeric ? r.hi - r.lo + 1 : 1;
}

/** True when every number of `next` prints the same with `prev`'s width as with its own. */
function sameDigits(next: HostRange, prevWidth: number): boolean {
  const d = digits(next.lo);
  return Math.max(d, prevWidth) === Math.max(d, next.width);
}

/** Ranged form of ranges in the given order: runs with one prefix/suffix share a bracket. */
function rangedString(ranges: readonly HostRange[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < ranges.length) {
    const first = ranges[i];
    if (!first.numeric) {
      parts.push(first.prefix);
      i++;
      continue;
    }
    let j = i + 1;
    let hosts = countOf(first);
    while (
      j < ranges.length && ranges[j].numeric && ranges[j].prefix === first.prefix &&
      ranges[j].suffix === first.suffix
    ) {
      hosts += countOf(ranges[j]);
      j++;
    }
    if (hosts === 1) {
      parts.push(first.prefix + pad(first.lo, first.width) + first.suffix);
    } else {
      const inner = ranges.slice(i, j).map((r) =>
        r.lo === r.hi ? pad(r.lo, r.width) : `${pad(r.lo, r.width)}-${pad(r.hi, r.width)}`
      );
      parts.push(`${first.prefix}[${inner.join(",")}]${first.suffix}`);
    }
    i = j;
  }
  return parts.join(",");
}

function expandRanges(ranges: readonly HostRange[]): string[] {
  const total = ranges.reduce((n, r) => n + countOf(r), 0);
  if (total > MAX_EXPANDED_HOSTS) {
    throw new Error(
      `host list ${goQuote(truncated(rangedString(ranges)))} names ${total} hosts, more than ` +
        `the ${MAX_EXPANDED_HOSTS} accepted; name fewer hosts`,
    );
  }
  const out: string[] = [];
  for (const r of ranges) {
    if (!r.numeric) {
      out.push(r.prefix);
      continue;
    }
    for (let n = r.lo; n <= r.hi; n++) out.push(r.prefix + pad(n, r.width) + r.suffix);
  }
  return out;
}

/**
 * A host list as written: order kept, duplicates kept (§6). Consecutive numbered hosts that
 * continue the previous range are stored as one range, which does not change the list.
 */
export class HostList {
  readonly #ranges: HostRange[] = [];
  #count = 0;

  /** Number of hosts, duplicates included. */
  get count(): number {
    return this.#count;
  }

  /** Append hosts parsed from `text`. */
  push(text: string): void {
    for (const r of parseAll(text)) this.#pushRange(r);
  }

  #pushRange(r: HostRange): void {
    const tail = this.#ranges[this.#ranges.length - 1];
    if (
      tail !== undefined && tail.numeric && r.numeric && tail.prefix === r.prefix &&
      tail.suffix === r.suffix && tail.hi + 1 === r.lo && sameDigits(r, tail.width)
    ) {
      tail.hi = r.hi;
    } else {
      this.#ranges.push({ ...r });
    }
    this.#count += countOf(r);
  }

  /** Ranged form in list order, e.g. `node[3,1-2],foo`. */
  toString(): string {
    return rangedString(this.#ranges);
  }

  /** Every host written out, in list order. */
  expand(): string[] {
    return expandRanges(this.#ranges);
  }

  /** The de-duplicated, sorted set of these hosts. */
  toSet(): HostSet {
    return setFromRanges(this.#ranges);
  }
}

/** Parse a host list (§6.1–6.3): order and duplicates kept. Throws on invalid input. */
export function parseHostList(text: string): HostList {
  const list = new HostList();
  list.push(text);
  return list;
}

/** Numbers of one (prefix, suffix) group, split by how they print. */
interface Group {
  readonly prefix: string;
  readonly suffix: string;
  opaque: boolean;
  /** Numbers printed without leading zeros. */
  unpadded: Array<[number, number]>;
  /** Numbers printed with leading zeros, by total width (all < 10^(width-1)). */
  padded: Map<number, Array<[number, number]>>;
}

function mergeIntervals(list: Array<[number, number]>): Array<[number, number]> {
  if (list.length < 2) return list;
  list.sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [[list[0][0], list[0][1]]];
  for (let i = 1; i < list.length; i++) {
    const last = out[out.length - 1];
    const [lo, hi] = list[i];
    if (lo <= last[1] + 1) {
      if (hi > last[1]) last[1] = hi;
    } else {
      out.push([lo, hi]);
    }
  }
  return out;
}

/** Sort key inside a group (§6.4 order made total): [class, padded-first, lo]. */
function groupRanges(g: Group): HostRange[] {
  const { prefix, suffix } = g;
  const unpadded = mergeIntervals(g.unpadded);
  const keyed: Array<{ k: number; sub: number; r: HostRange }> = [];
  for (const [width, list] of g.padded) {
    const merged = mergeIntervals(list);
    const last = merged[merged.length - 1];
    const next = firstUnpadded(width);
    let tail = -1;
    if (last[1] === next - 1) {
      // `node[098-099]` + `node100` print as `node[098-100]`: absorb the unpadded run.
      tail = unpadded.findIndex(([lo]) => lo === next);
    }
    for (const [lo, hi] of merged) {
      const r: HostRange = { prefix, suffix, lo, hi, width, numeric: true };
      if (tail >= 0 && hi === next - 1) r.hi = unpadded[tail][1];
      keyed.push({ k: width, sub: 0, r });
    }
    if (tail >= 0) unpadded.splice(tail, 1);
  }
  for (const [lo, hi] of unpadded) {
    keyed.push({ k: digits(lo), sub: 1, r: { prefix, suffix, lo, hi, width: 1, numeric: true } });
  }
  keyed.sort((a, b) => a.k - b.k || a.sub - b.sub || a.r.lo - b.r.lo);
  const out = keyed.map((e) => e.r);
  if (g.opaque) out.unshift({ prefix, suffix: "", lo: 0, hi: 0, width: 0, numeric: false });
  return out;
}

/** Does a numeric group print `name`? Checks digits and padding, not just the value. */
function groupHas(g: Group, name: string): boolean {
  if (
    name.length <= g.prefix.length + g.suffix.length || !name.startsWith(g.prefix) ||
    !name.endsWith(g.suffix)
  ) return false;
  const mid = name.slice(g.prefix.length, name.length - g.suffix.length);
  if (!/^[0-9]+$/.test(mid)) return false;
  const n = Number(mid);
  const inList = (list: Array<[number, number]>) => list.some(([lo, hi]) => n >= lo && n <= hi);
  if (mid.length > 1 && mid[0] === "0") {
    const list = g.padded.get(mid.length);
    return list !== undefined && inList(list);
  }
  return String(n) === mid && inList(g.unpadded);
}

/** Build canonical sorted, merged ranges from arbitrary ranges. */
function normalize(ranges: Iterable<HostRange>): { ranges: HostRange[]; count: number } {
  const groups = new Map<string, Map<string, Group>>();
  const getGroup = (prefix: string, suffix: string): Group => {
    let bySuffix = groups.get(prefix);
    if (bySuffix === undefined) groups.set(prefix, bySuffix = new Map());
    let g = bySuffix.get(suffix);
    if (g === undefined) {
      g = { prefix, suffix, opaque: false, unpadded: [], padded: new Map() };
      bySuffix.set(suffix, g);
    }
    return g;
  };
  const opaqueGroups: Group[] = [];
  for (const r of ranges) {
    if (!r.numeric) {
      const g = getGroup(r.prefix, "");
      if (!g.opaque) opaqueGroups.push(g);
      g.opaque = true;
      continue;
    }
    const g = getGroup(r.prefix, r.suffix);
    if (r.width <= digits(r.lo)) {
      g.unpadded.push([r.lo, r.hi]);
      continue;
    }
    const limit = firstUnpadded(r.width) - 1;
    let list = g.padded.get(r.width);
    if (list === undefined) g.padded.set(r.width, list = []);
    list.push([r.lo, Math.min(r.hi, limit)]);
    if (r.hi > limit) g.unpadded.push([limit + 1, r.hi]);
  }
  // A plain name such as `node1-ib` is opaque, but `node[1-2]-ib` prints the same name:
  // keep the numbered form only. Candidate groups have a prefix ending before a digit.
  for (const g of opaqueGroups) {
    const name = g.prefix;
    for (let i = 0; i < name.length && g.opaque; i++) {
      const c = name.charCodeAt(i);
      if (c < 48 || c > 57) continue;
      const bySuffix = groups.get(name.slice(0, i));
      if (bySuffix === undefined) continue;
      for (const other of bySuffix.values()) {
        if (other !== g && groupHas(other, name)) {
          g.opaque = false;
          break;
        }
      }
    }
  }
  const ordered = [...groups.values()].flatMap((m) => [...m.values()]);
  ordered.sort((a, b) => compareBytes(a.prefix, b.prefix) || compareBytes(a.suffix, b.suffix));
  const out: HostRange[] = [];
  let count = 0;
  for (const g of ordered) {
    for (const r of groupRanges(g)) {
      out.push(r);
      count += countOf(r);
    }
  }
  return { ranges: out, count };
}

/** Builds a set from parsed ranges (assigned by HostSet's static block). */
let setFromRanges: (ranges: Iterable<HostRange>) => HostSet;

/**
 * A de-duplicated, sorted host set (§6.4). Two hosts are the same iff their names are equal
 * (case-sensitive; `host1` and `host01` differ).
 */
export class HostSet {
  #ranges: HostRange[] = [];
  #count = 0;
  /** Ranges added but not yet folded: folding happens once, when the set is next read. */
  #pending: HostRange[] = [];

  static {
    setFromRanges = (ranges) => {
      const set = new HostSet();
      // Copies: a HostList keeps extending its own tail range.
      for (const r of ranges) set.#pending.push({ ...r });
      return set;
    };
  }

  /** A set of single host names (each may carry `:port`); throws on an invalid name. */
  static fromHosts(hosts: readonly string[]): HostSet {
    const ranges: HostRange[] = [];
    for (const h of hosts) {
      if (h === "" || /[, \t[]/.test(h)) {
        throw new Error(
          `invalid host ${goQuote(h)}: expected one host name (no separators or brackets)`,
        );
      }
      ranges.push(parseHostName(h));
    }
    return setFromRanges(ranges);
  }

  /** Fold pending ranges into the canonical sorted ranges. */
  #settled(): HostRange[] {
    if (this.#pending.length > 0) {
      const { ranges, count } = normalize([...this.#ranges, ...this.#pending]);
      this.#ranges = ranges;
      this.#count = count;
      this.#pending = [];
    }
    return this.#ranges;
  }

  /** Number of distinct hosts. */
  get count(): number {
    this.#settled();
    return this.#count;
  }

  /** Ranged form, e.g. `host[1-3,5]`, `10.5.1.[1-32,42]:10001`; "" when empty. */
  toString(): string {
    return rangedString(this.#settled());
  }

  /** JSON form: the ranged string (as DAOS marshals host sets). */
  toJSON(): string {
    return this.toString();
  }

  /** Every host written out, in set order. */
  expand(): string[] {
    return expandRanges(this.#settled());
  }

  /**
   * Add hosts given as host-list text (throws on invalid text, adding nothing). Cheap: many
   * adds cost one fold when the set is next read.
   */
  add(hosts: string): void {
    const parsed = parseAll(hosts);
    for (const r of parsed) this.#pending.push(r);
  }

  /** Add every host of `other` to this set. */
  merge(other: HostSet): void {
    for (const r of other.#settled()) this.#pending.push(r);
  }

  /** A copy that can be changed independently. */
  clone(): HostSet {
    return setFromRanges(this.#settled());
  }

  /** Is the host with exactly this name (including any `:port`) in the set? */
  contains(host: string): boolean {
    for (const r of this.#settled()) {
      if (!r.numeric) {
        if (r.prefix === host) return true;
        continue;
      }
      if (
        host.length <= r.prefix.length + r.suffix.length || !host.startsWith(r.prefix) ||
        !host.endsWith(r.suffix)
      ) continue;
      const mid = host.slice(r.prefix.length, host.length - r.suffix.length);
      if (!/^[0-9]+$/.test(mid)) continue;
      const n = Number(mid);
      if (n >= r.lo && n <= r.hi && pad(n, r.width) === mid) return true;
    }
    return false;
  }

  /** Same hosts? */
  equals(other: HostSet): boolean {
    return this.count === other.count && this.toString() === other.toString();
  }
}

/** Parse a host set (§6): expand ranges, de-duplicate, sort and fold. Throws on bad input. */
export function parseHostSet(text: string): HostSet {
  return setFromRanges(parseAll(text));
}

/**
 * Drop `:port` from a ranged host-set string for human output (§4.3, quirk 9): split on `,`
 * and cut pieces with exactly one `:` at the colon. `host[1-2]:10001` → `host[1-2]`.
 */
export function stripPorts(ranged: string): string {
  return ranged.split(",").map((piece) => {
    const at = piece.indexOf(":");
    return at >= 0 && piece.indexOf(":", at + 1) < 0 ? piece.slice(0, at) : piece;
  }).join(",");
}

/**
 * Dial targets for a request (§2.3 steps 2–3): join `entries` with `,`, parse as a set, and
 * give every host without a port `defaultPort`. Throws the §2.3 messages on bad hosts.
 */
export function hostsWithPort(entries: readonly string[], defaultPort: number): string[] {
  const set = parseHostSet(entries.join(","));
  return set.expand().map((host) => {
    const parts = host.split(":");
    if (parts.length === 1) return `${host}:${defaultPort}`;
    if (parts.length > 2) {
      throw new Error(`invalid host ${goQuote(host)}: host should conform to hostname[:port]`);
    }
    const port = parts[1];
    if (!/^[+-]?[0-9]+$/.test(port)) {
      throw new Error(
        `invalid host ${goQuote(host)}: strconv.Atoi: parsing ${goQuote(port)}: invalid syntax`,
      );
    }
    const value = Number(port);
    if (!(value >= 1 && value <= 65535)) {
      throw new Error(`invalid host ${goQuote(host)}: port ${port} out of range [1, 65535]`);
    }
    return host;
  });
}
