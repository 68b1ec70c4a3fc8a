/**
 * JSON encoding compatible with Go's `encoding/json` + `MarshalIndent` as dmg uses it
 * (dmg.md §4.6): 2-space indent, `<` `>` `&` U+2028 U+2029 escaped, control characters as
 * `\u00XX` (except `\n` `\r` `\t`), 64-bit integers exact (bigint), `undefined`/`null` as
 * `null`. Plain objects are Go structs (insertion order kept); `Map`s are Go maps (keys
 * sorted).
 */

/** A value the encoder accepts. */
export type GoJsonValue =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | readonly GoJsonValue[]
  | ReadonlyMap<string, GoJsonValue>
  | { readonly [key: string]: GoJsonValue };

// Any character goQuote would change: most strings have none and are copied whole (a
// 1024-member `system query -j` spent ~15 ms here going character by character).
// deno-lint-ignore no-control-regex -- control characters are exactly what must be escaped
const NEEDS_ESCAPE = /["\\\u0000-\u001f<>&\u2028\u2029\ud800-\udfff]/;

/** Escapes a string the way Go's encoder does (HTML-safe). */
export function goQuote(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || ch === "<" || ch === ">" || ch === "&" || c === 0x2028 || c === 0x2029) {
      out += "\\u" + c.toString(16).padStart(4, "0");
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += "\\ufffd"; // lone surrogate: Go replaces invalid UTF-8 with U+FFFD
    } else out += ch;
  }
  return out + '"';
}

function encodeNumber(n: number): string {
  if (!Number.isFinite(n)) throw new TypeError(`json: unsupported value: ${n}`);
  return String(n);
}

function encode(v: GoJsonValue, indent: string, step: string): string {
  if (v === null || v === undefined) return "null";
  switch (typeof v) {
    case "boolean":
      return v ? "true" : "false";
    case "number":
      return encodeNumber(v);
    case "bigint":
      return v.toString();
    case "string":
      return goQuote(v);
  }
  const inner = indent + step;
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    const items = v.map((x: GoJsonValue) => inner + encode(x, inner, step));
    return "[\n" + items.join(",\n") + "\n" + indent + "]";
  }
  const entries: [string, GoJsonValue][] = v instanceof Map
    ? [...(v as ReadonlyMap<string, GoJsonValue>).entries()].sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0
    )
    : Object.entries(v as { readonly [key: string]: GoJsonValue });
  if (entries.length === 0) return "{}";
  const items = entries.map(([k, x]) => inner + goQuote(k) + ": " + encode(x, inner, step));
  return "{\n" + items.join(",\n") + "\n" + indent + "}";
}

/** Go `json.MarshalIndent(v, "", "  ")` equivalent (no trailing newline). */
export function goMarshalIndent(v: GoJsonValue): string {
  return encode(v, "", "  ");
}
