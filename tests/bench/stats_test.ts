import { deepEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { median, percentile, ratio, summarize } from "./stats.ts";

Deno.test("median of odd and even counts, unsorted input", () => {
  assertEquals(median([3, 1, 2]), 2);
  assertEquals(median([4, 1, 3, 2]), 2.5);
  assertEquals(median([7]), 7);
});

Deno.test("percentiles interpolate between ranks", () => {
  const s = Array.from({ length: 101 }, (_, i) => i); // 0..100
  assertEquals(percentile(s, 99), 99);
  assertEquals(percentile(s, 0), 0);
  assertEquals(percentile(s, 100), 100);
  assertEquals(percentile([10, 20], 25), 12.5);
  assertThrows(() => percentile([1], 101), /0\.\.100/);
  assertThrows(() => median([]), /no samples/);
});

Deno.test("summary and ratio", () => {
  const s = summarize([8, 2, 6, 4]);
  assertEquals({ ...s, p99: Math.round(s.p99 * 1e6) / 1e6 }, {
    n: 4,
    min: 2,
    mean: 5,
    p50: 5,
    p99: 7.94,
    max: 8,
  });
  assertEquals(ratio(6, 2), 3);
  assertEquals(ratio(6, 0), undefined);
});
