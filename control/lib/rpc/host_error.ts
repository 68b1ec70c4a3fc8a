/**
 * Turns whatever a call to one host threw into the error dmg reports for that host:
 * connection failures become client faults with the host in the text, the caller's deadline
 * becomes the RPC-timeout fault, server-side typed errors are decoded.
 */
import { faults } from "../fault.ts";
import { type ConnContext, connectionFailure, isDeadline } from "./conn_errors.ts";
import { decodeRemoteError } from "./error_codec.ts";

/** Formats a duration like Go's time.Duration String() for whole milliseconds ("1.5s", "5m0s"). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const totalS = ms / 1000;
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = Math.round((totalS % 60) * 1000) / 1000;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/**
 * The per-host error for `err` raised while calling `name` on `addr` with a deadline of
 * `timeoutMs` from the start of the request; `ctx` (the pool's security) lets TLS failures
 * name the setting to fix.
 */
export function hostError(
  err: unknown,
  addr: string,
  name: string,
  timeoutMs: number,
  ctx?: ConnContext,
): Error {
  const conn = connectionFailure(err, addr, ctx);
  if (conn) return conn;
  if (isDeadline(err) || (err instanceof DOMException && err.name === "TimeoutError")) {
    return faults.ClientRpcTimeout(name, formatDuration(timeoutMs));
  }
  return decodeRemoteError(err);
}
