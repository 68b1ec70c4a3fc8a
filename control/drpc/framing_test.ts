import { deepEqual as assertEquals, rejects, throws } from "node:assert/strict";
import {
  type ByteSource,
  decodeHeader,
  encodeHeader,
  encodeMessage,
  FramingError,
  HEADER_SIZE,
  MAX_CHUNK_PAYLOAD,
  MAX_CHUNK_SIZE,
  MessageAssembler,
  readMessage,
  StreamReader,
} from "./framing.ts";

/** Serves bytes in reads of at most `step` bytes, like a stream socket may. */
class MemSource implements ByteSource {
  #off = 0;
  constructor(private readonly data: Uint8Array, private readonly step = 1 << 20) {}
  read(p: Uint8Array): Promise<number | null> {
    if (this.#off >= this.data.length) return Promise.resolve(null);
    const n = Math.min(p.length, this.step, this.data.length - this.#off);
    p.set(this.data.subarray(this.#off, this.#off + n));
    this.#off += n;
    return Promise.resolve(n);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

function chunk(
  h: { totalSize: number; chunkSize: number; chunkIndex: number; totalChunks: number },
  payloadLen = h.chunkSize,
): Uint8Array {
  return concat([encodeHeader(h), new Uint8Array(payloadLen)]);
}

function read(data: Uint8Array, step?: number): Promise<Uint8Array | null> {
  return readMessage(new StreamReader(new MemSource(data, step)));
}

Deno.test("header is 24 little-endian bytes and round-trips", () => {
  const h = { totalSize: 0x0102030405, chunkSize: 131048, chunkIndex: 3, totalChunks: 9 };
  const b = encodeHeader(h);
  assertEquals(b.length, HEADER_SIZE);
  assertEquals([...b.subarray(0, 8)], [5, 4, 3, 2, 1, 0, 0, 0]);
  assertEquals([...b.subarray(16, 24)], [3, 0, 0, 0, 9, 0, 0, 0]);
  assertEquals(decodeHeader(b), h);
});

Deno.test("short header is rejected", () => {
  throws(() => decodeHeader(new Uint8Array(23)), { name: "FramingError", message: /too short/ });
});

Deno.test("chunk counts and sizes follow the reference sender", () => {
  assertEquals(encodeMessage(new Uint8Array(0)).map((c) => c.length), [HEADER_SIZE]);
  assertEquals(encodeMessage(pattern(10)).map((c) => c.length), [HEADER_SIZE + 10]);
  assertEquals(encodeMessage(pattern(MAX_CHUNK_PAYLOAD)).map((c) => c.length), [MAX_CHUNK_SIZE]);
  const two = encodeMessage(pattern(MAX_CHUNK_PAYLOAD + 1));
  assertEquals(two.map((c) => c.length), [MAX_CHUNK_SIZE, HEADER_SIZE + 1]);
  assertEquals(decodeHeader(two[1]), {
    totalSize: MAX_CHUNK_PAYLOAD + 1,
    chunkSize: 1,
    chunkIndex: 1,
    totalChunks: 2,
  });
});

Deno.test("messages of many sizes round-trip, also over short reads", async () => {
  for (
    const size of [
      0,
      1,
      100,
      MAX_CHUNK_PAYLOAD,
      MAX_CHUNK_PAYLOAD + 1,
      3 * MAX_CHUNK_PAYLOAD + 5000,
    ]
  ) {
    const msg = pattern(size);
    const wire = concat(encodeMessage(msg));
    assertEquals(await read(wire), msg, `size ${size}`);
    assertEquals(await read(wire, 1000), msg, `size ${size}, 1000-byte reads`);
  }
});

Deno.test("two messages back to back on one stream are read separately", async () => {
  const a = pattern(200_000), b = pattern(5);
  const reader = new StreamReader(
    new MemSource(concat([...encodeMessage(a), ...encodeMessage(b)])),
  );
  assertEquals(await readMessage(reader), a);
  assertEquals(await readMessage(reader), b);
  assertEquals(await readMessage(reader), null);
});

Deno.test("clean end of stream before a message reads as null", async () => {
  assertEquals(await read(new Uint8Array(0)), null);
});

Deno.test("malformed chunk sequences are rejected, each with its reason", async () => {
  /** A chunk with a zero payload of `chunkSize` bytes. */
  const c = (totalSize: number, chunkSize: number, chunkIndex: number, totalChunks: number) =>
    chunk({ totalSize, chunkSize, chunkIndex, totalChunks });
  const big = MAX_CHUNK_PAYLOAD + 1;
  const cases: [string, Uint8Array[], RegExp][] = [
    ["total_chunks == 0", [c(4, 4, 0, 0)], /total_chunks == 0/],
    ["payload larger than 131048 bytes", [c(big, big, 0, 1)], /payload too large/],
    ["chunk overrunning the announced total", [c(30, 20, 0, 2), c(30, 20, 1, 2)], /overruns/],
    ["changed total size", [c(30, 10, 0, 3), c(31, 10, 1, 3)], /changed totals/],
    ["changed chunk count", [c(30, 10, 0, 3), c(30, 10, 1, 4)], /changed totals/],
    ["first chunk not index 0", [c(10, 5, 1, 2)], /possible lost\/dropped chunk/],
    ["skipped chunk index", [c(30, 10, 0, 3), c(30, 10, 2, 3)], /index 2, expected 1/],
    ["final size different from the total", [c(100, 50, 0, 1)], /size mismatch/],
  ];
  for (const [what, chunks, message] of cases) {
    await rejects(() => read(concat(chunks)), { name: "FramingError", message }, what);
  }
});

Deno.test("stream ending inside a chunk or between chunks is rejected", async () => {
  const wire = concat(encodeMessage(pattern(MAX_CHUNK_PAYLOAD + 10)));
  await rejects(
    () => read(wire.subarray(0, 1000)),
    FramingError,
    "stream ended",
  );
  await rejects(() => read(wire.subarray(0, MAX_CHUNK_SIZE)), {
    name: "FramingError",
    message: /middle/,
  });
  await rejects(() => read(wire.subarray(0, 10)), {
    name: "FramingError",
    message: /stream ended/,
  });
});

Deno.test("message larger than the receiver's cap is rejected before buffering", async () => {
  const wire = chunk({ totalSize: 1 << 30, chunkSize: 10, chunkIndex: 0, totalChunks: 8193 });
  await rejects(
    () => readMessage(new StreamReader(new MemSource(wire)), 1 << 20),
    { name: "FramingError", message: /message too large/ },
  );
});

Deno.test("a header announcing a large total allocates only what has arrived", async () => {
  // 64 MiB announced (the default cap), 10 bytes sent, then the peer holds the frame open.
  const asm = new MessageAssembler();
  const h = { totalSize: 64 * 1024 * 1024, chunkSize: 10, chunkIndex: 0, totalChunks: 700 };
  asm.checkHeader(h);
  const target = asm.payloadTarget(h);
  assertEquals(target.length, 10);
  assertEquals(target.buffer.byteLength < 1024 * 1024, true, `${target.buffer.byteLength} bytes`);
  asm.payloadDone(h);
  // The buffer doubles as chunks come and the message is whole and exact at the end.
  const msg = pattern(3 * MAX_CHUNK_PAYLOAD + 17);
  assertEquals(await read(concat(encodeMessage(msg)), 1000), msg);
  assertEquals((await read(concat(encodeMessage(msg))))!.length, msg.length);
});
