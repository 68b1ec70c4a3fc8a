import { deepEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { DaosStatusError, faults, wrapError } from "../../control/lib/fault.ts";
import { EnvelopeWriter, formatEnvelope } from "./envelope.ts";

Deno.test("no payload, no error: the spec's example", () => {
  assertEquals(
    formatEnvelope(null),
    '{\n  "response": null,\n  "error": null,\n  "status": 0\n}\n',
  );
});

Deno.test("errors: text and status (-1025 or DER of root cause)", () => {
  assertEquals(
    formatEnvelope(null, new Error("non-existent ranks 7-9")),
    '{\n  "response": null,\n  "error": "non-existent ranks 7-9",\n  "status": -1025\n}\n',
  );
  const der = formatEnvelope(null, wrapError(new DaosStatusError(-1005), "x"));
  assertEquals(JSON.parse(der).status, -1005);
  assertEquals(
    JSON.parse(formatEnvelope({ a: 1 }, faults.ClientFormatRunningSystem())).status,
    -1025,
  );
});

Deno.test("EnvelopeWriter writes exactly one document", () => {
  const docs: string[] = [];
  const w = new EnvelopeWriter((t) => docs.push(t));
  w.write({ a: 1 });
  w.finish(new Error("late"));
  assertEquals(docs.length, 1);
  assertEquals(JSON.parse(docs[0]), { response: { a: 1 }, error: null, status: 0 });
  assertThrows(() => w.write(null), /already written/);

  const docs2: string[] = [];
  const w2 = new EnvelopeWriter((t) => docs2.push(t));
  w2.finish(new Error("config broken"));
  assertEquals(docs2.length, 1);
  assertEquals(JSON.parse(docs2[0]), { response: null, error: "config broken", status: -1025 });
});
