/**
 * Client of the engine's fabric ping protocol (engine-ffi/native/src/fabric.h): proves that
 * the URI an engine reported with NotifyReady is live. Little-endian throughout:
 * request "DAOSPING" nonce:u64 (16 bytes); reply "DAOSPONG" nonce:u64 rank:u32 instance:u32
 * incarnation:u64 (32 bytes).
 */

/** What an engine answers to a ping. */
export interface Pong {
  rank: number;
  instance: number;
  incarnation: bigint;
}

const PING = new TextEncoder().encode("DAOSPING");
const PONG = new TextEncoder().encode("DAOSPONG");

/** Splits "ofi+tcp://IP:PORT" into host and port; throws on anything else. */
export function parseFabricUri(uri: string): { host: string; port: number } {
  const m = /^[A-Za-z0-9+_;-]+:\/\/(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(uri);
  if (m === null || Number(m[2]) > 65535) {
    throw new Error(`invalid fabric URI "${uri}": expected <provider>://<IPv4>:<port>`);
  }
  return { host: m[1], port: Number(m[2]) };
}

/** Pings the engine at uri; rejects on timeout, refusal or a malformed reply. */
export async function pingFabric(uri: string, timeoutMs = 1000): Promise<Pong> {
  const { host, port } = parseFabricUri(uri);
  const nonce = BigInt(Date.now()) ^ (BigInt(Math.floor(Math.random() * 2 ** 32)) << 20n);
  const req = new Uint8Array(16);
  req.set(PING);
  new DataView(req.buffer).setBigUint64(8, nonce, true);
  let conn: Deno.TcpConn | undefined;
  const timer = setTimeout(() => conn?.close(), timeoutMs);
  try {
    conn = await Deno.connect({ hostname: host, port });
    await conn.write(req);
    const resp = new Uint8Array(32);
    let got = 0;
    while (got < resp.length) {
      const n = await conn.read(resp.subarray(got));
      if (n === null) throw new Error(`fabric ping to ${uri}: connection closed after ${got} B`);
      got += n;
    }
    const dv = new DataView(resp.buffer);
    if (!PONG.every((b, i) => resp[i] === b) || dv.getBigUint64(8, true) !== nonce) {
      throw new Error(`fabric ping to ${uri}: not a DAOSPONG reply to our nonce`);
    }
    return {
      rank: dv.getUint32(16, true),
      instance: dv.getUint32(20, true),
      incarnation: dv.getBigUint64(24, true),
    };
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* closed by the timer */ }
  }
}
