/**
 * dRPC framing (spec/server.md §6.2) over a Unix stream socket.
 *
 * One protobuf message is split into chunks of at most 128 KiB, each led by a 24-byte
 * little-endian header: u64 total size, u64 chunk size, u32 chunk index, u32 chunk count.
 * DAOS sends each chunk as one SOCK_SEQPACKET datagram; Deno has no seqpacket sockets, so on a
 * stream the receiver reads a header, then exactly that chunk's payload, until the count is
 * reached. The receiver checks mirror the reference ones.
 */

/** Largest chunk (header + payload), UNIXCOMM_MAXMSGSIZE. */
export const MAX_CHUNK_SIZE = 131072;
/** Size of the chunk header. */
export const HEADER_SIZE = 24;
/** Largest payload one chunk may carry. */
export const MAX_CHUNK_PAYLOAD = MAX_CHUNK_SIZE - HEADER_SIZE;
/** Default cap on a whole message, so a bogus header cannot make us buffer without bound. */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

/** The decoded 24-byte chunk header. */
export interface ChunkHeader {
  totalSize: number;
  chunkSize: number;
  chunkIndex: number;
  totalChunks: number;
}

/** A malformed or inconsistent frame; the connection it came from must be dropped. */
export class FramingError extends Error {
  override name = "FramingError";
}

/** Encodes a chunk header. */
export function encodeHeader(h: ChunkHeader): Uint8Array {
  const buf = new Uint8Array(HEADER_SIZE);
  const view = new DataView(buf.buffer);
  view.setBigUint64(0, BigInt(h.totalSize), true);
  view.setBigUint64(8, BigInt(h.chunkSize), true);
  view.setUint32(16, h.chunkIndex, true);
  view.setUint32(20, h.totalChunks, true);
  return buf;
}

function u64ToNumber(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new FramingError(`dRPC chunk header ${what} ${v} is too large`);
  }
  return Number(v);
}

/** Decodes a chunk header from the first 24 bytes of buf. */
export function decodeHeader(buf: Uint8Array): ChunkHeader {
  if (buf.length < HEADER_SIZE) {
    throw new FramingError(
      `dRPC chunk too short: ${buf.length} bytes, a header needs ${HEADER_SIZE}`,
    );
  }
  const view = new DataView(buf.buffer, buf.byteOffset, HEADER_SIZE);
  return {
    totalSize: u64ToNumber(view.getBigUint64(0, true), "total_data_size"),
    chunkSize: u64ToNumber(view.getBigUint64(8, true), "chunk_data_size"),
    chunkIndex: view.getUint32(16, true),
    totalChunks: view.getUint32(20, true),
  };
}

/**
 * Splits a message into wire chunks (header + payload each). An empty message becomes one
 * empty chunk, as the Go sender does (the C sender would send none, which cannot be read).
 */
export function encodeMessage(msg: Uint8Array): Uint8Array[] {
  const totalChunks = Math.max(1, Math.ceil(msg.length / MAX_CHUNK_PAYLOAD));
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < totalChunks; i++) {
    const payload = msg.subarray(i * MAX_CHUNK_PAYLOAD, (i + 1) * MAX_CHUNK_PAYLOAD);
    const chunk = new Uint8Array(HEADER_SIZE + payload.length);
    chunk.set(
      encodeHeader({
        totalSize: msg.length,
        chunkSize: payload.length,
        chunkIndex: i,
        totalChunks,
      }),
    );
    chunk.set(payload, HEADER_SIZE);
    chunks.push(chunk);
  }
  return chunks;
}

/**
 * Reassembles one message from chunks, applying the receiver checks of §6.2. Check each header
 * (checkHeader), fill payloadTarget(), call payloadDone(); done() tells when it is whole.
 */
export class MessageAssembler {
  #first: ChunkHeader | undefined;
  #received = 0;
  #nextIndex = 0;
  #buf: Uint8Array | undefined;

  constructor(private readonly maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE) {}

  /** Validates the next chunk header; throws FramingError if it is not acceptable. */
  checkHeader(h: ChunkHeader): void {
    if (h.totalChunks === 0) {
      throw new FramingError("dRPC chunk header has total_chunks == 0");
    }
    if (h.chunkSize > MAX_CHUNK_PAYLOAD) {
      throw new FramingError(
        `dRPC chunk payload too large: ${h.chunkSize} bytes (max ${MAX_CHUNK_PAYLOAD})`,
      );
    }
    if (this.#first === undefined) {
      if (h.totalSize > this.maxMessageSize) {
        throw new FramingError(
          `dRPC message too large: ${h.totalSize} bytes (max ${this.maxMessageSize})`,
        );
      }
      this.#first = h;
    } else if (
      h.totalChunks !== this.#first.totalChunks || h.totalSize !== this.#first.totalSize
    ) {
      throw new FramingError(
        `dRPC chunk ${h.chunkIndex} changed totals: ${h.totalSize} bytes/${h.totalChunks} ` +
          `chunks, chunk 0 said ${this.#first.totalSize} bytes/${this.#first.totalChunks} chunks`,
      );
    }
    if (h.chunkIndex !== this.#nextIndex) {
      throw new FramingError(
        `dRPC chunk index ${h.chunkIndex}, expected ${this.#nextIndex} ` +
          "(possible lost/dropped chunk)",
      );
    }
    if (this.#received + h.chunkSize > this.#first.totalSize) {
      throw new FramingError(
        `dRPC chunk ${h.chunkIndex} overruns the message: ${this.#received} + ` +
          `${h.chunkSize} bytes > total ${this.#first.totalSize}`,
      );
    }
    const last = h.chunkIndex === this.#first.totalChunks - 1;
    if (last && this.#received + h.chunkSize !== this.#first.totalSize) {
      throw new FramingError(
        `dRPC message size mismatch: received ${this.#received + h.chunkSize} bytes, ` +
          `header said ${this.#first.totalSize}`,
      );
    }
  }

  /**
   * Where the payload of the chunk whose header was just checked goes: fill exactly this view,
   * then call payloadDone(). The buffer grows with the chunks that arrive (doubling, up to the
   * announced total), so a header announcing a large total costs nothing until its bytes come.
   */
  payloadTarget(h: ChunkHeader): Uint8Array {
    const need = this.#received + h.chunkSize;
    if (h.chunkSize === 0) return new Uint8Array(0);
    const have = this.#buf?.length ?? 0;
    if (need > have) {
      const grown = new Uint8Array(Math.min(this.#first!.totalSize, Math.max(need, have * 2)));
      if (this.#buf) grown.set(this.#buf.subarray(0, this.#received));
      this.#buf = grown;
    }
    return this.#buf!.subarray(this.#received, need);
  }

  /** Marks the chunk whose payload was just filled in as received. */
  payloadDone(h: ChunkHeader): void {
    this.#received += h.chunkSize;
    this.#nextIndex++;
  }

  /** True once a first chunk header has been accepted. */
  started(): boolean {
    return this.#first !== undefined;
  }

  /** True once every announced chunk has been added. */
  done(): boolean {
    return this.#first !== undefined && this.#nextIndex === this.#first.totalChunks;
  }

  /** The reassembled message (only valid when done()). */
  message(): Uint8Array {
    return this.#buf?.subarray(0, this.#received) ?? new Uint8Array(0);
  }
}

/** Minimal byte source (Deno.Conn satisfies it). */
export interface ByteSource {
  read(p: Uint8Array): Promise<number | null>;
}

/** Minimal byte sink (Deno.Conn satisfies it). */
export interface ByteSink {
  write(p: Uint8Array): Promise<number>;
}

/** Buffered exact-length reader over a stream. */
export class StreamReader {
  #buf = new Uint8Array(MAX_CHUNK_SIZE);
  #start = 0;
  #end = 0;

  constructor(private readonly src: ByteSource) {}

  /**
   * Reads exactly n bytes. Returns null on end of stream before the first byte; throws
   * FramingError on end of stream in the middle.
   */
  async readExact(n: number): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    return await this.readInto(out) ? out : null;
  }

  /**
   * Fills dst completely. Returns false on end of stream before the first byte; throws
   * FramingError on end of stream in the middle. Large reads bypass the internal buffer.
   */
  async readInto(dst: Uint8Array): Promise<boolean> {
    const n = dst.length;
    let got = 0;
    while (got < n) {
      if (this.#start === this.#end) {
        const direct = n - got >= this.#buf.length;
        const r = await this.src.read(direct ? dst.subarray(got) : this.#buf);
        if (r === null) {
          if (got === 0) return false;
          throw new FramingError(`dRPC stream ended after ${got} of ${n} expected bytes`);
        }
        if (direct) {
          got += r;
          continue;
        }
        this.#start = 0;
        this.#end = r;
      }
      const take = Math.min(n - got, this.#end - this.#start);
      dst.set(this.#buf.subarray(this.#start, this.#start + take), got);
      this.#start += take;
      got += take;
    }
    return true;
  }
}

/**
 * Reads one whole message. Returns null on a clean end of stream before any byte; throws
 * FramingError on any malformed or truncated frame.
 */
export async function readMessage(
  reader: StreamReader,
  maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE,
): Promise<Uint8Array | null> {
  const asm = new MessageAssembler(maxMessageSize);
  while (!asm.done()) {
    const hdr = await reader.readExact(HEADER_SIZE);
    if (hdr === null) {
      if (!asm.started()) return null;
      throw new FramingError("dRPC stream ended in the middle of a message");
    }
    const h = decodeHeader(hdr);
    asm.checkHeader(h);
    const target = asm.payloadTarget(h);
    if (target.length > 0 && !(await reader.readInto(target))) {
      throw new FramingError("dRPC stream ended before the chunk payload");
    }
    asm.payloadDone(h);
  }
  return asm.message();
}

/** Writes one message as chunks. */
export async function writeMessage(sink: ByteSink, msg: Uint8Array): Promise<void> {
  for (const chunk of encodeMessage(msg)) {
    let off = 0;
    while (off < chunk.length) off += await sink.write(chunk.subarray(off));
  }
}
