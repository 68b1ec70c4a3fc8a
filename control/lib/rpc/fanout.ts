/**
 * Fan-out: one call to every host of a set, concurrently, with bounded concurrency and a
 * deadline owned by the caller. Every host ends with exactly one result: a response or an
 * error (transport failures already turned into DAOS client faults).
 */
import type { CallOptions, Transport } from "@connectrpc/connect";
import type { ConnContext } from "./conn_errors.ts";
import { hostError } from "./host_error.ts";

/** Default number of hosts called at once. */
export const DEFAULT_CONCURRENCY = 64;

/** The outcome of the call for one host. */
export type HostResult<T> =
  | { addr: string; response: T; error?: undefined }
  | { addr: string; response?: undefined; error: Error };

/** Options of one fan-out. */
export interface FanOutOptions {
  /** Hosts called at once (default 64). */
  concurrency?: number;
  /** Absolute deadline (ms since the epoch) for the whole fan-out; owned by the caller. */
  deadline: number;
  /** Aborts every call still running (e.g. on SIGINT). */
  signal?: AbortSignal;
  /** Request name used in timeout messages, e.g. "StorageScan". */
  name: string;
}

/** Calls one RPC on one host; gets the host's transport and the per-call options to pass on. */
export type HostCall<T> = (transport: Transport, opts: CallOptions, addr: string) => Promise<T>;

/** Calls one RPC on the host `addr` with the per-call options to pass on. */
export type AddrCall<T> = (addr: string, opts: CallOptions) => Promise<T>;

/** What fanOut/msRequest need of a transport pool: a transport per host, its security. */
export interface TransportSource {
  get(target: string): Transport;
  readonly connContext: ConnContext;
}

/**
 * Runs `call` against every target ("host:port") and returns one result per target, in the
 * order of `targets`. Never rejects because of a host: failures are per-host errors.
 */
export function fanOut<T>(
  pool: TransportSource,
  targets: readonly string[],
  call: HostCall<T>,
  opts: FanOutOptions,
): Promise<HostResult<T>[]> {
  return fanOutCalls(pool.connContext, targets, (addr, o) => call(pool.get(addr), o, addr), opts);
}

/**
 * fanOut over any way of calling a host (the Invoker's): `conn` is the caller's transport
 * security, named in connection-error texts.
 */
export async function fanOutCalls<T>(
  conn: ConnContext | undefined,
  targets: readonly string[],
  call: AddrCall<T>,
  opts: FanOutOptions,
): Promise<HostResult<T>[]> {
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`invalid fan-out concurrency ${concurrency}: must be an integer >= 1`);
  }
  const results = new Array<HostResult<T>>(targets.length);
  let next = 0;
  const started = Date.now();
  const worker = async () => {
    while (next < targets.length) {
      const i = next++;
      const addr = targets[i];
      const remaining = opts.deadline - Date.now();
      if (remaining <= 0 || opts.signal?.aborted) {
        results[i] = {
          addr,
          error: hostError(
            new DOMException("deadline", "TimeoutError"),
            addr,
            opts.name,
            opts.deadline - started,
            conn,
          ),
        };
        continue;
      }
      try {
        const response = await call(addr, { timeoutMs: remaining, signal: opts.signal });
        results[i] = { addr, response };
      } catch (err) {
        results[i] = {
          addr,
          error: hostError(err, addr, opts.name, opts.deadline - started, conn),
        };
      }
    }
  };
  const workers = [];
  for (let w = 0; w < Math.min(concurrency, targets.length); w++) workers.push(worker());
  await Promise.all(workers);
  return results;
}
