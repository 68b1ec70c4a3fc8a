import { deepEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { formatBytes, formatIBytes, parseBytes, percentString } from "./sizes.ts";

Deno.test("SI sizes match dmg.md §4.5 examples", () => {
  const cases: [number | bigint, string][] = [
    [0, "0 B"],
    [2, "2 B"],
    [9, "9 B"],
    [10, "10 B"],
    [1058577, "1.1 MB"],
    [10_000_000, "10 MB"],
    [2.4e9, "2.4 GB"],
    [42.4e9, "42 GB"],
    [6e12, "6.0 TB"],
    [100e9, "100 GB"],
    [999_999, "1000 kB"],
    [1000, "1.0 kB"],
    [18446744073709551615n, "18 EB"],
  ];
  for (const [n, want] of cases) assertEquals(formatBytes(n), want, `formatBytes(${n})`);
});

Deno.test("exact halves round to even like Go's %.0f", () => {
  assertEquals(formatBytes(10_500_000), "10 MB");
  assertEquals(formatBytes(11_500_000), "12 MB");
});

Deno.test("IEC sizes", () => {
  assertEquals(formatIBytes(1e9), "954 MiB");
  assertEquals(formatIBytes(1024), "1.0 KiB");
  assertEquals(formatIBytes(3 * 1024 ** 4), "3.0 TiB");
});

Deno.test("parseBytes units are decimal for short forms, binary with i", () => {
  assertEquals(parseBytes("1T"), 10n ** 12n);
  assertEquals(parseBytes("32G"), 32n * 10n ** 9n);
  assertEquals(parseBytes("1 GiB"), 1024n ** 3n);
  assertEquals(parseBytes("1,000kb"), 1_000_000n);
  assertEquals(parseBytes("1.5 TB"), 1_500_000_000_000n);
  assertEquals(parseBytes("512"), 512n);
  assertEquals(parseBytes("10b"), 10n);
  assertEquals(parseBytes("2Ei"), 2n * 1024n ** 6n);
  assertEquals(parseBytes("16EB"), 16n * 10n ** 18n);
});

Deno.test("parseBytes rejects bad input with the spec's messages", () => {
  assertThrows(() => parseBytes(""), { message: "no size specified" });
  assertThrows(() => parseBytes("-1G"), { message: 'invalid size "-1G"' });
  assertThrows(() => parseBytes("10 parsecs"), { message: 'invalid size "10 parsecs"' });
  assertThrows(() => parseBytes("1.2.3G"), { message: 'invalid size "1.2.3G"' });
  assertThrows(() => parseBytes("20EB"), { message: 'invalid size "20EB"' });
});

Deno.test("percentages", () => {
  assertEquals(percentString(5, 0), "N/A");
  assertEquals(percentString(0, 100), "0 %");
  assertEquals(percentString(1, 3), "33 %");
  assertEquals(percentString(100, 100), "100 %");
});
