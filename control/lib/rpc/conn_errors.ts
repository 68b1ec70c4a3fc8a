/**
 * Maps transport failures of one host to DAOS's client fault codes and wording
 * (dmg.md §3.3), so that scripts matching DAOS's messages keep working.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { type Fault, faults } from "../fault.ts";

function errnoCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    if (typeof e === "object" && e !== null && "code" in e && typeof e.code === "string") {
      return e.code;
    }
    e = e instanceof Error ? e.cause : undefined;
  }
  return undefined;
}

/**
 * Recognises a connection-level failure for `target` ("host:port") and returns the matching
 * client fault, or undefined when the error is not a transport problem (e.g. a server error).
 */
export function connectionFailure(err: unknown, target: string): Fault | undefined {
  const ce = ConnectError.from(err);
  const text = `${ce.rawMessage} ${errnoCode(err) ?? ""}`;
  const has = (...needles: string[]) => needles.some((n) => text.includes(n));
  let fault: Fault | undefined;
  if (has("ECONNREFUSED", "connection refused")) {
    fault = faults.ClientConnectionRefused(target);
  } else if (has("ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "no such host")) {
    fault = faults.ClientConnectionBadHost(target);
  } else if (has("EHOSTUNREACH", "ENETUNREACH", "no route to host")) {
    fault = faults.ClientConnectionNoRoute(target);
  } else if (has("ETIMEDOUT", "i/o timeout")) {
    fault = faults.ClientConnectionTimedOut(target);
  } else if (
    has("ECONNRESET", "EPIPE", "ERR_HTTP2_GOAWAY_SESSION", "ERR_HTTP2_SESSION_ERROR") ||
    has("connection closed", "transport is closing", "closed the connection") ||
    (ce.code === Code.Unavailable && has("socket hang up", "session closed"))
  ) {
    fault = faults.ClientConnectionClosed(target);
  }
  return fault;
}

/** True when `err` is the caller's deadline expiring (or the call being aborted). */
export function isDeadline(err: unknown): boolean {
  const ce = ConnectError.from(err);
  return ce.code === Code.DeadlineExceeded || ce.code === Code.Canceled;
}
