import { deepEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { goMarshalIndent, goQuote } from "./gojson.ts";

Deno.test("HTML characters and controls are escaped like Go", () => {
  assertEquals(goQuote("<nil>"), '"\\u003cnil\\u003e"');
  assertEquals(goQuote("a&b"), '"a\\u0026b"');
  assertEquals(goQuote('q"\\\n\t\r\b\f'), '"q\\"\\\\\\n\\t\\r\\u0008\\u000c"');
  assertEquals(goQuote("é\u2028"), '"é\\u2028"');
});

Deno.test("indentation, empty containers, null and bigint", () => {
  const out = goMarshalIndent({
    a: [1, 2],
    b: [],
    c: {},
    d: null,
    e: undefined,
    f: 18446744073709551615n,
    g: true,
  });
  assertEquals(
    out,
    '{\n  "a": [\n    1,\n    2\n  ],\n  "b": [],\n  "c": {},\n  "d": null,\n  "e": null,\n' +
      '  "f": 18446744073709551615,\n  "g": true\n}',
  );
});

Deno.test("Maps are Go maps: keys sorted; objects keep field order", () => {
  const out = goMarshalIndent({ z: 1, m: new Map([["b", 2], ["a", 1]]) });
  assertEquals(out, '{\n  "z": 1,\n  "m": {\n    "a": 1,\n    "b": 2\n  }\n}');
});

Deno.test("non-finite numbers are rejected", () => {
  assertThrows(() => goMarshalIndent({ x: NaN }), /unsupported value/);
});
