import { deepEqual as assertEquals } from "node:assert/strict";
import { cellWidth, formatEntity, formatTable, formatTableRows, indentLines } from "./txtfmt.ts";

Deno.test("table matches the dmg.md §4.1 example byte for byte", () => {
  const out = formatTable(["Ranks", "Action", "Result"], [
    { Ranks: "[10,20-299]", Action: "bar", Result: "BAD" },
    { Ranks: "[0-9,11-19]", Action: "foo", Result: "OK" },
  ]);
  assertEquals(
    out,
    "Ranks       Action Result \n" +
      "-----       ------ ------ \n" +
      "[10,20-299] bar    BAD    \n" +
      "[0-9,11-19] foo    OK     \n",
  );
});

Deno.test("missing cells print None and widen the column", () => {
  const out = formatTable(["A", "B"], [{ A: "x" }]);
  assertEquals(out, "A B    \n- -    \nx None \n");
});

Deno.test("no rows gives only the header lines", () => {
  assertEquals(formatTable(["Hosts", "Error"], []), "Hosts Error \n----- ----- \n");
});

Deno.test("positional rows and rune widths", () => {
  assertEquals(
    formatTableRows(["K", "V"], [["é", "1"], ["ab"]]),
    "K  V    \n-  -    \né  1    \nab None \n",
  );
  assertEquals(cellWidth("é€"), 2);
});

Deno.test("indentLines indents non-empty lines only", () => {
  assertEquals(indentLines("a \nb \n\n", 2), "  a \n  b \n\n");
});

Deno.test("entity block matches the pool create example (quirk 7)", () => {
  const out = formatEntity("Pool created with 5.66%,94.34% storage tier ratio", [
    ["UUID", "00000001-0001-0001-0001-000000000001"],
    ["Service Leader", "0"],
    ["Service Ranks", "[0-2]"],
    ["Storage Ranks", "[0-3]"],
    ["Total Size", "42 GB"],
    ["Storage tier 0 (SCM)", "2.4 GB (600 MB / rank)"],
    ["Storage tier 1 (NVMe)", "40 GB (10 GB / rank)"],
  ]);
  const want = [
    "Pool created with 5.66%,94.34% storage tier ratio",
    "-------------------------------------------------",
    "  UUID                 : 00000001-0001-0001-0001-000000000001",
    "  Service Leader       : 0                                   ",
    "  Service Ranks        : [0-2]                               ",
    "  Storage Ranks        : [0-3]                               ",
    "  Total Size           : 42 GB                               ",
    "  Storage tier 0 (SCM) : 2.4 GB (600 MB / rank)              ",
    "  Storage tier 1 (NVMe): 40 GB (10 GB / rank)                ",
    "",
  ].join("\n");
  assertEquals(out, want);
});

Deno.test("entity block: value cells padded to at least the key column", () => {
  const out = formatEntity("T", [["Long key", "v"]]);
  // P = 9, key column 11, value cell ": v" padded to 11
  assertEquals(out, "T\n-\n  Long key : v        \n");
});
