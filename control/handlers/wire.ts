/** Errors of handler objects in their wire form (server.md §5.2), written once per service. */
import { toWireError } from "../lib/rpc/error_codec.ts";

/**
 * `impl` with every method's failure mapped by {@link toWireError} (typed faults, not-leader,
 * not-replica, MS unavailable → Connect errors with ErrorInfo). The control server's
 * interceptor does the same; this keeps the mapping when a handler object is served alone
 * (an in-memory router in tests, another server's listener).
 */
export function wireErrors<T extends object>(impl: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(impl)) {
    if (typeof f !== "function") {
      out[name] = f;
      continue;
    }
    out[name] = async (...args: unknown[]) => {
      try {
        return await f(...args);
      } catch (e) {
        throw toWireError(e);
      }
    };
  }
  return out as T;
}
