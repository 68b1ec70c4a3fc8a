/**
 * Rank-set and host-list strings as used in MS requests ("0-3,7", "host[1-3]:10001"): parse and
 * print. A minimal local version; the shared control/lib helpers can replace it.
 */

/** Parses "0-3,7" (also "[0-3,7]") into sorted unique ranks; throws naming the bad part. */
export function parseRanks(s: string): number[] {
  const out = new Set<number>();
  const body = s.trim().replace(/^\[/, "").replace(/\]$/, "");
  if (body === "") return [];
  for (const part of body.split(",")) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`invalid rank list "${s}": bad element "${part}" (use e.g. 0-3,7)`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi > 0xfffffffe) {
      throw new Error(`invalid rank list "${s}": bad range "${part}" (use lo-hi with lo <= hi)`);
    }
    if (hi - lo > 1 << 20) throw new Error(`invalid rank list "${s}": range "${part}" too large`);
    for (let r = lo; r <= hi; r++) out.add(r);
  }
  return [...out].sort((a, b) => a - b);
}

/** Prints ranks as a compact set "0-3,7". */
export function formatRanks(ranks: Iterable<number>): string {
  const sorted = [...new Set(ranks)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/** Expands "h[1-3]:p,x" into ["h1:p","h2:p","h3:p","x"]; throws naming the bad part. */
export function parseHosts(s: string): string[] {
  const out: string[] = [];
  // Split on commas outside brackets.
  const items: string[] = [];
  let depth = 0;
  let cur = "";
  for (const c of s) {
    if (c === "[") depth++;
    if (c === "]") depth--;
    if (c === "," && depth === 0) {
      items.push(cur);
      cur = "";
    } else cur += c;
  }
  items.push(cur);
  for (const raw of items) {
    const item = raw.trim();
    if (item === "") continue;
    const m = /^([^[\]]*)\[([^\]]+)\]([^[\]]*)$/.exec(item);
    if (!m) {
      if (/[[\]]/.test(item)) throw new Error(`invalid host list "${s}": bad element "${item}"`);
      out.push(item);
      continue;
    }
    for (const r of m[2].split(",")) {
      const rm = /^(\d+)(?:-(\d+))?$/.exec(r.trim());
      if (!rm) throw new Error(`invalid host list "${s}": bad range "${r}" in "${item}"`);
      const width = rm[1].length;
      const lo = Number(rm[1]);
      const hi = rm[2] === undefined ? lo : Number(rm[2]);
      if (hi < lo) throw new Error(`invalid host list "${s}": range "${r}" goes backwards`);
      for (let n = lo; n <= hi; n++) out.push(`${m[1]}${String(n).padStart(width, "0")}${m[3]}`);
    }
  }
  return [...new Set(out)];
}
