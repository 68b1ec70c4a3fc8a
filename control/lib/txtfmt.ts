/**
 * Text layout primitives of dmg output (dmg.md §4.1 table, §4.2 entity block).
 *
 * Byte-compatible with DAOS's Go `txtfmt` (tabwriter with padding 1, every cell terminated):
 * every line of a table ends with padding spaces.
 */

/** One table row: column title → cell text. A missing cell prints as `None`. */
export type TableRow = Readonly<Record<string, string | undefined>>;

/** Display width of a cell: Go's tabwriter counts runes (code points), not UTF-16 units. */
export function cellWidth(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function padRight(s: string, width: number): string {
  const w = cellWidth(s);
  return w >= width ? s : s + " ".repeat(width - w);
}

/**
 * Renders a table: title row, a row of dashes per title, then one line per row. Each column
 * is as wide as its widest cell plus one space; every cell (the last one too) is padded.
 * Returns the lines each ending in `\n` (no extra blank line).
 */
export function formatTable(titles: readonly string[], rows: readonly TableRow[]): string {
  const grid: string[][] = [
    [...titles],
    titles.map((t) => "-".repeat(cellWidth(t))),
    ...rows.map((r) => titles.map((t) => r[t] ?? "None")),
  ];
  const widths = titles.map((_, c) => Math.max(...grid.map((line) => cellWidth(line[c]))) + 1);
  let out = "";
  for (const line of grid) {
    out += line.map((cell, c) => padRight(cell, widths[c])).join("") + "\n";
  }
  return out;
}

/** Renders a table from positional rows (same layout as {@link formatTable}). */
export function formatTableRows(
  titles: readonly string[],
  rows: readonly (readonly (string | undefined)[])[],
): string {
  return formatTable(
    titles,
    rows.map((r) => Object.fromEntries(titles.map((t, i) => [t, r[i]]))),
  );
}

/** Prefixes every non-empty line of `text` with `n` spaces (indented tables, §4.1). */
export function indentLines(text: string, n: number): string {
  const pad = " ".repeat(n);
  return text.split("\n").map((l) => (l === "" ? l : pad + l)).join("\n");
}

/**
 * Renders an entity block (§4.2): title, dashes, then `  <key>: <value>` lines. The key
 * column width copies DAOS's quirky loop (dmg.md §11 quirk 7): P grows to len(key)+1 only
 * when a key is longer than P. Value cells are padded to the widest value cell (or the key
 * column width if larger). Returns lines each ending in `\n`.
 */
export function formatEntity(
  title: string,
  attrs: readonly (readonly [string, string])[],
): string {
  let p = 0;
  for (const [key] of attrs) {
    const w = cellWidth(key);
    if (w > p) p = w + 1;
  }
  const keyWidth = p + 2;
  const valueCells = attrs.map(([, v]) => ": " + v);
  const valueWidth = Math.max(keyWidth, ...valueCells.map(cellWidth));
  let out = `${title}\n${"-".repeat(cellWidth(title))}\n`;
  attrs.forEach(([key], i) => {
    out += padRight("  " + key, keyWidth) + padRight(valueCells[i], valueWidth) + "\n";
  });
  return out;
}

/** `1 host` / `3 hosts` / `1,024 hosts` (plural by `s`, thousands separators). */
export function plural(n: number, singular: string): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? singular : singular + "s"}`;
}
