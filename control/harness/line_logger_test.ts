import { deepEqual as assertEquals } from "node:assert/strict";
import { pipeLines } from "./line_logger.ts";

function streamOf(parts: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const p of parts) c.enqueue(enc.encode(p));
      c.close();
    },
  });
}

Deno.test("lines split across reads are joined and prefixed; last partial line kept", async () => {
  const out: string[] = [];
  await pipeLines(
    streamOf(["first li", "ne\nsecond\r\nthi", "rd"]),
    "daos_engine:0",
    (l) => out.push(l),
  );
  assertEquals(out, ["daos_engine:0 first line", "daos_engine:0 second", "daos_engine:0 third"]);
});

Deno.test("a UTF-8 character split between reads survives", async () => {
  const bytes = new TextEncoder().encode("é\n");
  const s = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(bytes.subarray(0, 1));
      c.enqueue(bytes.subarray(1));
      c.close();
    },
  });
  const out: string[] = [];
  await pipeLines(s, "p", (l) => out.push(l));
  assertEquals(out, ["p é"]);
});

Deno.test("an endless line is cut into bounded pieces", async () => {
  const out: string[] = [];
  await pipeLines(streamOf(["x".repeat(150 * 1024)]), "p", (l) => out.push(l));
  assertEquals(out.map((l) => l.length), [2 + 65536, 2 + 65536, 2 + 150 * 1024 - 131072]);
});
