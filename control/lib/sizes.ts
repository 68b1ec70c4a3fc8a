/**
 * Byte sizes and percentages as dmg prints and parses them (dmg.md §4.5). Output is
 * compatible with go-humanize v1.0.1 (`Bytes`, `IBytes`, `ParseBytes`).
 */

const siUnits = ["B", "kB", "MB", "GB", "TB", "PB", "EB"] as const;
const iecUnits = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"] as const;

/** Largest value a size may have (uint64). */
export const MAX_SIZE = (1n << 64n) - 1n;

/** Go's `%.0f`: round half to even (JS `toFixed` rounds halves up). */
function goFixed0(v: number): string {
  const f = Math.floor(v);
  const diff = v - f;
  if (diff === 0.5) return String(f % 2 === 0 ? f : f + 1);
  return String(Math.round(v));
}

function humanate(n: number | bigint, base: bigint, units: readonly string[]): string {
  const b = BigInt(n);
  if (b < 0n) throw new RangeError(`size must not be negative: ${n}`);
  if (b < 10n) return `${b} B`;
  // Exponent found with integers: go-humanize's float log gives the same result for every
  // value that matters and integers avoid ulp surprises at exact powers.
  let e = 0;
  let pow = 1n;
  while (e < units.length - 1 && pow * base <= b) {
    pow *= base;
    e++;
  }
  const val = Math.floor((Number(b) / Number(pow)) * 10 + 0.5) / 10;
  const num = val < 10 ? val.toFixed(1) : goFixed0(val);
  return `${num} ${units[e]}`;
}

/** Decimal size, e.g. `0 B`, `1.1 MB`, `42 GB`, `1000 kB` (humanize `Bytes`). */
export function formatBytes(n: number | bigint): string {
  return humanate(n, 1000n, siUnits);
}

/** Binary size, e.g. `954 MiB` for 10⁹ (humanize `IBytes`). */
export function formatIBytes(n: number | bigint): string {
  return humanate(n, 1024n, iecUnits);
}

const unitMultipliers: Readonly<Record<string, bigint>> = (() => {
  const t: Record<string, bigint> = { "": 1n, b: 1n };
  const letters = ["k", "m", "g", "t", "p", "e"];
  letters.forEach((l, i) => {
    const si = 1000n ** BigInt(i + 1);
    const iec = 1024n ** BigInt(i + 1);
    t[l] = si;
    t[l + "b"] = si;
    t[l + "i"] = iec;
    t[l + "ib"] = iec;
  });
  return t;
})();

/**
 * Parses a size flag value (`10G`, `1.5 TiB`, `1,000kb`; `k`/`m`/`g`… are decimal). Throws
 * an Error `invalid size "<arg>"` (empty: `no size specified`) whose cause names the problem.
 */
export function parseBytes(arg: string): bigint {
  if (arg.trim() === "") throw new Error("no size specified");
  const m = /^([0-9.,]*)(.*)$/s.exec(arg);
  const rawNum = m?.[1] ?? "";
  const rest = (m?.[2] ?? "").trim().toLowerCase();
  const num = rawNum.replace(/,/g, "");
  if (!/^(\d+\.?\d*|\.\d+)$/.test(num)) {
    throw new Error(`invalid size "${arg}"`, {
      cause: new Error("expected a non-negative number followed by an optional unit, e.g. 10GB"),
    });
  }
  const mult = unitMultipliers[rest];
  if (mult === undefined) {
    throw new Error(`invalid size "${arg}"`, {
      cause: new Error(
        `unhandled size name: ${rest} (use one of b, kb, kib, mb, mib, gb, gib, tb, tib, pb, pib, eb, eib)`,
      ),
    });
  }
  const f = parseFloat(num) * Number(mult);
  if (f >= 2 ** 64) {
    throw new Error(`invalid size "${arg}"`, { cause: new Error(`too large: ${arg}`) });
  }
  // Integers stay exact (a float would round values above 2^53).
  if (/^\d+$/.test(num)) return BigInt(num) * mult;
  return BigInt(Math.trunc(f));
}

/**
 * Usage percentage (§4.5): `N/A` when total is 0, `0 %` when nothing is used, else the
 * integer part of used/total×100 followed by ` %`.
 */
export function percentString(used: number | bigint, total: number | bigint): string {
  const u = BigInt(used);
  const t = BigInt(total);
  if (t === 0n) return "N/A";
  if (u === 0n) return "0 %";
  return `${(u * 100n) / t} %`;
}
