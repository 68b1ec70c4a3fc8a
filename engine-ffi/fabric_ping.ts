/**
 * Client of the engine's fabric ping (the RPC layer's own protocol on libfabric, see
 * engine-ffi/native/src/crt_engine.h): proves that the URI an engine reported with NotifyReady
 * is live. The ping runs in libdaos_engine.so (`daos_engine_fabric_ping`), from a libfabric
 * endpoint of its own, on an FFI worker thread so the event loop keeps running.
 */
import { defaultLibraryPath, quietFabricSignalHandlers } from "./ffi.ts";

/** What an engine answers to a ping. */
export interface Pong {
  rank: number;
  instance: number;
  incarnation: bigint;
}

const pingSymbols = {
  daos_engine_fabric_ping: {
    parameters: ["buffer", "i32", "buffer", "buffer", "buffer", "buffer", "usize"],
    result: "i32",
    nonblocking: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** Splits "ofi+tcp://IP:PORT" into host and port; throws on anything else. */
export function parseFabricUri(uri: string): { host: string; port: number } {
  const m = /^[A-Za-z0-9+_;-]+:\/\/(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(uri);
  if (m === null || Number(m[2]) > 65535) {
    throw new Error(`invalid fabric URI "${uri}": expected <provider>://<IPv4>:<port>`);
  }
  return { host: m[1], port: Number(m[2]) };
}

/** Pings the engine at uri; rejects on timeout, refusal or a malformed reply. */
export async function pingFabric(uri: string, timeoutMs = 5000): Promise<Pong> {
  parseFabricUri(uri);
  quietFabricSignalHandlers();
  const lib = Deno.dlopen(defaultLibraryPath(), pingSymbols);
  try {
    const uriBuf = new TextEncoder().encode(`${uri}\0`);
    const rank = new Uint32Array(1);
    const instance = new Uint32Array(1);
    const incarnation = new BigUint64Array(1);
    const err = new Uint8Array(512);
    // the C side bounds the call by timeoutMs; the buffers stay referenced until it returns
    const rc = await lib.symbols.daos_engine_fabric_ping(
      uriBuf,
      timeoutMs,
      rank,
      instance,
      incarnation,
      err,
      BigInt(err.length),
    );
    if (rc !== 0) {
      const end = err.indexOf(0);
      const msg = new TextDecoder().decode(err.subarray(0, end < 0 ? err.length : end));
      throw new Error(msg || `fabric ping to ${uri} failed (${rc})`);
    }
    return { rank: rank[0], instance: instance[0], incarnation: incarnation[0] };
  } finally {
    lib.close();
  }
}
