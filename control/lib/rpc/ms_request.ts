/**
 * Management-Service requests (dmg.md §3.1, server.md §5.3): send to up to 5 candidate hosts
 * in parallel and take the first success (the others are cancelled), follow NotLeader/
 * NotReplica hints without waiting for silent hosts, retry "not ready yet" answers and
 * per-try timeouts with backoff, all bounded by the caller's deadline.
 */
import { Code } from "@connectrpc/connect";
import { FaultCode, faults, isFault } from "../fault.ts";
import type { HostCall, HostResult } from "./fanout.ts";
import { formatDuration, hostError } from "./host_error.ts";
import { NotLeaderError, NotReplicaError, remoteCode } from "./error_codec.ts";
import type { TransportPool } from "./transport.ts";

/** Candidates drawn from the configured host list. */
export const MS_CANDIDATES = 5;
/** Upper bound on tries, whatever the deadline. */
export const MS_MAX_TRIES = 100;
/**
 * Default time allowed for one try. Longer than a leader's slowest legitimate answer (system
 * stop/start fan out to engines for up to 60 s), so a retry never doubles a mutation; dead
 * and stopped hosts are cut much earlier by the transport's connect timeout.
 */
export const MS_TRY_MS = 90_000;

/** Substrings of server errors meaning "the MS is not ready yet, retry". */
const NOT_READY = [
  "system is uninitialized",
  "raft service unavailable",
  "leader step-up in progress",
];

/** Options of one MS request. */
export interface MsRequestOptions {
  /** Hosts ("host:port"): the configured list, of which up to 5 are drawn at random. */
  hosts: readonly string[];
  /** The hosts were given explicitly for this request: use all of them, no random draw. */
  explicit?: boolean;
  /** Absolute deadline (ms since the epoch) of the whole request. */
  deadline: number;
  /** Request name for timeout messages ("SystemQuery"). */
  name: string;
  /** Time allowed for one try (default MS_TRY_MS, never past the deadline). */
  perTryMs?: number;
  signal?: AbortSignal;
  /** Random source in [0, 1) for candidate choice and jitter (tests pass a fixed one). */
  random?: () => number;
  /** Waits between tries (tests pass a recorder). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Picks min(5, n) distinct hosts at random. */
export function pickCandidates(
  hosts: readonly string[],
  random: () => number = Math.random,
  n = MS_CANDIDATES,
): string[] {
  const pool = [...new Set(hosts)];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, Math.min(n, pool.length));
}

/** Delay before retry number `attempt` (1 = first retry): 0, then 250 ms doubling, capped. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  if (attempt <= 1) return 0;
  const base = 250 * 2 ** (Math.min(attempt, 7) - 2);
  return base + Math.floor(random() * base * 0.25);
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

function isNotReady(err: Error): boolean {
  return NOT_READY.some((s) => err.message.includes(s));
}

function isConnectionFault(err: Error): boolean {
  return isFault(err) && err.domain === "client" &&
    err.code >= FaultCode.ClientConnectionBadHost && err.code <= FaultCode.ClientConnectionTimedOut;
}

/** One call to one host, possibly still running; shared by consecutive tries. */
interface Pending<T> {
  addr: string;
  abort: AbortController;
  done: Promise<HostResult<T>>;
}

/** How one try ended. */
interface TryOutcome<T> {
  success?: T;
  /** Errors in arrival order. */
  errors: Error[];
  /** The calls whose results were used; the others may still be running (or unread). */
  consumed: Set<Pending<T>>;
}

/** A hint that tells where to go next: ends a try without waiting for silent hosts. */
function isRedirect(err: Error): boolean {
  if (err instanceof NotLeaderError) return err.leaderHint !== "" || err.replicas.length > 0;
  return err instanceof NotReplicaError && err.replicas.length > 0;
}

/**
 * Waits for the calls of one try until the first success, the first redirect, or until all
 * have answered. Calls still running are left to the caller (kept when the next try goes to
 * the same host, aborted otherwise).
 */
async function settleTry<T>(calls: Pending<T>[]): Promise<TryOutcome<T>> {
  const errors: Error[] = [];
  const consumed = new Set<Pending<T>>();
  const arrived: [Pending<T>, HostResult<T>][] = [];
  let wake: (() => void) | undefined;
  for (const c of calls) {
    c.done.then((r) => {
      arrived.push([c, r]);
      wake?.();
    });
  }
  for (let seen = 0; seen < calls.length; seen++) {
    if (arrived.length <= seen) await new Promise<void>((r) => (wake = r));
    const [c, r] = arrived[seen];
    consumed.add(c);
    if (r.error === undefined) return { success: r.response, errors, consumed };
    errors.push(r.error);
    if (isRedirect(r.error)) break;
  }
  return { errors, consumed };
}

/**
 * Sends one MS request and returns the first successful answer. Throws the server's error, a
 * connection fault wrapped as `<fault>: unable to contact the DAOS Management Service`, or the
 * RPC-timeout fault when the deadline passes.
 */
export async function msRequest<T>(
  pool: TransportPool,
  call: HostCall<T>,
  opts: MsRequestOptions,
): Promise<T> {
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? defaultSleep;
  const started = Date.now();
  const original = opts.explicit ? [...new Set(opts.hosts)] : pickCandidates(opts.hosts, random);
  if (original.length === 0) throw faults.ClientConfigEmptyHostList();
  const perTry = opts.perTryMs ?? MS_TRY_MS;
  const live = new Map<string, Pending<T>>();

  const start = (addr: string, deadline: number): Pending<T> => {
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const p: Pending<T> = {
      addr,
      abort,
      done: (async (): Promise<HostResult<T>> => {
        try {
          const response = await call(
            pool.get(addr),
            { timeoutMs: Math.max(1, deadline - Date.now()), signal: abort.signal },
            addr,
          );
          return { addr, response };
        } catch (err) {
          const e = hostError(err, addr, opts.name, deadline - started, pool.connContext);
          return { addr, error: e };
        } finally {
          opts.signal?.removeEventListener("abort", onAbort);
        }
      })(),
    };
    return p;
  };

  let hosts = original;
  let following = false;
  let lastErr: Error | undefined;
  try {
    for (let attempt = 0; attempt < MS_MAX_TRIES; attempt++) {
      if (attempt > 0) await sleep(backoffMs(attempt, random), opts.signal);
      const now = Date.now();
      if (now >= opts.deadline || opts.signal?.aborted) break;
      const tryDeadline = Math.min(opts.deadline, now + perTry);
      const calls = hosts.map((addr) => {
        let p = live.get(addr);
        if (!p) {
          p = start(addr, tryDeadline);
          live.set(addr, p);
        }
        return p;
      });
      const outcome = await settleTry(calls);
      if (outcome.success !== undefined) return outcome.success;
      // A result that came in after the try ended stays in `live`, so that a next try to the
      // same host reads it instead of sending the request again (a mutation must not run
      // twice).
      for (const p of outcome.consumed) live.delete(p.addr);

      const errors = outcome.errors;
      const notLeader = errors.find((e): e is NotLeaderError => e instanceof NotLeaderError);
      const notReplica = errors.find((e): e is NotReplicaError => e instanceof NotReplicaError);
      lastErr = errors[errors.length - 1];
      let next: string[] | undefined;
      if (notLeader) {
        lastErr = notLeader;
        const hinted = notLeader.leaderHint ? [notLeader.leaderHint] : notLeader.replicas;
        following = hinted.length > 0;
        // Election in progress and no replica list: ask the candidates again.
        next = following ? hinted : original;
      } else if (notReplica) {
        lastErr = notReplica;
        if (notReplica.replicas.length > 0) {
          next = notReplica.replicas;
          following = true;
        }
      } else if (errors.some((e) => remoteCode(e) === Code.Unimplemented)) {
        lastErr = errors.find((e) => remoteCode(e) === Code.Unimplemented)!;
      } else if (errors.some((e) => isNotReady(e))) {
        lastErr = errors.find(isNotReady)!;
        next = original;
      } else if (errors.every((e) => isFault(e) && e.code === FaultCode.ClientRpcTimeout)) {
        next = hosts; // per-try timeout; the overall deadline is checked at the top
      } else if (following && errors.every(isConnectionFault)) {
        // The hinted leader went away (failover): start again from the configured hosts.
        next = original;
        following = false;
      }
      if (next === undefined) break;
      hosts = [...new Set(next)];
      // Calls to hosts the next try does not ask again are stragglers: stop them.
      for (const [addr, p] of live) {
        if (!hosts.includes(addr)) {
          live.delete(addr);
          p.abort.abort();
        }
      }
    }
  } finally {
    for (const p of live.values()) p.abort.abort();
    live.clear();
  }
  if (lastErr === undefined || Date.now() >= opts.deadline || opts.signal?.aborted) {
    throw faults.ClientRpcTimeout(opts.name, formatDuration(opts.deadline - started));
  }
  if (isConnectionFault(lastErr)) {
    // Root cause deliberately not the fault: DAOS prints no resolution line here.
    throw new Error(`${lastErr.message}: unable to contact the DAOS Management Service`);
  }
  throw lastErr;
}
